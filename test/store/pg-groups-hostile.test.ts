/**
 * Hostile and unlucky input against the grouped transactions on PostgreSQL
 * (src/store/pg-transaction-groups.ts), through the transactions module and
 * directly: strings PostgreSQL refuses, a flood from one station, a
 * connection killed mid-group, close() with groups in flight.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createLocalBus } from '../../src/bus/index.js';
import { migrate, openDatabase, type Database } from '../../src/store/index.js';
import { createTransactions, transactionKey } from '../../src/transactions/index.js';
import { transactionsMigrations } from '../../src/transactions/store.js';
import type { StationContext, TransactionEventIn } from '../../src/model/station.js';
import { createPgDatabase } from '../support/node.js';

async function nodes(t: import('node:test').TestContext, n = 1) {
  const scratch = await createPgDatabase();
  const databases: Database[] = [];
  t.after(async () => {
    for (const d of databases) await d.close();
    await scratch.drop();
  });
  for (let i = 0; i < n; i++) databases.push(await openDatabase({ databaseUrl: scratch.url, dataDir: '' }));
  await migrate(databases[0]!, transactionsMigrations);
  const modules = databases.map((database) =>
    createTransactions({ database, bus: createLocalBus(), authorize: async () => ({ status: 'Accepted' }), securityEvent: () => undefined }),
  );
  return { modules, databases, url: scratch.url };
}

const ctx = (stationId: string): StationContext => ({ stationId, remoteAddress: '127.0.0.1', version: '2.0.1', securityProfile: 2 });

function event(kind: TransactionEventIn['kind'], transactionId: string, seqNo: number, wh: number, idToken?: string): TransactionEventIn {
  const timestamp = new Date(Date.now() - 60_000 + seqNo * 1000).toISOString();
  return {
    kind, transactionId, seqNo, dedupKey: `seq:${seqNo}`, timestamp, triggerReason: kind === 'Started' ? 'Authorized' : 'MeterValuePeriodic', evseId: 1, connectorId: 1,
    meter: [{ timestamp, measurand: 'Energy.Active.Import.Register', value: wh, unit: 'Wh' }],
    offline: false,
    ...(idToken !== undefined ? { idToken: { idToken, type: 'ISO14443' } } : {}),
  } as TransactionEventIn;
}

test('PostgreSQL: a NUL in a transactionId or idToken fails that message alone; the turn\'s other messages are stored and counted once', async (t) => {
  const { modules: [a] } = await nodes(t);
  const stations = Array.from({ length: 30 }, (_, i) => `NUL-${i}`);
  for (const [seqNo, kind] of [[0, 'Started'], [1, 'Updated'], [2, 'Updated']] as const) {
    const results = await Promise.allSettled(stations.map((s, i) =>
      i === 7 ? a!.event(ctx(s), event(kind, `tx-\u0000-${s}`, seqNo, 1000 + seqNo * 500))
        : i === 19 ? a!.event(ctx(s), event(kind, `tx-${s}`, seqNo, 1000 + seqNo * 500, 'TOKEN\u0000X'))
          : a!.event(ctx(s), event(kind, `tx-${s}`, seqNo, 1000 + seqNo * 500)),
    ));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    assert.deepEqual(failed, [7, 19], `turn ${seqNo}: only the hostile messages fail`);
  }
  for (const [i, s] of stations.entries()) {
    if (i === 7 || i === 19) continue;
    const tx = await a!.get(transactionKey(s, `tx-${s}`));
    assert.equal(tx.eventLog.length, 3, `${s}: each message stored once`);
    assert.equal(tx.events, 3, `${s}: each message counted once`);
  }
});

test('PostgreSQL: a flood of one station\'s messages in one turn is stored in order, each once, beside other stations\'', async (t) => {
  const { modules: [a] } = await nodes(t);
  const started = Date.now();
  await a!.event(ctx('FLOOD'), event('Started', 'tx-flood', 0, 1000));
  const others = Array.from({ length: 40 }, (_, i) => `QUIET-${i}`);
  const results = await Promise.allSettled([
    ...Array.from({ length: 300 }, (_, i) => a!.event(ctx('FLOOD'), event('Updated', 'tx-flood', i + 1, 1000 + (i + 1) * 10))),
    ...others.map((s) => a!.event(ctx(s), event('Started', `tx-${s}`, 0, 1000))),
  ]);
  assert.deepEqual(results.filter((r) => r.status === 'rejected'), []);
  // The same messages, one after another, for another station: the same record.
  await a!.event(ctx('CALM'), event('Started', 'tx-flood', 0, 1000));
  for (let i = 0; i < 300; i++) await a!.event(ctx('CALM'), event('Updated', 'tx-flood', i + 1, 1000 + (i + 1) * 10));
  const flood = await a!.get(transactionKey('FLOOD', 'tx-flood'));
  const calm = await a!.get(transactionKey('CALM', 'tx-flood'));
  assert.equal(flood.events, 301);
  assert.equal(flood.eventLog.length, 301);
  const same = (x: typeof flood) => ({ events: x.events, seqGaps: x.seqGaps, energyWh: x.energyWh, state: x.state, flags: x.flags });
  assert.deepEqual(same(flood), same(calm), 'handled in the order they came');
  for (const s of others) assert.equal((await a!.get(transactionKey(s, `tx-${s}`))).events, 1);
  assert.ok(Date.now() - started < 30_000);
});

test('PostgreSQL: the groups connection killed mid-flood fails only the messages in flight, and the rest are stored once', async (t) => {
  const { modules: [a], url } = await nodes(t);
  const other = new pg.Client({ connectionString: url });
  await other.connect();
  // Before the scratch database is dropped (the hook registered first runs first).
  other.on('error', () => undefined);
  const stations = Array.from({ length: 20 }, (_, i) => `KILL-${i}`);
  await Promise.all(stations.map((s) => a!.event(ctx(s), event('Started', `tx-${s}`, 0, 1000))));
  const sent: Promise<PromiseSettledResult<unknown>>[] = [];
  const settled = (p: Promise<unknown>) => p.then((value) => ({ status: 'fulfilled' as const, value }), (reason: unknown) => ({ status: 'rejected' as const, reason }));
  for (let seqNo = 1; seqNo <= 30; seqNo++) {
    for (const s of stations) sent.push(settled(a!.event(ctx(s), event('Updated', `tx-${s}`, seqNo, 1000 + seqNo * 10))));
    if (seqNo % 10 === 5) await other.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'evguard-transactions' AND datname = current_database()");
    await new Promise((r) => setTimeout(r, 5));
  }
  const results = await Promise.all(sent);
  const failed = results.filter((r) => r.status === 'rejected').length;
  // Every message answered; a failed one is sent again by its station (a retransmission), and is stored once.
  for (let seqNo = 1; seqNo <= 30; seqNo++) await Promise.all(stations.map((s) => a!.event(ctx(s), event('Updated', `tx-${s}`, seqNo, 1000 + seqNo * 10))));
  for (const s of stations) {
    const tx = await a!.get(transactionKey(s, `tx-${s}`));
    assert.equal(tx.events, 31, `${s}: each message counted once (${failed} failed on the first try)`);
    assert.equal(tx.eventLog.length, 31);
  }
  await other.end();
});
