/**
 * A third-party-style run: OCPP 1.6 stations built on ocpp-rpc's RPCClient
 * (a client library from the registry, as a station vendor would use it)
 * fire each transaction's MeterValues and its StopTransaction at once,
 * several in flight, in shuffled order, many times. Whatever order they land
 * in, every ended transaction's energy is its stop register minus its start
 * register, and the samples that lost the race are kept, flagged.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RPCClient } from 'ocpp-rpc';
import { startTestNode, testDatabases, type TestNode } from '../support/node.js';

const PASSWORD = 'race-password-000000001';
const STATIONS = 3;
const TRANSACTIONS = 20;

function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

for (const db of testDatabases()) {
  describe(`1.6 MeterValues racing StopTransaction (${db})`, () => {
    let node: TestNode;
    before(async () => {
      // Far above the default rate limit: this run is about ordering, not flooding.
      node = await startTestNode({ db, config: { ocpp: { ratePerSecond: 1000, rateBurst: 1000 } } });
      await node.api('PUT', '/api/v1/id-tokens/RACER001', { status: 'Accepted' });
    });
    after(() => node.stop());

    test(`${STATIONS} stations × ${TRANSACTIONS} transactions: energy = stop register − start register, every time`, async (t) => {
      const expected = new Map<string, { start: number; stop: number }>();
      let raced = 0;
      await Promise.all(Array.from({ length: STATIONS }, async (_, s) => {
        const identity = `RACE16-${s}-${db}`;
        assert.equal((await node.api('POST', '/api/v1/stations', { id: identity, securityProfile: 1, password: PASSWORD })).status, 201);
        const client = new RPCClient({ endpoint: node.ws, identity, password: PASSWORD, protocols: ['ocpp1.6'], strictMode: true, callConcurrency: 8, reconnect: false } as Partial<ConstructorParameters<typeof RPCClient>[0]> as ConstructorParameters<typeof RPCClient>[0]);
        await client.connect();
        try {
          await client.call('BootNotification', { chargePointVendor: 'ThirdParty', chargePointModel: 'Racer' });
          const base = Date.now() - 40 * 60_000;
          let register = 10_000 * (s + 1);
          for (let i = 0; i < TRANSACTIONS; i++) {
            const at = (seconds: number) => new Date(base + i * 60_000 + seconds * 1000).toISOString();
            const connectorId = 1 + (i % 2);
            const start = register;
            const { transactionId } = await client.call('StartTransaction', { connectorId, idTag: 'RACER001', meterStart: start, timestamp: at(0) }) as { transactionId: number };
            const samples = [1, 2, 3, 4].map((k) => () => client.call('MeterValues', {
              connectorId, transactionId,
              meterValue: [{ timestamp: at(10 * k), sampledValue: [{ value: String(start + 500 * k), unit: 'Wh', context: 'Sample.Periodic' }, { value: '11000', measurand: 'Power.Active.Import', unit: 'W' }] }],
            }));
            const stop = () => client.call('StopTransaction', { transactionId, meterStop: start + 2500, timestamp: at(50), reason: 'EVDisconnected' });
            await Promise.all(shuffled([...samples, stop]).map((send) => send()));
            expected.set(`${identity}:${transactionId}`, { start, stop: start + 2500 });
            register = start + 2500 + 7;
          }
        } finally {
          await client.close({ force: true });
        }
      }));
      for (const [id, e] of expected) {
        const tx = (await node.api('GET', `/api/v1/transactions/${id}`)).body;
        assert.equal(tx.state, 'Ended', id);
        assert.equal(tx.energyStartWh, e.start, id);
        assert.equal(tx.energyStopWh, e.stop, id);
        assert.equal(tx.energyWh, e.stop, id);
        assert.equal(tx.energyDeliveredWh, e.stop - e.start, `${id}: ${JSON.stringify(tx)}`);
        assert.equal(tx.eventLog.length, 6, `${id}: start, four samples, stop — each kept`);
        assert.ok(!tx.flags.includes('samplesDisagree'), id);
        raced += tx.eventLog.filter((ev: any) => ev.flags.includes('afterEnd') || ev.flags.includes('late')).length;
      }
      assert.equal(expected.size, STATIONS * TRANSACTIONS);
      t.diagnostic(`${expected.size} transactions; ${raced} samples arrived late or after their stop and were kept as flagged evidence`);
      assert.ok(raced > 0, 'the shuffled order made some samples lose the race');
    });
  });
}
