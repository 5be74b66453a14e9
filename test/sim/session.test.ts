import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSimStation, type OcppVersion } from '../../src/sim/index.js';
import { startCsms, type TestCsms } from './csms.js';

/** A clock the test moves by hand, so energy figures are exact without waiting. */
function manualClock(start = Date.parse('2025-01-01T10:00:00Z')) {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => { t += ms; } };
}

const PASSWORD = 'correct-horse-battery-staple';

describe('a charging session against a strict OCPP server', () => {
  let csms: TestCsms;
  before(async () => {
    csms = await startCsms({ passwords: { 'CS-16': PASSWORD, 'CS-201': PASSWORD, 'CS-21': PASSWORD, 'CS/odd id': PASSWORD } });
  });
  after(() => csms.close());

  for (const [version, id] of [['1.6', 'CS-16'], ['2.0.1', 'CS-201'], ['2.1', 'CS-21']] as [OcppVersion, string][]) {
    it(`OCPP ${version}: boot, heartbeat, status, authorize, start, meter values, stop`, { timeout: 20_000 }, async () => {
      const clock = manualClock();
      const station = createSimStation({ url: csms.url, id, ocppVersion: version, securityProfile: 1, password: PASSWORD, now: clock.now });
      const states: string[] = [];
      station.on('state', (s: string) => states.push(s));
      try {
        const boot = await station.connect();
        assert.deepEqual(boot, { status: 'Accepted', interval: 300 });
        await station.heartbeat();
        await station.statusNotification(1, 'Available');
        assert.equal(await station.authorize('TAG-1'), 'Accepted');
        const { transactionId, idTokenStatus } = await station.startCharging({ connectorId: 1, idToken: 'TAG-1', powerW: 11_000 });
        assert.equal(idTokenStatus, 'Accepted');
        assert.equal(station.transactionId(1), transactionId);
        clock.advance(60_000);
        await station.sendMeterValues(1);
        clock.advance(60_000);
        await station.sendMeterValues(1);
        await station.stopCharging(1, 'Local');
        assert.equal(station.transactionId(1), undefined);
        // 11 kW for two minutes is 366.67 Wh.
        assert.equal(station.meterReading(1), 366);

        const mine = csms.received.filter((r) => r.identity === id);
        const methods = mine.map((r) => r.method);
        if (version === '1.6') {
          assert.deepEqual(methods, [
            'BootNotification', 'StatusNotification', 'Heartbeat', 'StatusNotification', 'Authorize',
            'StatusNotification', 'StartTransaction', 'StatusNotification', 'MeterValues', 'MeterValues',
            'StopTransaction', 'StatusNotification', 'StatusNotification',
          ]);
          assert.equal(mine[0]!.params.chargePointVendor, 'evguard');
          const start = mine.find((r) => r.method === 'StartTransaction')!.params;
          assert.equal(start.idTag, 'TAG-1');
          assert.equal(start.meterStart, 0);
          const meters = mine.filter((r) => r.method === 'MeterValues').map((r) => r.params);
          assert.ok(meters.every((m) => String(m.transactionId) === transactionId));
          const energy = meters.map((m) => Number(m.meterValue[0].sampledValue.find((s: any) => s.measurand === 'Energy.Active.Import.Register').value));
          assert.deepEqual(energy, [183, 366]);
          const stop = mine.find((r) => r.method === 'StopTransaction')!.params;
          assert.equal(String(stop.transactionId), transactionId);
          assert.equal(stop.meterStop, 366);
          assert.deepEqual(mine.filter((r) => r.method === 'StatusNotification').map((r) => r.params.status),
            ['Available', 'Available', 'Preparing', 'Charging', 'Finishing', 'Available']);
        } else {
          assert.deepEqual(methods, [
            'BootNotification', 'StatusNotification', 'Heartbeat', 'StatusNotification', 'Authorize',
            'StatusNotification', 'TransactionEvent', 'TransactionEvent', 'TransactionEvent', 'TransactionEvent',
            'StatusNotification',
          ]);
          assert.deepEqual(mine[0]!.params.chargingStation, { model: 'SimStation', vendorName: 'evguard', firmwareVersion: '1.0.0', serialNumber: `SIM-${id}` });
          const events = mine.filter((r) => r.method === 'TransactionEvent').map((r) => r.params);
          assert.deepEqual(events.map((e) => e.eventType), ['Started', 'Updated', 'Updated', 'Ended']);
          assert.deepEqual(events.map((e) => e.seqNo), [0, 1, 2, 3]);
          assert.ok(events.every((e) => e.transactionInfo.transactionId === transactionId));
          assert.deepEqual(events[0].evse, { id: 1, connectorId: 1 });
          assert.deepEqual(events[0].idToken, { idToken: 'TAG-1', type: 'ISO14443' });
          assert.equal(events[3].transactionInfo.stoppedReason, 'Local');
          const energy = events.map((e) => e.meterValue[0].sampledValue[0].value);
          assert.deepEqual(energy, [0, 183, 366, 366]);
          assert.equal(events[1].meterValue[0].sampledValue[1].measurand, 'Power.Active.Import');
          assert.equal(events[1].meterValue[0].sampledValue[1].value, 11_000);
          assert.deepEqual(mine.filter((r) => r.method === 'StatusNotification').map((r) => r.params.connectorStatus),
            ['Available', 'Available', 'Occupied', 'Available']);
        }
        assert.deepEqual(csms.violations, []);
      } finally {
        await station.close();
      }
      assert.deepEqual(states, ['connecting', 'open', 'closed']);
    });
  }

  it('percent-encodes the station id in the URL', { timeout: 20_000 }, async () => {
    const station = createSimStation({ url: csms.url, id: 'CS/odd id', ocppVersion: '2.0.1', securityProfile: 1, password: PASSWORD });
    try {
      assert.equal((await station.connect()).status, 'Accepted');
      assert.ok(csms.received.some((r) => r.identity === 'CS/odd id' && r.method === 'BootNotification'));
    } finally {
      await station.close();
    }
  });

  it('a refused password is a SIM_CONNECT_FAILED error carrying the HTTP status', { timeout: 20_000 }, async () => {
    const station = createSimStation({ url: csms.url, id: 'CS-16', ocppVersion: '1.6', securityProfile: 1, password: 'wrong-password-1234' });
    await assert.rejects(station.connect(), (err: any) => err.code === 'SIM_CONNECT_FAILED' && err.details.httpStatus === 401);
    assert.equal(station.state, 'idle');
    await station.close();
  });

  it('a blocked token ends the transaction it started with reason DeAuthorized', { timeout: 20_000 }, async () => {
    const station = createSimStation({ url: csms.url, id: 'CS-201', ocppVersion: '2.0.1', securityProfile: 1, password: PASSWORD });
    try {
      await station.connect();
      const result = await station.startCharging({ connectorId: 1, idToken: 'BLOCKED' });
      assert.equal(result.idTokenStatus, 'Blocked');
      assert.equal(station.transactionId(1), undefined);
      const ended = await csms.waitFor((r) => r.method === 'TransactionEvent' && r.params.eventType === 'Ended' && r.params.transactionInfo.transactionId === result.transactionId);
      assert.equal(ended.params.transactionInfo.stoppedReason, 'DeAuthorized');
    } finally {
      await station.close();
    }
  });

  it('rejects bad options and bad calls with coded errors, not crashes', async () => {
    assert.throws(() => createSimStation({ url: 'http://x', id: 'a', ocppVersion: '1.6', securityProfile: 1 }), { code: 'SIM_BAD_OPTIONS' });
    assert.throws(() => createSimStation({ url: csms.url, id: '', ocppVersion: '1.6', securityProfile: 1 }), { code: 'SIM_BAD_OPTIONS' });
    assert.throws(() => createSimStation({ url: csms.url, id: 'a', ocppVersion: '3.0' as never, securityProfile: 1 }), { code: 'SIM_BAD_OPTIONS' });
    assert.throws(() => createSimStation({ url: csms.url, id: 'a', ocppVersion: '2.0.1', securityProfile: 2 }), { code: 'SIM_BAD_OPTIONS' });
    const station = createSimStation({ url: csms.url, id: 'CS-16', ocppVersion: '1.6', securityProfile: 1, password: PASSWORD });
    try {
      await assert.rejects(station.heartbeat(), { code: 'SIM_OFFLINE' });
      await station.connect();
      await assert.rejects(station.startCharging({ connectorId: 9, idToken: 'T' }), { code: 'SIM_UNKNOWN_CONNECTOR' });
      await assert.rejects(station.stopCharging(1), { code: 'SIM_NO_TRANSACTION' });
      // 1.6 idTag is at most 20 characters: the simulator refuses to send it.
      await assert.rejects(station.authorize('X'.repeat(21)), { code: 'SIM_INVALID_MESSAGE' });
      await assert.rejects(station.call('Heartbeat', { extra: 1 }), { code: 'SIM_INVALID_MESSAGE' });
      // Unchecked calls do reach the server, which answers with a CALLERROR.
      await assert.rejects(station.call('Heartbeat', { extra: 1 }, { validate: false }), (err: any) => err.code === 'SIM_CALL_FAILED' && /Violation/.test(err.details.rpcErrorCode));
      assert.equal(station.state, 'open');
    } finally {
      await station.close();
    }
    await assert.rejects(station.connect(), { code: 'SIM_CLOSED' });
  });
});
