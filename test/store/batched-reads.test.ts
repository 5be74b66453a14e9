/**
 * batchedReads: on PostgreSQL the keys asked for in one turn go out in one
 * read (at most 500 keys a query), a key asked twice in the turn is read
 * once, and a key asked after its read was sent is read again (so a cache
 * never records a value from before a change it was told of); on SQLite each
 * key is read at once, alone. The last test runs it on a real PostgreSQL
 * through the stations store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchedReads } from '../../src/store/batched-reads.js';
import { createStationsStore, stationsMigrations } from '../../src/stations/store.js';
import { migrate } from '../../src/store/index.js';
import { openScratchDatabase } from '../support/node.js';

function table() {
  const rows = new Map<string, number>();
  const reads: string[][] = [];
  const loadMany = async (keys: string[]) => {
    reads.push(keys);
    // Read when sent, answered a little later, as a database does.
    const found = new Map(keys.flatMap((k) => (rows.has(k) ? [[k, rows.get(k)!] as const] : [])));
    await new Promise((r) => setTimeout(r, 5));
    return found;
  };
  return { rows, reads, loadMany };
}

test('PostgreSQL: the keys of one turn are read with one query, each key once', async () => {
  const { rows, reads, loadMany } = table();
  for (let i = 0; i < 100; i++) rows.set(`s${i}`, i);
  const read = batchedReads('postgres', loadMany);
  const got = await Promise.all([...Array.from({ length: 100 }, (_, i) => read(`s${i}`)), read('s7'), read('missing')]);
  assert.equal(reads.length, 1, 'one query');
  assert.equal(reads[0]!.length, 101, 's7 once, the unknown key too');
  assert.deepEqual(got.slice(0, 100), Array.from({ length: 100 }, (_, i) => i));
  assert.equal(got[100], 7);
  assert.equal(got[101], undefined);
});

test('PostgreSQL: a key asked for after its read was sent is read again, and sees a change made meanwhile', async () => {
  const { rows, reads, loadMany } = table();
  rows.set('a', 1);
  const read = batchedReads('postgres', loadMany);
  const first = read('a');
  await new Promise((r) => setImmediate(r));
  assert.equal(reads.length, 1, 'the first read is on its way');
  rows.set('a', 2);
  const second = read('a');
  assert.equal(await first, 1);
  assert.equal(await second, 2, 'not the answer of the read sent before it asked');
  assert.equal(reads.length, 2);
});

test('PostgreSQL: more than 500 keys in a turn go out in queries of 500; a failed query fails its own keys only', async () => {
  const { rows, reads, loadMany } = table();
  for (let i = 0; i < 1200; i++) rows.set(`s${i}`, i);
  let calls = 0;
  const read = batchedReads('postgres', (keys: string[]) => (++calls === 2 ? Promise.reject(new Error('connection lost')) : loadMany(keys)));
  const got = await Promise.allSettled(Array.from({ length: 1200 }, (_, i) => read(`s${i}`)));
  assert.deepEqual(reads.map((k) => k.length), [500, 200]);
  assert.ok(got.slice(0, 500).every((g, i) => g.status === 'fulfilled' && g.value === i));
  assert.ok(got.slice(500, 1000).every((g) => g.status === 'rejected' && /connection lost/.test(String(g.reason))));
  assert.ok(got.slice(1000).every((g, i) => g.status === 'fulfilled' && g.value === 1000 + i));
});

test('SQLite: each key is read at once, alone', async () => {
  const { rows, reads, loadMany } = table();
  rows.set('a', 1).set('b', 2);
  const read = batchedReads('sqlite', loadMany);
  assert.deepEqual(await Promise.all([read('a'), read('b'), read('a')]), [1, 2, 1]);
  assert.deepEqual(reads, [['a'], ['b'], ['a']]);
});

test('PostgreSQL: the stations store reads the stations of one turn together and returns each its own row', async (t) => {
  const database = await openScratchDatabase('postgres', t);
  await migrate(database, stationsMigrations);
  const store = createStationsStore(database);
  const now = new Date().toISOString();
  for (let i = 0; i < 30; i++) await store.stations.insert({ id: `B-${i}`, security_profile: 2, registration: 'Accepted', created_at: now, updated_at: now } as never);
  const got = await Promise.all([...Array.from({ length: 30 }, (_, i) => store.stations.get(`B-${i}`)), store.stations.get('B-none')]);
  assert.deepEqual(got.slice(0, 30).map((r) => r?.id), Array.from({ length: 30 }, (_, i) => `B-${i}`));
  assert.equal(got[30], undefined);
});

test('PostgreSQL: an id PostgreSQL cannot hold (a NUL) asked for in a turn fails no other station\'s read', async (t) => {
  const database = await openScratchDatabase('postgres', t);
  await migrate(database, stationsMigrations);
  const store = createStationsStore(database);
  const now = new Date().toISOString();
  for (let i = 0; i < 10; i++) await store.stations.insert({ id: `N-${i}`, security_profile: 2, registration: 'Accepted', created_at: now, updated_at: now } as never);
  // GET /api/v1/stations/%00 (an auditor's request) in the same turn as ten stations' handshakes.
  const got = await Promise.allSettled([...Array.from({ length: 10 }, (_, i) => store.stations.get(`N-${i}`)), store.stations.get('N-\u00000')]);
  assert.deepEqual(got.map((g) => g.status), new Array(11).fill('fulfilled'), 'every read answered');
  assert.deepEqual(got.slice(0, 10).map((g) => (g as PromiseFulfilledResult<{ id: string } | undefined>).value?.id), Array.from({ length: 10 }, (_, i) => `N-${i}`));
  assert.equal((got[10] as PromiseFulfilledResult<unknown>).value, undefined, 'no station has that id');
  // Alone too.
  assert.equal(await store.stations.get('\u0000'), undefined);
});
