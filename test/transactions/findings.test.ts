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
import { createSimStation, type SimStation } from '../../src/sim/index.js';
import { clock, txEvent } from './support.js';

const PASSWORD = 'findings-password-0001';
const TOKEN = 'DRIVER1501';

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

    describe('3. a refused start is not a charge', () => {
      const alerts = async (stationId: string) => {
        await node.app.monitor.settled();
        return (await node.api('GET', `/api/v1/alerts?stationId=${stationId}`)).body as { detector: string; title: string }[];
      };

      test('1.6: StartTransaction answered Invalid is Refused with its decision; a start over an open one abandons it; piling up raises an alert', async () => {
        const at = clock();
        const id = `REF16-${db}`;
        const c = await station(id, 'ocpp1.6');
        const refused = await c.call('StartTransaction', { connectorId: 1, idTag: 'NOBODY01', meterStart: 0, timestamp: at(0) });
        assert.equal(refused[2].idTagInfo.status, 'Invalid');
        let t = await tx(id, refused[2].transactionId);
        assert.equal(t.state, 'Refused');
        assert.ok(['Invalid', 'Unknown'].includes(t.authorization?.status) && Date.parse(t.authorization.at) > 0, JSON.stringify(t.authorization));
        // The station stops it (StopTransactionOnInvalidId): still Refused, never billable.
        assert.equal((await c.call('StopTransaction', { transactionId: refused[2].transactionId, meterStop: 0, timestamp: at(1), reason: 'DeAuthorized' }))[0], 3);
        t = await tx(id, refused[2].transactionId);
        assert.deepEqual([t.state, t.flags.includes('refused'), !!t.endedAt], ['Refused', true, true]);

        const first = (await c.call('StartTransaction', { connectorId: 2, idTag: TOKEN, meterStart: 0, timestamp: at(2) }))[2].transactionId;
        assert.equal((await tx(id, first)).authorization?.status, 'Accepted');
        const second = (await c.call('StartTransaction', { connectorId: 2, idTag: TOKEN, meterStart: 10, timestamp: at(3) }))[2].transactionId;
        t = await tx(id, first);
        assert.deepEqual([t.state, t.abandonedBy, t.flags.includes('abandoned')], ['Abandoned', `${id}:${second}`, true]);
        assert.equal((await tx(id, second)).state, 'Started');

        // Three more refused starts: five stranded transactions within the hour.
        for (let i = 0; i < 3; i++) await c.call('StartTransaction', { connectorId: 3, idTag: `NOBODY1${i}`, meterStart: 0, timestamp: at(4 + i) });
        const alert = await eventually('a strandedTransactions alert', async () => (await alerts(id)).find((a) => a.detector === 'strandedTransactions'));
        assert.match(alert.title, /piling up/);
      });

      for (const protocol of ['ocpp2.0.1', 'ocpp2.1'] as const) {
        test(`${protocol.slice(4)}: a Started with an unknown token is Refused; a new Started on the same EVSE abandons the open one`, async () => {
          const at = clock();
          const id = `REF${protocol.replace(/\D/g, '')}-${db}`;
          const c = await station(id, protocol);
          const r = await c.call('TransactionEvent', txEvent('R1', 0, 'Started', at(0), 0, { idToken: { idToken: 'NOBODY02', type: 'ISO14443' } }));
          assert.notEqual(r[2].idTokenInfo.status, 'Accepted');
          const t = await tx(id, 'R1');
          assert.deepEqual([t.state, t.authorization?.status], ['Refused', r[2].idTokenInfo.status]);
          await c.call('TransactionEvent', txEvent('A1', 0, 'Started', at(1), 0, { evse: { id: 2, connectorId: 1 }, idToken: { idToken: TOKEN, type: 'ISO14443' } }));
          await c.call('TransactionEvent', txEvent('A2', 0, 'Started', at(2), 0, { evse: { id: 2, connectorId: 1 }, idToken: { idToken: TOKEN, type: 'ISO14443' } }));
          assert.deepEqual([(await tx(id, 'A1')).state, (await tx(id, 'A2')).state], ['Abandoned', 'Started']);
          // Its Ended, late, still settles it.
          await c.call('TransactionEvent', txEvent('A1', 1, 'Ended', at(1, 30), 100));
          const a1 = await tx(id, 'A1');
          assert.deepEqual([a1.state, a1.energyDeliveredWh, a1.flags.includes('lateEnd')], ['Ended', 100, true]);
        });
      }
    });

    describe('4. absurd readings stay out of billing and the grid load', () => {
      const alertsOf = async (stationId: string) => {
        await node.app.monitor.settled();
        return (await node.api('GET', `/api/v1/alerts?stationId=${stationId}`)).body as { detector: string; title: string; evidence?: any }[];
      };
      const power = (at: string, w: number | string, v2 = true) => [{ timestamp: at, sampledValue: [v2 ? { value: w, measurand: 'Power.Active.Import', unitOfMeasure: { unit: 'W' } } : { value: String(w), measurand: 'Power.Active.Import', unit: 'W' }] }];

      test('2.0.1: negative, enormous, far-future, ancient and jumping readings are evidence only; an alert names the sender', async () => {
        const at = clock();
        const id = `ABSURD2-${db}`;
        const c = await station(id, 'ocpp2.0.1');
        const ok = async (m: unknown) => assert.equal((await c.call('TransactionEvent', m))[0], 3);
        await ok(txEvent('X1', 0, 'Started', at(0), -5e9, { idToken: { idToken: TOKEN, type: 'ISO14443' } }));
        await ok(txEvent('X1', 1, 'Updated', at(1), 1000));
        await ok(txEvent('X1', 2, 'Updated', at(2), 1e15));
        await ok({ ...txEvent('X1', 3, 'Updated', at(3), 1200), meterValue: [...txEvent('X1', 3, 'Updated', at(3), 1200).meterValue, ...power(at(3), 1e308)] });
        await ok(txEvent('X1', 4, 'Updated', '9999-12-31T23:59:59.000Z', 1300));
        await ok(txEvent('X1', 5, 'Updated', '0001-01-01T00:00:00.000Z', 1300));
        await ok(txEvent('X1', 2_147_483_647, 'Updated', at(6), 1400));
        await ok(txEvent('X1', 6, 'Ended', at(7), 1500));
        const t = await tx(id, 'X1');
        assert.equal(t.state, 'Ended');
        assert.equal(t.implausibleEvents, 6, t.flags.join());
        for (const reason of ['registerNegative', 'registerTooLarge', 'powerAboveRating', 'timestampFuture', 'timestampPast', 'seqNoJump']) assert.ok(t.flags.includes(`implausible:${reason}`), `${reason}: ${t.flags.join()}`);
        // The start register was absurd: the first plausible register is the start; nothing absurd is in the energy.
        assert.deepEqual([t.energyStartWh, t.energyStopWh, t.energyDeliveredWh], [1000, 1500, 500]);
        assert.ok(t.powerW === 0);
        const alert = await eventually('an alert on the sender', async () => (await alertsOf(id)).find((a) => a.detector === 'meterPlausibility' && /Implausible/.test(a.title)));
        assert.ok(alert);
      });

      test('1.6: a negative meterStart and a 10¹⁵ Wh sample never reach the energy', async () => {
        const at = clock();
        const id = `ABSURD16-${db}`;
        const c = await station(id, 'ocpp1.6');
        const txId = (await c.call('StartTransaction', { connectorId: 1, idTag: TOKEN, meterStart: -5_000_000_000, timestamp: at(0) }))[2].transactionId;
        await c.call('MeterValues', { connectorId: 1, transactionId: txId, meterValue: [{ timestamp: at(1), sampledValue: [{ value: '1000' }] }] });
        await c.call('MeterValues', { connectorId: 1, transactionId: txId, meterValue: [{ timestamp: at(2), sampledValue: [{ value: '1000000000000000' }] }] });
        await c.call('MeterValues', { connectorId: 1, transactionId: txId, meterValue: power(at(3), '1e308', false) });
        await c.call('StopTransaction', { transactionId: txId, meterStop: 2000, timestamp: at(10) });
        const t = await tx(id, txId);
        assert.deepEqual([t.energyStartWh, t.energyDeliveredWh, t.implausibleEvents], [1000, 1000, 3]);
      });

      test('the grid guard: one station lying about its power leaves the site load plausible, and an honest start passes', async () => {
        const at = clock();
        const site = `SITE15-${db}`;
        assert.equal((await node.api('PUT', `/api/v1/grid/sites/${site}`, { limitKw: 45 })).status, 200);
        const liarId = `LIAR-${db}`;
        const liar = await station(liarId, 'ocpp2.0.1');
        const honestId = `HONEST-${db}`;
        assert.equal((await node.api('POST', '/api/v1/stations', { id: honestId, securityProfile: 1, password: PASSWORD })).status, 201);
        for (const s of [liarId, honestId]) assert.equal((await node.api('PUT', `/api/v1/grid/sites/${site}/stations/${s}`, { maxPowerW: 22_000 })).status, 200);
        const honest: SimStation = createSimStation({ url: node.ws, id: honestId, ocppVersion: '2.0.1', securityProfile: 1, password: PASSWORD, pingIntervalMs: 0 });
        await honest.connect();
        try {
          const withPower = (seqNo: number, minute: number, w: number, kind: 'Started' | 'Updated' = 'Updated') => {
            const e = txEvent('L1', seqNo, kind, at(minute), 1000 + seqNo, kind === 'Started' ? { idToken: { idToken: TOKEN, type: 'ISO14443' } } : {});
            return { ...e, meterValue: [...e.meterValue, ...power(at(minute), w)] };
          };
          await liar.call('TransactionEvent', withPower(0, 0, 24_000, 'Started'));
          // Within the rating's tolerance, so plausible: but a 22 kW station counts as at most 22 kW.
          await eventually('the liar counted at its rating', async () => (await node.api('GET', '/api/v1/grid/load')).body.sites.find((x: any) => x.id === site)?.loadKw === 22);
          await liar.call('TransactionEvent', withPower(1, 1, 1e308));
          await liar.call('TransactionEvent', withPower(2, 2, 1e12));
          const load = (await node.api('GET', '/api/v1/grid/load')).body.sites.find((x: any) => x.id === site);
          assert.ok(load.loadKw <= 22, JSON.stringify(load));
          const start = await node.api('POST', `/api/v1/stations/${honestId}/calls`, { action: 'RequestStartTransaction', payload: { idToken: { idToken: TOKEN, type: 'Central' }, remoteStartId: 1501, evseId: 1 } });
          assert.equal(start.status, 200, JSON.stringify(start.body));
          assert.equal(start.body.status, 'Accepted');
        } finally {
          await honest.close();
        }
      });
    });

    describe('5. a live message with an old timestamp is a replay signal', () => {
      test('2.0.1: StaleTimestamp for an old message not marked offline; none for an offline-queued one or a fresh one', async () => {
        const id = `STALE-${db}`;
        const c = await station(id, 'ocpp2.0.1');
        const old = new Date(Date.now() - 3_600_000).toISOString();
        const fresh = new Date().toISOString();
        const started = txEvent('S1', 0, 'Started', old, 1000, { idToken: { idToken: TOKEN, type: 'ISO14443' }, offline: true });
        assert.equal((await c.call('TransactionEvent', started))[0], 3);
        assert.equal((await c.call('TransactionEvent', txEvent('S1', 1, 'Updated', fresh, 1100)))[0], 3);
        assert.deepEqual((await events(id)).filter((e) => e.type === 'StaleTimestamp'), []);
        assert.equal((await c.call('TransactionEvent', txEvent('S1', 2, 'Updated', old, 1200)))[0], 3);
        await eventually('StaleTimestamp recorded', async () => ((await events(id)).filter((e) => e.type === 'StaleTimestamp').length === 1 ? true : undefined));
      });
    });
  });
}
