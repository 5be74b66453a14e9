/**
 * Keyed transactions on PostgreSQL share one database transaction per turn
 * (src/store/pg-transaction-groups.ts), checked from an independent session:
 * each settles only once committed; one key never shares a group, so a
 * read-modify-write loses no update; a work at fault is rejected alone and
 * undone, the others commit exactly once, and a stream of failing works
 * cannot keep a good one out; a connection lost mid-group fails that group
 * and the next heals; two nodes deadlocking on each other's rows both commit.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type CompiledQuery, type Kysely } from 'kysely';
import { GROUP_LOCK_TIMEOUT_MS, isDatabaseUnavailable, openDatabase, type Database } from '../../src/store/index.js';
import type { QueryRunner } from '../../src/store/prepared.js';
import { openItemsDatabase, type ItemsTables } from '../support/pg-items.js';

const insert = (db: Kysely<ItemsTables>, id: number, note = `n${id}`) => db.insertInto('items').values({ id, note }).compile() as CompiledQuery;
const run = <R>(c: QueryRunner, q: CompiledQuery) => c.executeQuery<R>(q);

/** A read-modify-write of item `id`'s note as a number, as the transactions module updates a record. */
async function increment(db: Kysely<ItemsTables>, c: QueryRunner, id: number): Promise<number> {
  const { rows } = await run<{ note: string }>(c, db.selectFrom('items').select('note').where('id', '=', id).forUpdate().compile() as CompiledQuery);
  const next = Number(rows[0]!.note) + 1;
  await run(c, db.updateTable('items').set({ note: String(next) }).where('id', '=', id).compile() as CompiledQuery);
  return next;
}

test('PostgreSQL: the keyed transactions of one turn share one COMMIT, and each settles only once committed', async (t) => {
  const { db, database, stats, committedIds } = await openItemsDatabase(t);
  const before = stats.commits;
  const seen: boolean[] = [];
  await Promise.all(Array.from({ length: 50 }, (_, i) =>
    database.transaction(async (c) => {
      await run(c, insert(db, i + 1));
      return i + 1;
    }, { key: `station-${i}` }).then(async (id) => seen.push((await committedIds()).includes(id))),
  ));
  assert.equal(stats.commits - before, 1, 'one COMMIT for the turn');
  assert.ok(stats.largestBatch >= 50);
  assert.ok(seen.every(Boolean), 'every transaction was visible to another session when its promise settled');
  assert.equal((await committedIds()).length, 50);
});

test('PostgreSQL: transactions with one key never share a group, so a read-modify-write loses no update', async (t) => {
  const { db, database } = await openItemsDatabase(t);
  await db.insertInto('items').values([{ id: 1, note: '0' }, { id: 2, note: '0' }]).execute();
  // Two stations' records, 20 messages each, all started in one turn.
  await Promise.all(Array.from({ length: 40 }, (_, i) => database.transaction((c) => increment(db, c, 1 + (i % 2)), { key: `station-${i % 2}` })));
  const notes = (await db.selectFrom('items').select(['id', 'note']).orderBy('id').execute()).map((r) => r.note);
  assert.deepEqual(notes, ['20', '20']);
});

test('PostgreSQL: a work whose query is refused hears its error; the rest of its group commits exactly once', async (t) => {
  const { db, database, committedIds } = await openItemsDatabase(t);
  await db.insertInto('items').values({ id: 25, note: 'first' }).execute();
  await sql`CREATE TABLE log (item integer NOT NULL)`.execute(db);
  const runs = new Array<number>(50).fill(0);
  const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) =>
    database.transaction(async (c) => {
      runs[i]!++;
      await run(c, sql`INSERT INTO log (item) VALUES (${i + 1})`.compile(db));
      await run(c, insert(db, i + 1));
    }, { key: `station-${i}` }),
  ));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ i, code: (r.reason as { code?: string }).code }] : []));
  assert.deepEqual(failed, [{ i: 24, code: '23505' }], 'only the duplicate key fails, with its own SQLSTATE');
  assert.equal(runs[24], 1, 'the work at fault ran once');
  assert.deepEqual(await committedIds(), Array.from({ length: 50 }, (_, i) => i + 1));
  const logged = (await sql<{ item: number }>`SELECT item FROM log ORDER BY item`.execute(db)).rows.map((r) => r.item);
  assert.deepEqual(logged, Array.from({ length: 50 }, (_, i) => i + 1).filter((i) => i !== 25), 'what the rolled-back group wrote is stored once, from its run again');
});

