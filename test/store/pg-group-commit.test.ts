/**
 * Group commit on PostgreSQL, checked from an independent connection: when a
 * write's promise settles, its row is committed (another session sees it);
 * the writes of one turn share one COMMIT; a bad write fails alone while the
 * rest of its batch commits; a connection lost mid-batch fails that batch's
 * writes and the next batch heals; explicit transactions keep their own
 * commit and rollback; the hot path's statements are prepared by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { sql } from 'kysely';
import { isDatabaseUnavailable, migrate, openDatabase } from '../../src/store/index.js';
import { NamingClient } from '../../src/store/pg-group-commit.js';
import { prepared, statementName } from '../../src/store/prepared.js';
import { createPgDatabase } from '../support/node.js';
import { openItemsDatabase } from '../support/pg-items.js';
import { loadConfig } from '../../src/config.js';
import { startApp } from '../../src/app.js';


test('PostgreSQL: the writes of one turn share one COMMIT, and each settles only once committed', async (t) => {
  const { db, stats, committedIds } = await openItemsDatabase(t);
  const before = stats.commits;
  const seen: boolean[] = [];
  await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      db.insertInto('items').values({ id: i + 1, note: `n${i}` }).execute().then(async () => seen.push((await committedIds()).includes(i + 1))),
    ),
  );
  assert.equal(stats.commits - before, 1, 'one COMMIT for the turn');
  assert.ok(stats.largestBatch >= 50);
  assert.ok(seen.every(Boolean), 'every write was visible to another session when its promise settled');
  assert.equal((await committedIds()).length, 50);
});

test('PostgreSQL: a write that fails is rejected alone; the rest of its batch commits', async (t) => {
  const { db, committedIds } = await openItemsDatabase(t);
  await db.insertInto('items').values({ id: 25, note: 'first' }).execute();
  const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => db.insertInto('items').values({ id: i + 1, note: `n${i}` }).execute()));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ i, code: (r.reason as { code?: string }).code }] : []));
  assert.deepEqual(failed, [{ i: 24, code: '23505' }], 'only the duplicate key fails, with its own SQLSTATE');
  assert.deepEqual(await committedIds(), Array.from({ length: 50 }, (_, i) => i + 1));
  const note = await db.selectFrom('items').select('note').where('id', '=', 25).executeTakeFirstOrThrow();
  assert.equal(note.note, 'first');
});

test('PostgreSQL: a connection lost mid-batch fails that batch\'s writes as unavailable, and the next batch heals', async (t) => {
  const { db, other, committedIds } = await openItemsDatabase(t);
  // Hold the table so the batch waits inside PostgreSQL, then end its session.
  await other.query('BEGIN');
  await other.query('LOCK TABLE items IN EXCLUSIVE MODE');
  const stuck = Promise.allSettled(Array.from({ length: 5 }, (_, i) => db.insertInto('items').values({ id: i + 1, note: 'lost' }).execute()));
  let pid: number | undefined;
  for (let i = 0; i < 100 && !pid; i++) {
    await new Promise((r) => setTimeout(r, 20));
    // This database's writer only: test files run side by side on one server, and another file's batch
    // connection may be waiting on a lock too (killing it fails that test, and leaves this batch to commit).
    pid = (await other.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'evguard-writes' AND datname = current_database() AND wait_event_type = 'Lock'")).rows[0]?.pid;
  }
  assert.ok(pid, 'the batch waits on the lock');
  await other.query('SELECT pg_terminate_backend($1)', [pid]);
  await other.query('ROLLBACK');
  const outcomes = await stuck;
  assert.ok(outcomes.every((o) => o.status === 'rejected' && isDatabaseUnavailable(o.reason)), 'every write of the lost batch is told, as unavailable');
  assert.deepEqual(await committedIds(), []);
  await db.insertInto('items').values({ id: 9, note: 'healed' }).execute();
  assert.deepEqual(await committedIds(), [9]);
});

test('PostgreSQL: an explicit transaction commits and rolls back on its own, beside grouped writes', async (t) => {
  const { db, committedIds } = await openItemsDatabase(t);
  const plain = db.insertInto('items').values({ id: 1, note: 'plain' }).execute();
  await assert.rejects(
    db.transaction().execute(async (trx) => {
      await trx.insertInto('items').values({ id: 2, note: 'undone' }).execute();
      throw new Error('changed my mind');
    }),
    /changed my mind/,
  );
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('items').values({ id: 3, note: 'kept' }).execute();
    const inside = await trx.selectFrom('items').select('id').where('id', '=', 3).executeTakeFirst();
    assert.equal(inside?.id, 3, 'the transaction reads its own write');
  });
  await plain;
  assert.deepEqual(await committedIds(), [1, 3]);
});

test('PostgreSQL: a prepared statement runs under its name, prepared once per connection; other text stays unnamed', async (t) => {
  const { db, url } = await openItemsDatabase(t);
  const insert = prepared(db, 2, (id: number, note: string) => db.insertInto('items').values({ id, note }));
  const read = prepared(db, 1, (id: number) => db.selectFrom('items').selectAll().where('id', '=', id));
  await insert(1, 'a');
  await read(1);
  const insertSql = db.insertInto('items').values({ id: 0, note: '' }).compile().sql;
  const readSql = db.selectFrom('items').selectAll().where('id', '=', 0).compile().sql;
  assert.match(statementName(insertSql) ?? '', /^evguard_[0-9a-f]{24}$/);
  assert.ok(statementName(readSql), 'the read has a name too');
  assert.equal(statementName('SELECT 1'), undefined);
  // On one NamingClient: the insert is prepared by name, the SELECT * is not (a schema change would break its kept plan).
  const client = new NamingClient({ connectionString: url });
  await client.connect();
  await client.query(insertSql, [2, 'b']);
  await client.query(insertSql, [3, 'c']);
  await client.query(readSql, [2]);
  const names = (await (client.query('SELECT name FROM pg_prepared_statements') as Promise<pg.QueryResult<{ name: string }>>)).rows.map((r) => r.name);
  await client.end();
  assert.deepEqual(names, [statementName(insertSql)]);
});

test('PostgreSQL: migrations take and release their session lock on one connection, leaving no lock behind', async (t) => {
  const scratch = await createPgDatabase();
  const opened = await openDatabase({ databaseUrl: scratch.url, dataDir: '' });
  t.after(async () => {
    await opened.close();
    await scratch.drop();
  });
  await migrate(opened, { 'test/001_items': { up: async (m) => void (await sql`CREATE TABLE items (id integer PRIMARY KEY)`.execute(m)) } });
  const probe = new pg.Client({ connectionString: scratch.url });
  await probe.connect();
  const locks = (await probe.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).rows[0].n;
  await probe.end();
  assert.equal(locks, 0, 'the migration lock was released');
});

test('PostgreSQL: close() ends the pool even when only the migrations (Database.sessions) ever ran', async (t) => {
  const scratch = await createPgDatabase();
  t.after(() => scratch.drop());
  const opened = await openDatabase({ databaseUrl: scratch.url, dataDir: '' });
  // A command that migrates and fails (or has nothing else to do) before `db` runs a query.
  await migrate(opened, { 'test/001_items': { up: async (m) => void (await sql`CREATE TABLE items (id integer PRIMARY KEY)`.execute(m)) } });
  await opened.close();
  await opened.close(); // twice is harmless: the pool is ended once
  const probe = new pg.Client({ connectionString: scratch.url });
  await probe.connect();
  // The server notices a closed connection at once; allow it a moment.
  let left = -1;
  for (let i = 0; i < 20 && left !== 0; i++) {
    if (i) await new Promise((r) => setTimeout(r, 50));
    left = (await probe.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name LIKE 'evguard%'")).rows[0].n;
  }
  await probe.end();
  assert.equal(left, 0, 'no connection of the closed database is left open');
});

test('PostgreSQL: a node whose migrations fail does not start, and leaves no connection open', async (t) => {
  const scratch = await createPgDatabase();
  t.after(() => scratch.drop());
  const admin = new pg.Client({ connectionString: scratch.url });
  await admin.connect();
  // A table in the way of the first migration that creates it.
  await admin.query('CREATE TABLE stations (unrelated integer)');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'evguard-migfail-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const config = loadConfig({ host: '127.0.0.1', dataDir, databaseUrl: scratch.url, adminToken: 'test-admin-token-0123456789abcdef', logLevel: 'silent' }, {});
  await assert.rejects(startApp(config, { ephemeralPorts: true, log: pino({ level: 'silent' }) }), /migration/);
  // pg's pool.end() resolves once it has asked its clients to end, not when the server has seen them go:
  // allow the backends a moment to exit (longer on a busy machine), as above. One left open stays.
  let open = -1;
  for (let i = 0; i < 20 && open !== 0; i++) {
    if (i) await new Promise((r) => setTimeout(r, 50));
    open = (await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'evguard%'")).rows[0].n;
  }
  await admin.end();
  assert.equal(open, 0);
});
