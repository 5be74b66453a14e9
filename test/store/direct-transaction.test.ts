/**
 * Database.transaction (the hot path's transaction on the driver's connection)
 * under attack, on SQLite and PostgreSQL: a query that reaches the
 * transaction's connection after the transaction ended must be refused, as
 * Kysely's own transaction refuses it ("Transaction is already committed"),
 * not run outside it (a plain write in the next batch, or autocommit on the
 * pool) where it is neither atomic with the work nor rolled back with it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type CompiledQuery } from 'kysely';
import type { QueryRunner } from '../../src/store/prepared.js';
import { openScratchDatabase, testDatabases } from '../support/node.js';

for (const dialect of testDatabases()) {
  test(`a query on a transaction's connection after it ended is refused, not run outside it (${dialect})`, async (t) => {
    const database = await openScratchDatabase(dialect, t);
    const db = database.db as any;
    await sql`CREATE TABLE notes (id integer PRIMARY KEY)`.execute(db);
    const insert = (id: number) => db.insertInto('notes').values({ id }).compile() as CompiledQuery;
    const ids = async () => ((await sql<{ id: number }>`SELECT id FROM notes ORDER BY id`.execute(db)).rows as { id: number }[]).map((r) => Number(r.id));

    // Committed: the connection is kept past the end (a query the work forgot to await, a callback).
    let kept!: QueryRunner;
    await database.transaction(async (c) => {
      kept = c;
      await c.executeQuery(insert(1));
    });
    await assert.rejects(kept.executeQuery(insert(2)), 'a query after the COMMIT is refused');

    // Rolled back: a late query must not store what the transaction's rollback undid.
    await assert.rejects(database.transaction(async (c) => {
      kept = c;
      await c.executeQuery(insert(3));
      throw new Error('roll back');
    }), /roll back/);
    await assert.rejects(kept.executeQuery(insert(4)), 'a query after the ROLLBACK is refused');
    assert.deepEqual(await ids(), [1]);
  });
}
