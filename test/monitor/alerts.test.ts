/** Security event storage, alert aggregation and lifecycle, automatic responses and their undo. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Topics } from '../../src/bus/events.js';
import { EvguardError } from '../../src/errors.js';
import { isCritical } from '../../src/monitor/index.js';
import { Clock, openHarness, station } from './harness.js';
import { publishUntyped } from '../support/bus.js';

test('the security event catalogue flags critical events per OCPP version', () => {
  assert.equal(isCritical('TamperDetectionActivated', '1.6'), true);
  assert.equal(isCritical('InvalidFirmwareSignature', '1.6'), false);
  assert.equal(isCritical('InvalidFirmwareSignature', '2.0.1'), true);
  assert.equal(isCritical('MaintenanceLoginFailed', '1.6'), false);
  assert.equal(isCritical('MaintenanceLoginAccepted', '2.0.1'), true);
  assert.equal(isCritical('DiscardedRenewedClientCertificate', '2.0.1'), false);
  assert.equal(isCritical('DiscardedRenewedClientCertificate', '2.1'), true);
  assert.equal(isCritical('InvalidMessages', '2.1'), false);
  assert.equal(isCritical('AcmeVendorEvent', '2.1'), false);
  assert.equal(isCritical('toString', '2.1'), false);
  assert.equal(isCritical('TamperDetectionActivated', '9.9' as never), false);
});

test('recordSecurityEvent stores both sources, keeps vendor types and publishes with the id', async () => {
  const h = await openHarness();
  try {
    const seen: unknown[] = [];
    h.bus.subscribe(Topics.securityEvent, (e) => seen.push(e.data));
    const id1 = await h.monitor.recordSecurityEvent({ stationId: 'CS-1', type: 'AcmeFanStalled', source: 'station', critical: false, techInfo: 'x'.repeat(5000), timestamp: 'not a date' });
    const id2 = await h.monitor.recordSecurityEvent({ stationId: 'CS-1', type: 'DuplicateIdentity', source: 'csms', critical: false, remoteAddress: '203.0.113.1', timestamp: h.clock.iso() });
    assert.ok(id2 > id1);
    const events = await h.monitor.listSecurityEvents({ stationId: 'CS-1' });
    assert.deepEqual(events.map((e) => [e.id, e.type, e.source, e.critical]), [[id2, 'DuplicateIdentity', 'csms', true], [id1, 'AcmeFanStalled', 'station', false]]);
    assert.equal(events[1]!.techInfo!.length, 1000);
    assert.equal(events[1]!.timestamp, h.clock.iso(), 'an unreadable timestamp becomes the receive time');
    assert.equal(seen.length, 2);
    assert.equal((seen[0] as { id: number }).id, id1);
    await assert.rejects(h.monitor.recordSecurityEvent({ type: '', source: 'station', critical: false, timestamp: '' }), (e: EvguardError) => e.code === 'MONITOR_EVENT_INVALID');
    await assert.rejects(h.monitor.listSecurityEvents({ limit: 0 }), (e: EvguardError) => e.code === 'MONITOR_QUERY_INVALID');
    await assert.rejects(h.monitor.listSecurityEvents({ since: 'yesterday' }), (e: EvguardError) => e.code === 'MONITOR_QUERY_INVALID');
    assert.equal((await h.monitor.listSecurityEvents({ since: '2999-01-01T00:00:00Z' })).length, 0);
  } finally {
    await h.close();
  }
});

test('events published straight on the bus are stored too, and garbage payloads crash nothing', async () => {
  const h = await openHarness();
  try {
    h.bus.publish(Topics.securityEvent, { stationId: 'CS-2', type: 'TamperDetectionActivated', source: 'station', critical: true, timestamp: h.clock.iso() });
    for (const garbage of [null, 42, 'x', [], { type: 7 }, { stationId: {}, type: ['a'] }, { seqNo: -1, transactionId: 'T', stationId: 'S', signedMeterValues: [{ signedMeterData: 'OCMF|{|}' }, null, 5] }]) {
      for (const topic of Object.values(Topics)) publishUntyped(h.bus, topic, garbage);
    }
    publishUntyped(h.bus, Topics.transactionChanged, { stationId: 'S', transactionId: 'T', seqNo: 1, signedMeterValues: [{ signedMeterData: 'A'.repeat(100_000), encodingMethod: 'OCMF' }] });
    await h.monitor.settled();
    const events = await h.monitor.listSecurityEvents({});
    assert.equal(events.filter((e) => e.stationId === 'CS-2').length, 1);
    const alerts = await h.monitor.listAlerts({});
    assert.ok(alerts.some((a) => a.detector === 'tamper'));
  } finally {
    await h.close();
  }
});

test('alerts aggregate while unresolved and walk open → acknowledged → resolved with who and when', async () => {
  const h = await openHarness();
  try {
    const changes: string[] = [];
    h.bus.subscribe('alert.*', (e) => changes.push(e.topic));
    station(h, 'CS-1').event('TamperDetectionActivated');
    await h.monitor.settled();
    h.clock.advance(60);
    station(h, 'CS-1').event('TamperDetectionActivated');
    await h.monitor.settled();
    let [alert] = await h.monitor.listAlerts({ stationId: 'CS-1' });
    assert.equal(alert!.count, 2);
    assert.equal(alert!.state, 'open');
    assert.notEqual(alert!.updatedAt, alert!.createdAt);

    alert = await h.monitor.acknowledge(alert!.id, 'olga', 'looking at it');
    assert.deepEqual([alert.state, alert.acknowledgedBy, alert.acknowledgedAt], ['acknowledged', 'olga', h.clock.iso()]);
    await assert.rejects(h.monitor.acknowledge(alert.id, 'olga'), (e: EvguardError) => e.code === 'MONITOR_ALERT_STATE');
    alert = await h.monitor.comment(alert.id, 'olga', 'technician on site');
    h.clock.advance(600);
    alert = await h.monitor.resolve(alert.id, 'piet', 'cabinet closed, seal replaced');
    assert.deepEqual([alert.state, alert.resolvedBy, alert.resolvedAt], ['resolved', 'piet', h.clock.iso()]);
    assert.deepEqual(alert.comments.map((c) => [c.by, c.text]), [['olga', 'looking at it'], ['olga', 'technician on site'], ['piet', 'cabinet closed, seal replaced']]);
    await assert.rejects(h.monitor.resolve(alert.id, 'piet'), (e: EvguardError) => e.code === 'MONITOR_ALERT_STATE');
    await assert.rejects(h.monitor.acknowledge('nope', 'piet'), (e: EvguardError) => e.code === 'MONITOR_ALERT_NOT_FOUND' && e.status === 404);

    // After resolution the same attack opens a new alert.
    station(h, 'CS-1').event('TamperDetectionActivated');
    await h.monitor.settled();
    assert.equal((await h.monitor.listAlerts({ state: 'open' })).length, 1);
    assert.equal((await h.monitor.listAlerts({ state: 'resolved' })).length, 1);
    assert.deepEqual(changes.filter((t) => t === 'alert.raised').length, 2);
  } finally {
    await h.close();
  }
});

test('lock-outs expire with the clock, survive a restart, and an operator can undo them', async () => {
  const clock = new Clock();
  const h = await openHarness({ detectors: { bruteForce: { lockoutSeconds: 600 } } }, { clock });
  const dir = h.dir;
  let reopened: Awaited<ReturnType<typeof openHarness>> | undefined;
  try {
    for (let i = 0; i < 5; i++) station(h, 'CS-1').csms('InvalidStationCredentials', '203.0.113.9');
    await h.monitor.settled();
    const pair = { stationId: 'CS-1', remoteAddress: '203.0.113.9' };
    const lock = h.monitor.isLockedOut(pair);
    assert.equal(lock?.until, new Date(clock.t + 600_000).toISOString());
    assert.equal(lock?.scope, 'pair');
    assert.deepEqual(h.calls[0]!.args[0], pair);
    await h.monitor.close();
    await h.database.close();

    reopened = await openHarness({}, { dir, clock });
    assert.ok(reopened.monitor.isLockedOut(pair), 'a restart does not forgive');
    const [alert] = await reopened.monitor.listAlerts({});
    const actionId = alert!.actions[0]!.id;
    await reopened.monitor.undoAction(actionId, 'olga');
    assert.equal(reopened.monitor.isLockedOut(pair), undefined);
    assert.deepEqual(reopened.calls.map((c) => c.kind), ['undo']);
    const after = await reopened.monitor.getAlert(alert!.id);
    assert.equal(after.actions[0]!.undone, true);
    await assert.rejects(reopened.monitor.undoAction(actionId, 'olga'), (e: EvguardError) => e.code === 'MONITOR_ACTION_UNDONE');
    await assert.rejects(reopened.monitor.undoAction('missing', 'olga'), (e: EvguardError) => e.code === 'MONITOR_ACTION_NOT_FOUND');

    for (let i = 0; i < 5; i++) station(reopened, 'CS-9').csms('InvalidStationCredentials', '203.0.113.9');
    await reopened.monitor.settled();
    assert.ok(reopened.monitor.isLockedOut({ stationId: 'CS-9', remoteAddress: '203.0.113.9' }));
    clock.advance(901); // the reopened monitor uses the default 900 s
    assert.equal(reopened.monitor.isLockedOut({ stationId: 'CS-9', remoteAddress: '203.0.113.9' }), undefined);
  } finally {
    await reopened?.close();
    await import('node:fs').then((fs) => fs.rmSync(dir, { recursive: true, force: true }));
  }
});

test('each response kind goes through the core, failures are recorded and do not stop the rest', async () => {
  const h = await openHarness(
    { detectors: { tamper: { responses: ['quarantine', 'setUnavailable', 'revokeCertificate', 'refuseConnection', 'notify'], severity: 'high' } } },
    { failing: ['revokeCertificate'] },
  );
  try {
    station(h, 'CS-1').event('TamperDetectionActivated');
    await h.monitor.settled();
    // What reaches the station's session runs before what ends it, whatever order the config lists.
    assert.deepEqual(h.calls.map((c) => [c.kind, c.args[0]]), [['setUnavailable', 'CS-1'], ['revokeCertificate', 'CS-1'], ['quarantine', 'CS-1'], ['disconnect', 'CS-1']]);
    const [alert] = await h.monitor.listAlerts({});
    assert.equal(alert!.severity, 'high', 'configured severity wins');
    assert.deepEqual(alert!.actions.map((a) => [a.kind, a.outcome]), [['setUnavailable', 'ok'], ['revokeCertificate', 'failed'], ['quarantine', 'ok'], ['refuseConnection', 'ok']]);
  } finally {
    await h.close();
  }
});

test('configuration mistakes are refused with a message that names them', async () => {
  await assert.rejects(openHarness({ detectors: { nonsense: {} } as never }), /Unknown detector "nonsense"/);
  await assert.rejects(openHarness({ detectors: { tamper: { responses: ['explode' as never] } } }), /unknown response "explode"/);
  await assert.rejects(openHarness({ syslog: { host: 'x', port: 0, protocol: 'udp' } }), /syslog needs/);
  await assert.rejects(openHarness({ webhooks: [{ url: 'file:///etc/passwd' }] }), /http/);
});
