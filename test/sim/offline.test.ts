import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { createSimStation, type OcppVersion } from '../../src/sim/index.js';
import { startCsms, type TestCsms } from './csms.js';

function manualClock(start = Date.parse('2025-03-01T08:00:00Z')) {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => { t += ms; } };
}

describe('offline behaviour: queue while offline, replay in order on reconnect', () => {
  let csms: TestCsms;
  before(async () => { csms = await startCsms(); });
  after(() => csms.close());

  for (const version of ['2.0.1', '2.1'] as OcppVersion[]) {
    it(`OCPP ${version}: replays TransactionEvents with their original timestamps and seqNo, flagged offline`, { timeout: 20_000 }, async () => {
      const id = `OFF-${version}`;
      const clock = manualClock();
      const station = createSimStation({ url: csms.url, id, ocppVersion: version, securityProfile: 1, now: clock.now });
      try {
        await station.connect();
        const { transactionId } = await station.startCharging({ connectorId: 1, idToken: 'TAG-OFF', powerW: 7_200 });
        station.goOffline();
        assert.equal(station.state, 'offline');
        await assert.rejects(station.heartbeat(), { code: 'SIM_OFFLINE' });
        const times: string[] = [];
        for (let i = 0; i < 2; i++) {
          clock.advance(30 * 60_000);
          times.push(clock.now().toISOString());
          await station.sendMeterValues(1);
        }
        await station.securityEvent('TamperDetectionActivated', 'enclosure opened');
        clock.advance(60_000);
        times.push(clock.now().toISOString());
        await station.stopCharging(1, 'EVDisconnected');
        assert.equal(station.queuedMessages, 4);
        const before = csms.received.filter((r) => r.identity === id).length;

        const replayed = once(station, 'replayed');
        await station.reconnect();
        assert.deepEqual((await replayed)[0], { sent: 4, left: 0 });
        assert.equal(station.state, 'open');
        assert.equal(station.queuedMessages, 0);

        const after = csms.received.filter((r) => r.identity === id).slice(before);
        assert.deepEqual(after.map((r) => r.method), ['TransactionEvent', 'TransactionEvent', 'SecurityEventNotification', 'TransactionEvent', 'StatusNotification']);
        const events = after.filter((r) => r.method === 'TransactionEvent').map((r) => r.params);
        assert.deepEqual(events.map((e) => e.seqNo), [1, 2, 3]);
        assert.deepEqual(events.map((e) => e.eventType), ['Updated', 'Updated', 'Ended']);
        assert.ok(events.every((e) => e.offline === true && e.transactionInfo.transactionId === transactionId));
        assert.deepEqual(events.map((e) => e.timestamp), times);
        // 7.2 kW for 30 and 60 minutes, then one more minute.
        assert.deepEqual(events.map((e) => e.meterValue[0].sampledValue[0].value), [3600, 7200, 7320]);
        assert.equal(events[2].transactionInfo.stoppedReason, 'EVDisconnected');
        assert.equal(after[2]!.params.type, 'TamperDetectionActivated');
        assert.equal(after[4]!.params.connectorStatus, 'Available');
        assert.deepEqual(csms.violations, []);
      } finally {
        await station.close();
      }
    });
  }

  it('OCPP 1.6: a transaction started offline gets its CSMS id on replay and later messages use it', { timeout: 20_000 }, async () => {
    const id = 'OFF-16';
    const clock = manualClock();
    const station = createSimStation({ url: csms.url, id, ocppVersion: '1.6', securityProfile: 1, now: clock.now });
    try {
      await station.connect();
      station.goOffline();
      const startedAt = clock.now().toISOString();
      const started = await station.startCharging({ connectorId: 1, idToken: 'TAG16', powerW: 3_600 });
      assert.equal(started.idTokenStatus, 'Queued');
      clock.advance(3_600_000);
      await station.sendMeterValues(1);
      clock.advance(3_600_000);
      const stoppedAt = clock.now().toISOString();
      await station.stopCharging(1);
      assert.equal(station.queuedMessages, 3);
      const before = csms.received.filter((r) => r.identity === id).length;
      await station.reconnect();
      const after = csms.received.filter((r) => r.identity === id).slice(before);
      assert.deepEqual(after.map((r) => r.method), ['StartTransaction', 'MeterValues', 'StopTransaction']);
      const [start, meter, stop] = after.map((r) => r.params);
      assert.equal(start.timestamp, startedAt);
      assert.equal(typeof meter.transactionId, 'number');
      assert.equal(meter.transactionId, stop.transactionId);
      assert.equal(meter.meterValue[0].sampledValue[0].value, '3600');
      assert.equal(stop.meterStop, 7200);
      assert.equal(stop.timestamp, stoppedAt);
      assert.deepEqual(csms.violations, []);
    } finally {
      await station.close();
    }
  });

  it('a connection dropped by the CSMS leaves the station offline, queueing, until it reconnects', { timeout: 20_000 }, async () => {
    const id = 'DROP-1';
    const station = createSimStation({ url: csms.url, id, ocppVersion: '2.0.1', securityProfile: 1 });
    try {
      await station.connect();
      await station.startCharging({ connectorId: 1, idToken: 'TAG-DROP' });
      const disconnected = once(station, 'disconnect');
      await csms.clients.get(id).close({ code: 1001, reason: 'going away' });
      await disconnected;
      assert.equal(station.state, 'offline');
      await station.stopCharging(1);
      assert.equal(station.queuedMessages, 1);
      await station.reconnect();
      const ended = await csms.waitFor((r) => r.identity === id && r.method === 'TransactionEvent' && r.params.eventType === 'Ended');
      assert.equal(ended.params.offline, true);
      assert.equal(ended.params.seqNo, 1);
    } finally {
      await station.close();
    }
  });
});
