/**
 * What a station reports becomes money and grid decisions. Each finding of a
 * third-party and attacker run, over real sockets (1.6 and 2.x) on SQLite and
 * PostgreSQL: a late sample must not rewrite a settled transaction; ids are
 * per station (1.6 from the CSMS's own sequence); a refused start is on the
 * record as refused; absurd readings stay out of billing and the grid load.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startTestNode, testDatabases, type TestNode } from '../support/node.js';
import { boot, connectRaw, type RawClient } from '../support/raw-client.js';

const PASSWORD = 'findings-password-0001';
const TOKEN = 'DRIVER1501';

/** A 2.x TransactionEvent with one register (and optionally power) sample at `at`. */
export function txEvent(transactionId: string, seqNo: number, eventType: 'Started' | 'Updated' | 'Ended', at: string, wh: number, extra: Record<string, unknown> = {}) {
  return {
    eventType,
    timestamp: at,
    triggerReason: eventType === 'Started' ? 'Authorized' : eventType === 'Ended' ? 'EVDeparted' : 'MeterValuePeriodic',
    seqNo,
    transactionInfo: { transactionId, ...(eventType === 'Ended' ? { stoppedReason: 'EVDisconnected' } : {}) },
    evse: { id: 1, connectorId: 1 },
    meterValue: [{ timestamp: at, sampledValue: [{ value: wh, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } }] }],
    ...extra,
  };
}

/** Minutes after a recent whole hour, so timestamps are plausible whenever the test runs. */
export function clock(): (minute: number, second?: number) => string {
  const base = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
  return (minute, second = 0) => new Date(base + minute * 60_000 + second * 1000).toISOString();
}