test('PostgreSQL: a work that throws after a write is undone; one that throws after reads only fails alone and its group commits once', async (t) => {
  const { db, database, stats, committedIds } = await openItemsDatabase(t);
  const boom = await Promise.allSettled([
    database.transaction(async (c) => {
      await run(c, insert(db, 1));
      throw new Error('boom after a write');
    }, { key: 'a' }),
    ...[2, 3, 4].map((id) => database.transaction((c) => run(c, insert(db, id)), { key: `k${id}` })),
  ]);
  assert.match(String((boom[0] as PromiseRejectedResult).reason), /boom after a write/);
  assert.ok(boom.slice(1).every((r) => r.status === 'fulfilled'));
  assert.deepEqual(await committedIds(), [2, 3, 4], 'the thrown work\'s insert was rolled back');

  const before = stats.commits;
  const runs = [0, 0, 0];
  const quiet = await Promise.allSettled([
    database.transaction(async (c) => {
      runs[0]!++;
      await run(c, db.selectFrom('items').select('id').compile() as CompiledQuery);
      throw new Error('refused after reading');
    }, { key: 'a' }),
    ...[5, 6].map((id, i) => database.transaction(async (c) => {
      runs[i + 1]!++;
      await run(c, insert(db, id));
    }, { key: `k${id}` })),
  ]);
  assert.match(String((quiet[0] as PromiseRejectedResult).reason), /refused after reading/);
  assert.deepEqual(runs, [1, 1, 1], 'nothing ran again');
  assert.equal(stats.commits - before, 1);
  assert.deepEqual(await committedIds(), [2, 3, 4, 5, 6]);
});

test('PostgreSQL: a stream of failing transactions cannot keep good ones from committing', async (t) => {
  const { db, database, committedIds } = await openItemsDatabase(t);
  await db.insertInto('items').values({ id: 1000, note: 'taken' }).execute();
  const runs = new Array<number>(20).fill(0);
  const good = Promise.allSettled(Array.from({ length: 20 }, (_, i) => database.transaction((c) => {
    runs[i]!++;
    return run(c, insert(db, i + 1));
  }, { key: `good-${i}` })));
  // Hostile stations' messages that fail in the database: 30 in the good ones' turn, then a few every turn.
  const hostile: Promise<unknown>[] = [];
  let n = 0;
  const attack = () => hostile.push(database.transaction((c) => run(c, insert(db, 1000)), { key: `hostile-${n++}` }).catch(() => undefined));
  for (let i = 0; i < 30; i++) attack();
  let settled = false;
  void good.then(() => (settled = true));
  while (!settled && n < 20_000) {
    attack();
    if (n % 3 === 2) await new Promise((r) => setImmediate(r));
  }
  await Promise.all(hostile);
  const failed = (await good).filter((r) => r.status === 'rejected');
  assert.deepEqual(failed, [], 'every good transaction committed');
  // Each time a group with a failing work is rolled back, its other works run again in halves.
  assert.ok(Math.max(...runs) <= 1 + Math.ceil(Math.log2(200)), `a good transaction ran at most 9 times (${Math.max(...runs)})`);
  assert.deepEqual(await committedIds(), [...Array.from({ length: 20 }, (_, i) => i + 1), 1000]);
});

