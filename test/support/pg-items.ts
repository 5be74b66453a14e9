/**
 * A scratch PostgreSQL database opened as evguard opens it, with one `items`
 * table, and an independent session that sees only what is committed: the
 * group-commit tests' fixture. Everything is closed and dropped after the test.
 */
import pg from 'pg';
import { type Kysely, sql } from 'kysely';
import { openDatabase } from '../../src/store/index.js';
import { createPgDatabase } from './node.js';

export interface ItemsTables {
  items: { id: number; note: string };
}

export async function openItemsDatabase(t: import('node:test').TestContext) {
  const scratch = await createPgDatabase();
  const database = await openDatabase({ databaseUrl: scratch.url, dataDir: '' });
  const db = database.db as unknown as Kysely<ItemsTables>;
  await sql`CREATE TABLE items (id integer PRIMARY KEY, note text NOT NULL)`.execute(db);
  const other = new pg.Client({ connectionString: scratch.url });
  await other.connect();
  const committedIds = async () => (await other.query<{ id: number }>('SELECT id FROM items ORDER BY id')).rows.map((r) => r.id);
  let closed = false;
  t.after(async () => {
    await other.end();
    if (!closed) await database.close();
    await scratch.drop();
  });
  /** `markClosed()`: the test closed the database itself. */
  return { db, database, url: scratch.url, stats: database.groupCommit!, other, committedIds, markClosed: () => (closed = true) };
}
