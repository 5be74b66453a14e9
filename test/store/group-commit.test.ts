/**
 * Group commit on the embedded SQLite file, checked from a second, independent
 * SQLite connection: when a write's promise settles, its row is committed
 * (another reader sees it); writes of one turn share one commit; one bad
 * statement fails alone; a failed COMMIT fails every write of its batch, and
 * so does any statement, a read included, that makes SQLite end the transaction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { GroupCommitSqliteDialect } from '../../src/store/sqlite-group-commit.js';
import { isDatabaseUnavailable } from '../../src/store/index.js';
import { smallDisk } from '../support/disk.js';

interface Tables {
  parents: { id: number };
  items: { id: number; parent: number | null; note: string };
}

/** The database in a fresh directory (or `in`, a directory the caller cleans up); `prepare` runs on the handle first; `group: false` commits every write alone. */
function open(t: import('node:test').TestContext, o: { in?: string; prepare?: (handle: SQLite.Database) => void; group?: boolean } = {}) {
  const dir = o.in ?? mkdtempSync(path.join(tmpdir(), 'evguard-gc-'));
  const file = path.join(dir, 'gc.db');
  const handle = new SQLite(file);
  handle.pragma('journal_mode = WAL');
  handle.pragma('foreign_keys = ON');
  handle.exec(`CREATE TABLE parents (id INTEGER PRIMARY KEY);
    CREATE TABLE items (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED, note TEXT NOT NULL)`);
  o.prepare?.(handle);
  const dialect = new GroupCommitSqliteDialect(handle, { group: o.group ?? true });
  const db = new Kysely<Tables>({ dialect });
  // The independent reader: it sees only what is committed.
  const reader = new SQLite(file, { readonly: true });
  const committedIds = () => (reader.prepare('SELECT id FROM items ORDER BY id').all() as { id: number }[]).map((r) => r.id);
  t.after(async () => {
    reader.close();
    await db.destroy();
    if (!o.in) rmSync(dir, { recursive: true, force: true });
  });
  return { db, stats: dialect.driver.stats, committedIds };
}

test('the writes of one turn share one commit, and each settles only once committed', async (t) => {
  const { db, stats, committedIds } = open(t);
  const seenAtSettle: number[][] = [];
  const writes = Array.from({ length: 50 }, (_, i) =>
    db
      .insertInto('items')
      .values({ id: i + 1, parent: null, note: `n${i}` })
      .execute()
      .then(() => seenAtSettle.push(committedIds())),
  );
  // Still in the same turn: nothing is committed yet.
  assert.deepEqual(committedIds(), []);
  await Promise.all(writes);
  assert.equal(stats.commits, 1);
  assert.equal(stats.largestBatch, 50);
  for (const seen of seenAtSettle) assert.equal(seen.length, 50);
});