test('PostgreSQL: a connection lost mid-group fails that group as unavailable, and the next group heals', async (t) => {
  const { db, database, other, committedIds } = await openItemsDatabase(t);
  await other.query('BEGIN');
  await other.query('LOCK TABLE items IN EXCLUSIVE MODE');
  const stuck = Promise.allSettled(Array.from({ length: 5 }, (_, i) => database.transaction((c) => run(c, insert(db, i + 1)), { key: `s${i}` })));
  let pid: number | undefined;
  for (let i = 0; i < 100 && !pid; i++) {
    await new Promise((r) => setTimeout(r, 20));
    pid = (await other.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'evguard-transactions' AND datname = current_database() AND wait_event_type = 'Lock'")).rows[0]?.pid;
  }
  assert.ok(pid, 'the group waits on the lock');
  await other.query('SELECT pg_terminate_backend($1)', [pid]);
  const results = await stuck;
  assert.ok(results.every((r) => r.status === 'rejected' && isDatabaseUnavailable(r.reason)), 'every work of the lost group is told the database was unavailable');
  await other.query('ROLLBACK');
  await database.transaction((c) => run(c, insert(db, 9)), { key: 's0' });
  assert.deepEqual(await committedIds(), [9]);
});

test('PostgreSQL: two nodes whose groups deadlock on each other\'s rows both commit', async (t) => {
  const { db, database, url } = await openItemsDatabase(t);
  await db.insertInto('items').values([{ id: 1, note: '0' }, { id: 2, note: '0' }]).execute();
  const second: Database = await openDatabase({ databaseUrl: url, dataDir: '' });
  t.after(() => second.close());
  const db2 = second.db as unknown as Kysely<ItemsTables>;
  // Each node locks one row, waits until the other has locked the other row, then asks for it.
  let locked = 0;
  const bothLocked = async () => {
    locked++;
    while (locked < 2) await new Promise((r) => setTimeout(r, 5));
  };
  const crosswise = (d: Database, k: Kysely<ItemsTables>, first: number, then: number) =>
    d.transaction(async (c) => {
      await increment(k, c, first);
      await bothLocked();
      await increment(k, c, then);
    }, { key: `station-${first}` });
  await Promise.all([crosswise(database, db, 1, 2), crosswise(second, db2, 2, 1)]);
  const notes = (await db.selectFrom('items').select('note').orderBy('id').execute()).map((r) => r.note);
  assert.deepEqual(notes, ['2', '2'], 'both transactions committed once, after PostgreSQL broke the deadlock');
});

test('PostgreSQL: close() waits for the groups in flight, and is harmless twice', async (t: TestContext) => {
  const { db, database, committedIds, markClosed } = await openItemsDatabase(t);
  const work = Promise.all([1, 2, 3].map((id) => database.transaction((c) => run(c, insert(db, id)), { key: `s${id}` })));
  markClosed();
  await Promise.all([database.close(), database.close()]);
  await work;
  assert.deepEqual(await committedIds(), [1, 2, 3]);
});


test('PostgreSQL: a work that throws while its write is still on its way is undone, as a direct transaction would undo it', async (t) => {
  const { db, database, committedIds } = await openItemsDatabase(t);
  const read = () => db.selectFrom('items').select('id').compile() as CompiledQuery;
  // Before BEGIN's answer (the write waits for it): a group of works that throw so.
  const early = await Promise.allSettled([1, 2].map((id) => database.transaction(async (c) => {
    void run(c, insert(db, id)).catch(() => undefined);
    throw new Error('thrown with a write waiting for BEGIN');
  }, { key: `early-${id}` })));
  // After a read (the write is sent, its answer not in yet), beside a work that only reads.
  const late = await Promise.allSettled([
    database.transaction(async (c) => {
      await run(c, read());
      void run(c, insert(db, 3)).catch(() => undefined);
      throw new Error('thrown with a write in flight');
    }, { key: 'late' }),
    database.transaction((c) => run(c, read()), { key: 'reader' }),
  ]);
  assert.deepEqual([...early, ...late].map((r) => r.status), ['rejected', 'rejected', 'rejected', 'fulfilled']);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(await committedIds(), [], 'no thrown work\'s write is stored');
});

test('PostgreSQL: a work waiting longer than the lock timeout for a row held elsewhere fails alone; its group commits', async (t) => {
  const { db, database, other, committedIds } = await openItemsDatabase(t);
  await db.insertInto('items').values({ id: 1, note: '0' }).execute();
  await other.query('BEGIN');
  await other.query('SELECT id FROM items WHERE id = 1 FOR UPDATE');
  const started = Date.now();
  const results = await Promise.allSettled([
    database.transaction((c) => increment(db, c, 1), { key: 'held' }),
    ...[2, 3, 4].map((id) => database.transaction((c) => run(c, insert(db, id)), { key: `k${id}` })),
  ]);
  await other.query('ROLLBACK');
  assert.equal((results[0] as PromiseRejectedResult).reason?.code, '55P03', 'lock_not_available');
  assert.ok(Date.now() - started >= GROUP_LOCK_TIMEOUT_MS - 100);
  assert.ok(results.slice(1).every((r) => r.status === 'fulfilled'));
  assert.deepEqual(await committedIds(), [1, 2, 3, 4]);
});

test('PostgreSQL: close() under steady traffic takes no more transactions, ends, and settles every one it took', async (t) => {
  const { db, database, committedIds, markClosed } = await openItemsDatabase(t);
  markClosed();
  const taken: Promise<unknown>[] = [];
  let n = 0;
  let closed = false;
  // A station keeps sending, a few messages a turn, while the node shuts down.
  const traffic = (async () => {
    while (!closed && n < 5000) {
      const id = ++n;
      taken.push(database.transaction((c) => run(c, insert(db, id)), { key: `s${id}` }).then(() => id, (err: { code?: string }) => err.code));
      if (id % 3 === 0) await new Promise((r) => setImmediate(r));
    }
  })();
  await new Promise((r) => setTimeout(r, 50));
  await database.close();
  closed = true;
  await traffic;
  const outcomes = await Promise.all(taken);
  const stored = outcomes.filter((o): o is number => typeof o === 'number');
  assert.ok(n < 5000, `close() ended while the traffic went on (${n} sent)`);
  assert.ok(stored.length > 0, 'the transactions taken before close() committed');
  assert.ok(outcomes.every((o) => typeof o === 'number' || o === 'DATABASE_UNAVAILABLE'), 'the rest were refused as unavailable, none failed otherwise');
  assert.deepEqual(await committedIds(), stored.sort((a, b) => a - b), 'every one answered as stored is committed');
});