for (const db of testDatabases()) {
  describe(`transaction findings over real sockets (${db})`, () => {
    let node: TestNode;
    const clients: RawClient[] = [];
    before(async () => {
      node = await startTestNode({ db });
      assert.equal((await node.api('PUT', `/api/v1/id-tokens/${TOKEN}`, { status: 'Accepted' })).status, 200);
    });
    after(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await node.stop();
    });

    async function station(id: string, protocol: 'ocpp1.6' | 'ocpp2.0.1' | 'ocpp2.1'): Promise<RawClient> {
      assert.equal((await node.api('POST', '/api/v1/stations', { id, securityProfile: 1, password: PASSWORD })).status, 201);
      const c = await connectRaw(`${node.ws}/${id}`, { protocol, user: id, password: PASSWORD });
      clients.push(c);
      assert.equal((await c.call('BootNotification', boot[protocol.slice(4) as keyof typeof boot]))[2].status, 'Accepted');
      return c;
    }
    /** Through the station's list (the contract's fields), so the same test runs against a node of any version. */
    const tx = async (stationId: string, transactionId: string | number) => {
      const list = (await node.api('GET', `/api/v1/transactions?stationId=${stationId}&limit=1000`)).body as any[];
      const found = list.find((t) => String(t.transactionId ?? t.id) === String(transactionId));
      assert.ok(found, `no transaction ${transactionId} of ${stationId}: ${JSON.stringify(list.map((t) => t.id))}`);
      return { ...found, flags: found.flags ?? [] };
    };
    const events = async (stationId: string) => (await node.api('GET', `/api/v1/security-events?stationId=${stationId}`)).body as { type: string }[];

    describe('1. a late sample does not rewrite a settled transaction', () => {
      test('1.6: a MeterValues older than the StopTransaction arrives after it', async () => {
        const at = clock();
        const c = await station(`LATE16-${db}`, 'ocpp1.6');
        const started = await c.call('StartTransaction', { connectorId: 1, idTag: TOKEN, meterStart: 1000, timestamp: at(0) });
        const id = started[2].transactionId;
        assert.equal((await c.call('MeterValues', { connectorId: 1, transactionId: id, meterValue: [{ timestamp: at(10), sampledValue: [{ value: '1400' }] }] }))[0], 3);
        assert.equal((await c.call('StopTransaction', { transactionId: id, meterStop: 3000, timestamp: at(30), reason: 'EVDisconnected' }))[0], 3);
        // Sent a millisecond after the stop (or queued offline): an older sample.
        assert.equal((await c.call('MeterValues', { connectorId: 1, transactionId: id, meterValue: [{ timestamp: at(20), sampledValue: [{ value: '1600' }] }] }))[0], 3);
        const t = await tx(`LATE16-${db}`, id);
        assert.equal(t.state, 'Ended');
        assert.equal(t.energyWh, 3000);
        assert.equal(t.energyStopWh, 3000);
        assert.equal(t.energyDeliveredWh, 2000, 'stop register minus start register');
        assert.ok(t.flags.includes('afterEnd'), t.flags.join());
        assert.equal(t.lateEvents, 1);
        const log = (await node.api('GET', `/api/v1/transactions/${t.id}`)).body.eventLog;
        assert.equal(log.length, 4, 'the late sample is kept as evidence');
        assert.deepEqual(log.at(-1).flags, ['afterEnd']);
      });

      test('1.6: an out-of-order sample during the transaction never moves the register backwards', async () => {
        const at = clock();
        const c = await station(`ORDER16-${db}`, 'ocpp1.6');
        const id = (await c.call('StartTransaction', { connectorId: 1, idTag: TOKEN, meterStart: 0, timestamp: at(0) }))[2].transactionId;
        await c.call('MeterValues', { connectorId: 1, transactionId: id, meterValue: [{ timestamp: at(20), sampledValue: [{ value: '2000' }] }] });
        await c.call('MeterValues', { connectorId: 1, transactionId: id, meterValue: [{ timestamp: at(10), sampledValue: [{ value: '1000' }] }] });
        const t = await tx(`ORDER16-${db}`, id);
        assert.equal(t.energyWh, 2000);
        assert.deepEqual([t.state, t.lateEvents], ['Updated', 1]);
      });

      for (const protocol of ['ocpp2.0.1', 'ocpp2.1'] as const) {
        test(`${protocol.slice(4)}: an Updated after Ended (higher seqNo, lower register) is flagged, not applied`, async () => {
          const at = clock();
          const id = `LATE${protocol.replace(/\D/g, '')}-${db}`;
          const c = await station(id, protocol);
          await c.call('TransactionEvent', txEvent('T1', 0, 'Started', at(0), 1000, { idToken: { idToken: TOKEN, type: 'ISO14443' } }));
          await c.call('TransactionEvent', txEvent('T1', 1, 'Updated', at(10), 2000));
          await c.call('TransactionEvent', txEvent('T1', 2, 'Ended', at(30), 3000));
          assert.equal((await c.call('TransactionEvent', txEvent('T1', 3, 'Updated', at(20), 1600)))[0], 3);
          const t = await tx(id, 'T1');
          assert.deepEqual([t.state, t.energyWh, t.energyDeliveredWh], ['Ended', 3000, 2000]);
          assert.ok(t.flags.includes('afterEnd'));
        });
      }
    });

    describe('2. transaction ids belong to their station', () => {
      test('a 2.0.1 station using id "2" and a 1.6 squatter do not block 1.6 starts elsewhere; the sender gets the event', async () => {
        const at = clock();
        const squat2x = await station(`SQ2X-${db}`, 'ocpp2.0.1');
        for (const n of ['1', '2', '3', '4', '5']) {
          assert.equal((await squat2x.call('TransactionEvent', txEvent(n, 0, 'Started', at(1), 0, { evse: { id: Number(n), connectorId: 1 } })))[0], 3);
        }
        const squat16 = await station(`SQ16-${db}`, 'ocpp1.6');
        const own = (await squat16.call('StartTransaction', { connectorId: 1, idTag: TOKEN, meterStart: 0, timestamp: at(1) }))[2].transactionId as number;
        // A MeterValues and a StopTransaction for ids never issued to it: refused, and the event is on the sender.
        for (const future of [own + 1, own + 2, 999_999]) {
          const r = await squat16.call('MeterValues', { connectorId: 1, transactionId: future, meterValue: [{ timestamp: at(2), sampledValue: [{ value: '5' }] }] });
          assert.deepEqual([r[0], r[2]], [4, 'SecurityError']);
        }
        const stop = await squat16.call('StopTransaction', { transactionId: own + 3, meterStop: 1, timestamp: at(3) });
        assert.deepEqual([stop[0], stop[2]], [4, 'SecurityError']);
        await eventually('ForeignTransaction on the sender', async () => (await events(`SQ16-${db}`)).filter((e) => e.type === 'ForeignTransaction').length === 4);

        // Victims: 1.6 stations starting now get fresh ids, can use them, and get no security event.
        const ids: number[] = [];
        for (let i = 0; i < 4; i++) {
          const v = await station(`VIC16-${i}-${db}`, 'ocpp1.6');
          const r = await v.call('StartTransaction', { connectorId: 1, idTag: TOKEN, meterStart: 100, timestamp: at(4) });
          assert.equal(r[0], 3, JSON.stringify(r));
          ids.push(r[2].transactionId);
          assert.equal((await v.call('MeterValues', { connectorId: 1, transactionId: r[2].transactionId, meterValue: [{ timestamp: at(5), sampledValue: [{ value: '200' }] }] }))[0], 3);
          assert.equal((await v.call('StopTransaction', { transactionId: r[2].transactionId, meterStop: 300, timestamp: at(6) }))[0], 3);
          assert.equal((await tx(`VIC16-${i}-${db}`, r[2].transactionId)).energyDeliveredWh, 200);
        }
        assert.equal(new Set([own, ...ids]).size, 5);
        assert.ok(ids.every((id) => id > own));
        for (let i = 0; i < 4; i++) assert.deepEqual((await events(`VIC16-${i}-${db}`)).filter((e) => e.type === 'ForeignTransaction'), []);
        // One 1.6 station cannot use another's id either.
        const other = await station(`OTHER16-${db}`, 'ocpp1.6');
        const r = await other.call('StopTransaction', { transactionId: ids[0], meterStop: 1, timestamp: at(7) });
        assert.deepEqual([r[0], r[2]], [4, 'SecurityError']);
        assert.equal((await tx(`VIC16-0-${db}`, ids[0]!)).energyDeliveredWh, 200, 'untouched');
      });

      test('two honest 2.x stations with the same counter-style id each keep their own transaction', async () => {
        const at = clock();
        const a = await station(`TXA-${db}`, 'ocpp2.0.1');
        const b = await station(`TXB-${db}`, 'ocpp2.1');
        for (const [c, wh] of [[a, 500], [b, 700]] as const) {
          assert.equal((await c.call('TransactionEvent', txEvent('TX-0001', 0, 'Started', at(0), 0, { idToken: { idToken: TOKEN, type: 'ISO14443' } })))[0], 3);
          assert.equal((await c.call('TransactionEvent', txEvent('TX-0001', 1, 'Ended', at(10), wh)))[0], 3);
        }
        assert.deepEqual([(await tx(`TXA-${db}`, 'TX-0001')).energyDeliveredWh, (await tx(`TXB-${db}`, 'TX-0001')).energyDeliveredWh], [500, 700]);
        const both = (await node.api('GET', '/api/v1/transactions?limit=1000')).body.filter((t: any) => t.transactionId === 'TX-0001');
        assert.deepEqual(both.map((t: any) => t.id).sort(), [`TXA-${db}:TX-0001`, `TXB-${db}:TX-0001`]);
        for (const s of [`TXA-${db}`, `TXB-${db}`]) assert.deepEqual((await events(s)).filter((e) => e.type === 'ForeignTransaction'), []);
      });
    });
  });
}