test('a failing statement fails alone; the rest of its batch commits', async (t) => {
  const { db, committedIds } = open(t);
  await db.insertInto('items').values({ id: 1, parent: null, note: 'first' }).execute();
  const results = await Promise.allSettled([
    db.insertInto('items').values({ id: 2, parent: null, note: 'ok' }).execute(),
    db.insertInto('items').values({ id: 1, parent: null, note: 'duplicate' }).execute(),
    db.insertInto('items').values({ id: 3, parent: null, note: 'ok' }).execute(),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.match(String((results[1] as PromiseRejectedResult).reason), /UNIQUE/);
  assert.deepEqual(committedIds(), [1, 2, 3]);
});

test('a failed COMMIT fails every write of its batch, and the next batch is unharmed', async (t) => {
  const { db, committedIds } = open(t);
  // The deferred foreign key is checked at COMMIT, so the whole batch's commit fails.
  const results = await Promise.allSettled([
    db.insertInto('items').values({ id: 1, parent: null, note: 'innocent' }).execute(),
    db.insertInto('items').values({ id: 2, parent: 99, note: 'dangling' }).execute(),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  assert.match(String((results[0] as PromiseRejectedResult).reason), /FOREIGN KEY/);
  assert.deepEqual(committedIds(), []);
  await db.insertInto('items').values({ id: 3, parent: null, note: 'later' }).execute();
  assert.deepEqual(committedIds(), [3]);
});

test('an explicit transaction is a savepoint in the batch: it has the handle to itself, rolls back alone, commits with the batch', async (t) => {
  const { db, stats, committedIds } = open(t);
  const before = db.insertInto('items').values({ id: 1, parent: null, note: 'batched' }).execute();
  let outsideDone = false;
  const rolledBack = db.transaction().execute(async (trx) => {
    await trx.insertInto('items').values({ id: 2, parent: null, note: 'in tx' }).execute();
    // A query from outside waits for the transaction to end, then sees the batch but not the rolled-back row.
    void db
      .selectFrom('items')
      .select('id')
      .execute()
      .then((rows) => {
        outsideDone = true;
        assert.deepEqual(
          rows.map((r) => r.id),
          [1],
        );
      });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(outsideDone, false);
    throw new Error('roll back');
  });
  await assert.rejects(rolledBack, /roll back/);
  await before;
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(outsideDone, true);
  assert.deepEqual(committedIds(), [1]);

  // Transactions and plain writes of one turn share one commit; each settles committed.
  const commitsBefore = stats.commits;
  const seen: number[][] = [];
  await Promise.all([
    db.transaction().execute(async (trx) => {
      await trx.insertInto('items').values({ id: 3, parent: null, note: 'tx a' }).execute();
      await trx.insertInto('items').values({ id: 4, parent: null, note: 'tx a' }).execute();
    }).then(() => seen.push(committedIds())),
    db.insertInto('items').values({ id: 5, parent: null, note: 'plain' }).execute().then(() => seen.push(committedIds())),
    db.transaction().execute(async (trx) => {
      await trx.insertInto('items').values({ id: 6, parent: null, note: 'tx b' }).execute();
    }).then(() => seen.push(committedIds())),
  ]);
  assert.equal(stats.commits, commitsBefore + 1);
  for (const ids of seen) assert.deepEqual(ids, [1, 3, 4, 5, 6]);
  // Reads inside the turn see the turn's own writes.
  const [, rows] = await Promise.all([db.insertInto('items').values({ id: 7, parent: null, note: 'x' }).execute(), sql<{ n: number }>`SELECT count(*) AS n FROM items`.execute(db)]);
  assert.equal(rows.rows[0]!.n, 6);
});

test('without grouping (the benchmark\'s comparison) every write and transaction commits on its own', async (t) => {
  const { db, stats, committedIds } = open(t, { group: false });
  await Promise.all([
    db.insertInto('items').values({ id: 1, parent: null, note: 'a' }).execute(),
    db.insertInto('items').values({ id: 2, parent: null, note: 'b' }).execute(),
    db.transaction().execute((trx) => trx.insertInto('items').values({ id: 3, parent: null, note: 'c' }).execute()),
  ]);
  assert.equal(stats.commits, 3);
  assert.equal(stats.largestBatch, 1);
  assert.deepEqual(committedIds(), [1, 2, 3]);
});

/**
 * The database on `disk` with a table the batch does not touch, on disk and
 * out of a page cache of ten pages: reading it evicts the batch's pages,
 * which needs the disk once it is full.
 */
function openWithBulk(t: import('node:test').TestContext, disk: NonNullable<ReturnType<typeof smallDisk>>) {
  t.after(() => disk.release());
  return open(t, {
    in: disk.dir,
    prepare(handle) {
      handle.exec('CREATE TABLE bulk (id INTEGER PRIMARY KEY, note TEXT NOT NULL)');
      const insert = handle.prepare('INSERT INTO bulk (note) VALUES (?)');
      for (let i = 0; i < 100; i++) insert.run('b'.repeat(3000));
      handle.pragma('wal_checkpoint(TRUNCATE)');
      handle.pragma('cache_size = 10');
    },
  });
}

test('a read that ends the transaction (a page spill on a full disk) fails the whole batch: nothing lost is acknowledged, and later writes commit', async (t) => {
  const disk = smallDisk('2m');
  if (!disk) return t.skip('cannot mount a tmpfs here (needs root)');
  const { db, stats, committedIds } = openWithBulk(t, disk);
  const commits = stats.commits;
  // One turn: twenty writes (their pages more than the cache holds; the disk takes what spills), then the disk fills.
  const ids = Array.from({ length: 20 }, (_, i) => i + 1);
  const writes = ids.map((id) => db.insertInto('items').values({ id, parent: null, note: 'w'.repeat(3000) }).execute());
  const seen = await db.selectFrom('items').select('id').execute();
  assert.equal(seen.length, 20, 'the writes ran, in this turn');
  disk.fill();
  // Evicting the batch's dirty pages needs the disk: SQLite rolls the whole transaction back.
  await assert.rejects(sql`SELECT sum(length(note)) AS n FROM bulk`.execute(db), { code: 'SQLITE_FULL' });
  // Still the same turn: an explicit transaction, and a query that waits for it to let go of the handle.
  const tx = db.transaction().execute(async (trx) => {
    await trx.insertInto('items').values({ id: 100, parent: null, note: 'tx' }).execute();
  });
  await db.selectFrom('items').select('id').execute();
  assert.equal(stats.commits, commits, 'nothing committed yet');
  disk.free();
  const outcomes = await Promise.allSettled([...writes, tx]);
  const committed = new Set(committedIds());
  const acknowledgedButLost = [...ids, 100].filter((id, i) => outcomes[i]!.status === 'fulfilled' && !committed.has(id));
  const refusedButStored = [...ids, 100].filter((id, i) => outcomes[i]!.status === 'rejected' && committed.has(id));
  assert.deepEqual(acknowledgedButLost, [], 'acknowledged, not committed');
  assert.deepEqual(refusedButStored, [], 'refused, yet committed');
  for (const o of outcomes.slice(0, 20)) assert.equal((o as PromiseRejectedResult).reason?.code, 'SQLITE_FULL');
  // The transaction came after the failure: a batch of its own, committed once the disk had room.
  assert.equal(outcomes[20]!.status, 'fulfilled');
  assert.deepEqual([...committed], [100]);
});

test('a statement after the transaction\'s batch failed carries the failure\'s code, so the database reads as unavailable, not as a bad query', async (t) => {
  const disk = smallDisk('2m');
  if (!disk) return t.skip('cannot mount a tmpfs here (needs root)');
  const { db } = openWithBulk(t, disk);
  const tx = db.transaction().execute(async (trx) => {
    for (let id = 1; id <= 20; id++) await trx.insertInto('items').values({ id, parent: null, note: 'w'.repeat(3000) }).execute();
    disk.fill();
    await assert.rejects(sql`SELECT sum(length(note)) AS n FROM bulk`.execute(trx), { code: 'SQLITE_FULL' });
    const late = await trx.insertInto('items').values({ id: 21, parent: null, note: 'late' }).execute().then(() => undefined, (err: unknown) => err);
    assert.ok(late instanceof Error, 'the write after the failure is refused');
    assert.equal((late as { code?: string }).code, 'SQLITE_FULL');
    assert.ok(isDatabaseUnavailable(late));
    throw late;
  });
  await assert.rejects(tx, { code: 'SQLITE_FULL' });
  disk.free();
});

test('closing waits for the explicit transaction that holds the handle, then commits its batch', async (t) => {
  const { db, committedIds } = open(t);
  const plain = db.insertInto('items').values({ id: 1, parent: null, note: 'before the transaction' }).execute();
  const tx = db.transaction().execute(async (trx) => {
    await trx.insertInto('items').values({ id: 2, parent: null, note: 'in tx' }).execute();
    await new Promise((r) => setTimeout(r, 50));
    await trx.insertInto('items').values({ id: 3, parent: null, note: 'in tx, after a wait' }).execute();
  });
  await new Promise((r) => setTimeout(r, 10));
  await db.destroy();
  const outcomes = await Promise.allSettled([plain, tx]);
  assert.deepEqual(
    outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : o.status)),
    ['fulfilled', 'fulfilled'],
  );
  assert.deepEqual(committedIds(), [1, 2, 3]);
});
