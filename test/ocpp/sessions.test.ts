/**
 * Complete charging sessions in 1.6, 2.0.1 and 2.1 over real sockets, visible
 * through the API, on SQLite and PostgreSQL: offline replays counted once, and
 * a transaction id of another station refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startTestNode, testDatabases, type TestNode } from '../support/node.js';
import { boot, connectRaw, type RawClient } from '../support/raw-client.js';

const PASSWORD = 'session-password-0001';
const TOKEN = 'DRIVER0001';

for (const db of testDatabases()) {
  describe(`charging sessions on ${db}`, () => {
    let node: TestNode;
    before(async () => {
      node = await startTestNode({ db });
      assert.equal((await node.api('PUT', `/api/v1/id-tokens/${TOKEN}`, { status: 'Accepted' })).status, 200);
      await node.api('PUT', '/api/v1/id-tokens/BLOCKED01', { status: 'Blocked' });
    });
    after(() => node.stop());

    async function station(id: string, protocol: string): Promise<RawClient> {
      await node.api('POST', '/api/v1/stations', { id, securityProfile: 1, password: PASSWORD });
      const c = await connectRaw(`${node.ws}/${id}`, { protocol, user: id, password: PASSWORD });
      const v = protocol.slice(4) as keyof typeof boot;
      assert.equal((await c.call('BootNotification', boot[v]))[2].status, 'Accepted');
      return c;
    }

    test('OCPP 1.6: stations starting at the same instant get distinct transaction ids', async () => {
      const clients = await Promise.all(Array.from({ length: 8 }, (_, i) => station(`RACE-${i}`, 'ocpp1.6')));
      const answers = await Promise.all(clients.map((c) => c.call('StartTransaction', { connectorId: 1, idTag: TOKEN, meterStart: 0, timestamp: '2026-11-23T09:00:00.000Z' })));
      const ids = answers.map((a) => a[2]?.transactionId);
      assert.ok(answers.every((a) => a[0] === 3), JSON.stringify(answers));
      assert.equal(new Set(ids).size, ids.length, `ids: ${ids.join()}`);
      for (const c of clients) await c.close();
    });

    test('OCPP 1.6: authorize, start, meter values, stop', async () => {
      const c = await station('S16', 'ocpp1.6');
      assert.equal((await c.call('Authorize', { idTag: TOKEN }))[2].idTagInfo.status, 'Accepted');
      assert.equal((await c.call('Authorize', { idTag: 'NOBODY' }))[2].idTagInfo.status, 'Invalid');
      assert.equal((await c.call('Authorize', { idTag: 'BLOCKED01' }))[2].idTagInfo.status, 'Blocked');
      const t0 = '2026-11-23T10:00:00.000Z';
      const start = { connectorId: 1, idTag: TOKEN, meterStart: 1000, timestamp: t0 };
      const started = await c.call('StartTransaction', start);
      assert.equal(started[2].idTagInfo.status, 'Accepted');
      const txId = started[2].transactionId;
      assert.equal(typeof txId, 'number');
      // The same StartTransaction replayed from the offline queue maps to the same id.
      assert.equal((await c.call('StartTransaction', start))[2].transactionId, txId);
      const mv = {
        connectorId: 1,
        transactionId: txId,
        meterValue: [{ timestamp: '2026-11-23T10:15:00.000Z', sampledValue: [{ value: '3.5', unit: 'kWh' }, { value: '11000', measurand: 'Power.Active.Import', unit: 'W' }] }],
      };
      assert.equal((await c.call('MeterValues', mv))[0], 3);
      assert.equal((await c.call('MeterValues', mv))[0], 3, 'a replayed MeterValues is acknowledged');
      assert.equal((await c.call('StopTransaction', { transactionId: txId, meterStop: 6000, timestamp: '2026-11-23T10:30:00.000Z', reason: 'EVDisconnected' }))[0], 3);
      const tx = (await node.api('GET', `/api/v1/transactions/S16:${txId}`)).body;
      assert.equal(tx.state, 'Ended');
      assert.equal(tx.stationId, 'S16');
      assert.equal(tx.transactionId, String(txId));
      assert.equal(tx.id, `S16:${txId}`);
      assert.equal(tx.energyStopWh, 6000);
      assert.deepEqual(tx.authorization?.status, 'Accepted');
      assert.equal(tx.energyStartWh, 1000);
      assert.equal(tx.energyWh, 6000);
      assert.equal(tx.energyDeliveredWh, 5000);
      assert.equal(tx.events, 3, 'start, one meter value, stop — replays counted once');
      await c.close();
    });

    for (const protocol of ['ocpp2.0.1', 'ocpp2.1']) {
      test(`OCPP ${protocol.slice(4)}: TransactionEvent lifecycle with offline replay and gaps`, async () => {
        const id = `S${protocol.replace(/\D/g, '')}`;
        const c = await station(id, protocol);
        const txId = `tx-${id}-1`;
        const ev = (seqNo: number, eventType: string, minute: number, wh: number, extra: object = {}) => ({
          eventType,
          timestamp: `2026-11-23T11:${String(minute).padStart(2, '0')}:00.000Z`,
          triggerReason: eventType === 'Started' ? 'Authorized' : eventType === 'Ended' ? 'EVDeparted' : 'MeterValuePeriodic',
          seqNo,
          transactionInfo: { transactionId: txId, ...(eventType === 'Ended' ? { stoppedReason: 'EVDisconnected' } : {}) },
          evse: { id: 1, connectorId: 1 },
          meterValue: [{ timestamp: `2026-11-23T11:${String(minute).padStart(2, '0')}:00.000Z`, sampledValue: [{ value: wh, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } }] }],
          ...extra,
        });
        const started = await c.call('TransactionEvent', ev(0, 'Started', 0, 2000, { idToken: { idToken: TOKEN, type: 'ISO14443' } }));
        assert.equal(started[2].idTokenInfo.status, 'Accepted');
        assert.equal((await c.call('TransactionEvent', ev(1, 'Updated', 10, 4000)))[0], 3);
        // seqNo 2 is lost for now; 3 arrives and leaves a gap.
        assert.equal((await c.call('TransactionEvent', ev(3, 'Updated', 30, 8000)))[0], 3);
        let tx = (await node.api('GET', `/api/v1/stations/${id}/transactions/${txId}`)).body;
        assert.equal(tx.seqGaps, 1);
        // The queued seqNo 2 arrives late (offline), then is replayed again: counted once.
        assert.equal((await c.call('TransactionEvent', ev(2, 'Updated', 20, 6000, { offline: true })))[0], 3);
        assert.equal((await c.call('TransactionEvent', ev(2, 'Updated', 20, 6000, { offline: true })))[0], 3);
        assert.equal((await c.call('TransactionEvent', ev(4, 'Ended', 40, 9000)))[0], 3);
        tx = (await node.api('GET', `/api/v1/stations/${id}/transactions/${txId}`)).body;
        assert.equal(tx.state, 'Ended');
        assert.equal(tx.events, 5);
        assert.equal(tx.seqGaps, 0);
        assert.equal(tx.offlineEvents, 1);
        assert.equal(tx.energyDeliveredWh, 7000, 'the late offline value did not overwrite the newer register');
        assert.equal(tx.stoppedReason, 'EVDisconnected');
        const list = (await node.api('GET', `/api/v1/transactions?stationId=${id}`)).body;
        assert.deepEqual(list.map((t: any) => [t.id, t.transactionId, t.stationId]), [[`${id}:${txId}`, txId, id]]);

        // Another station's message with the same id is about its own transaction, never this one.
        const intruder = await station(`${id}-X`, protocol);
        const r = await intruder.call('TransactionEvent', ev(5, 'Updated', 45, 1));
        assert.equal(r[0], 3);
        tx = (await node.api('GET', `/api/v1/stations/${id}/transactions/${txId}`)).body;
        assert.equal(tx.events, 5, 'nothing merged');
        assert.equal(tx.energyDeliveredWh, 7000);
        const own = (await node.api('GET', `/api/v1/stations/${id}-X/transactions/${txId}`)).body;
        assert.deepEqual([own.stationId, own.events, own.flags], [`${id}-X`, 1, ['noStart']]);
        await intruder.close();
        await c.close();
      });
    }

    test('the station list shows version, profile, firmware and connection state', async () => {
      const c = await station('LISTED', 'ocpp2.0.1');
      const s = (await node.api('GET', '/api/v1/stations/LISTED')).body;
      assert.equal(s.connected, true);
      assert.equal(s.ocppVersion, '2.0.1');
      assert.equal(s.securityProfile, 1);
      assert.equal(s.firmwareVersion, '1.0.0');
      await c.close();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((await node.api('GET', '/api/v1/stations/LISTED')).body.connected, false);
    });
  });
}
