/**
 * Two nodes on one PostgreSQL database handle the same station's transaction
 * messages at once (a station that reconnected to the other node while its
 * retransmissions were in flight): each message is stored once and counted
 * once, whichever node got it and however the two raced, with and without a
 * record to lock yet.
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

async function twoNodes(t: import('node:test').TestContext) {
  return (await twoNodesAt(t)).nodes;
}

async function twoNodesAt(t: import('node:test').TestContext) {
  const scratch = await createPgDatabase();
  const databases: Database[] = [];
  t.after(async () => {
    for (const d of databases) await d.close();
    await scratch.drop();
  });
  for (let i = 0; i < 2; i++) databases.push(await openDatabase({ databaseUrl: scratch.url, dataDir: '' }));
  await migrate(databases[0]!, transactionsMigrations);
  const nodes = databases.map((database) =>
    createTransactions({
      database,
      bus: createLocalBus(),
      authorize: async () => ({ status: 'Accepted' }),
      securityEvent: () => undefined,
    }),
  );
  return { nodes, url: scratch.url };
}

const ctx = (stationId: string): StationContext => ({ stationId, remoteAddress: '127.0.0.1', version: '2.0.1', securityProfile: 2 });

function event(kind: TransactionEventIn['kind'], transactionId: string, seqNo: number, wh: number): TransactionEventIn {
  const timestamp = new Date(Date.now() - 60_000 + seqNo * 1000).toISOString();
  return {
    kind, transactionId, seqNo, dedupKey: `seq:${seqNo}`, timestamp, triggerReason: kind === 'Started' ? 'Authorized' : 'MeterValuePeriodic', evseId: 1, connectorId: 1,
    meter: [{ timestamp, measurand: 'Energy.Active.Import.Register', value: wh, unit: 'Wh' }],
    offline: false,
  };
}

test('two nodes storing the same messages at once store and count each once (PostgreSQL)', async (t) => {
  const [a, b] = await twoNodes(t);
  const stations = Array.from({ length: 20 }, (_, i) => `CROSS-${i}`);
  // Every message reaches both nodes at once: the Started (no record to lock yet), then two updates.
  for (const [seqNo, kind] of [[0, 'Started'], [1, 'Updated'], [2, 'Updated']] as const) {
    await Promise.all(stations.flatMap((s) => [a!, b!].map((node) => node.event(ctx(s), event(kind, `tx-${s}`, seqNo, 1000 + seqNo * 500)))));
  }
  for (const s of stations) {
    const tx = await a!.get(transactionKey(s, `tx-${s}`));
    assert.equal(tx.eventLog.length, 3, `${s}: each message stored once`);
    assert.equal(tx.events, 3, `${s}: each message counted once`);
    assert.equal(tx.energyWh, 1000, 'delivered: the last register less the first');
  }
});

test('a Started on one node racing its first Updated on the other makes one record of both (PostgreSQL)', async (t) => {
  const [a, b] = await twoNodes(t);
  const stations = Array.from({ length: 20 }, (_, i) => `RACE-${i}`);
  await Promise.all(stations.flatMap((s) => [a!.event(ctx(s), event('Started', `tx-${s}`, 0, 1000)), b!.event(ctx(s), event('Updated', `tx-${s}`, 1, 1500))]));
  for (const s of stations) {
    const tx = await b!.get(transactionKey(s, `tx-${s}`));
    assert.deepEqual(tx.eventLog.map((e) => e.seqNo).sort(), [0, 1], `${s}: both messages stored`);
    assert.equal(tx.events, 2);
  }
});

test('a Started on one node abandoning an open transaction never overwrites the Ended the other node stored for it meanwhile (PostgreSQL)', async (t) => {
  const { nodes: [a, b], url } = await twoNodesAt(t);
  const s = 'ABANDON-1';
  await a!.event(ctx(s), event('Started', 'old', 0, 1000));
  // A third session holds the old record, so that both nodes queue behind it in a known order:
  // node B's Ended first, then node A's Started, which abandons whatever it found open.
  const holder = new pg.Client({ connectionString: url });
  const observer = new pg.Client({ connectionString: url });
  await holder.connect();
  await observer.connect();
  // Sessions waiting for a lock, seen from outside any transaction (inside one, pg_stat_activity keeps its first snapshot).
  const waiting = async (n: number) => {
    for (let i = 0; i < 250; i++) {
      const { rows } = await observer.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
      if (rows[0]!.n >= n) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`never ${n} sessions waiting`);
  };
  let ended: Promise<unknown> | undefined;
  let started: Promise<unknown> | undefined;
  try {
    await holder.query('BEGIN');
    await holder.query('SELECT id FROM transactions WHERE id = $1 FOR UPDATE', [transactionKey(s, 'old')]);
    ended = b!.event(ctx(s), event('Ended', 'old', 1, 1500));
    await waiting(1);
    started = a!.event(ctx(s), event('Started', 'new', 0, 1500));
    await waiting(2);
  } finally {
    await holder.query('COMMIT').catch(() => undefined);
    await holder.end();
    await observer.end();
  }
  await Promise.all([ended, started]);
  const old = await a!.get(transactionKey(s, 'old'));
  assert.ok(old.endedAt, 'the Ended is stored');
  assert.equal(old.state, 'Ended', 'not overwritten by the abandonment of a transaction that had ended');
});
