/**
 * Two nodes on one PostgreSQL database handle the same station's transaction
 * messages at once (a station that reconnected to the other node while its
 * retransmissions were in flight): each message is stored once and counted
 * once, whichever node got it and however the two raced, with and without a
 * record to lock yet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalBus } from '../../src/bus/index.js';
import { migrate, openDatabase, type Database } from '../../src/store/index.js';
import { createTransactions, transactionKey } from '../../src/transactions/index.js';
import { transactionsMigrations } from '../../src/transactions/store.js';
import type { StationContext, TransactionEventIn } from '../../src/model/station.js';
import { createPgDatabase } from '../support/node.js';

async function twoNodes(t: import('node:test').TestContext) {
  const scratch = await createPgDatabase();
  const databases: Database[] = [];
  t.after(async () => {
    for (const d of databases) await d.close();
    await scratch.drop();
  });
  for (let i = 0; i < 2; i++) databases.push(await openDatabase({ databaseUrl: scratch.url, dataDir: '' }));
  await migrate(databases[0]!, transactionsMigrations);
  return databases.map((database) =>
    createTransactions({
      database,
      bus: createLocalBus(),
      authorize: async () => ({ status: 'Accepted' }),
      securityEvent: () => undefined,
    }),
  );
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
