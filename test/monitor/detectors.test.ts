/**
 * Each detector against the attack it is for (exactly the expected alert) and
 * against a normal fleet's day (no alert at all), through the real monitor,
 * bus and database.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalFleet, ocmfMeter, openHarness, station, type Harness } from './harness.js';
import type { Alert } from '../../src/monitor/index.js';

async function run(attack: (h: Harness) => Promise<void> | void, config = {}): Promise<{ alerts: Alert[]; h: Harness }> {
  const h = await openHarness(config);
  try {
    await attack(h);
    await h.monitor.settled();
    return { alerts: await h.monitor.listAlerts({}), h };
  } finally {
    await h.close();
  }
}

function only(alerts: Alert[], detector: string, title?: string): Alert {
  assert.equal(alerts.length, 1, `expected exactly one alert, got ${JSON.stringify(alerts.map((a) => [a.detector, a.title]))}`);
  assert.equal(alerts[0]!.detector, detector);
  if (title) assert.equal(alerts[0]!.title, title);
  return alerts[0]!;
}

test('a normal fleet day raises no alert', async () => {
  const { alerts } = await run((h) => normalFleet(h, 12));
  assert.deepEqual(alerts.map((a) => `${a.detector}: ${a.title} ${a.description}`), []);
});

test('bruteForce: password guessing against one station from one address locks out that pair only', async () => {
  const { alerts, h } = await run(async (h) => {
    const s = station(h, 'CS-1');
    for (let i = 0; i < 6; i++) {
      s.csms('InvalidStationCredentials', '203.0.113.9');
      h.clock.advance(10);
    }
    await h.monitor.settled();
    assert.equal(h.monitor.isLockedOut({ stationId: 'CS-1', remoteAddress: '203.0.113.9' })?.scope, 'pair');
    // The real station from anywhere else, and the address for other stations, are not locked out.
    assert.equal(h.monitor.isLockedOut({ stationId: 'CS-1', remoteAddress: '192.0.2.20' }), undefined);
    assert.equal(h.monitor.isLockedOut({ stationId: 'CS-2', remoteAddress: '203.0.113.9' }), undefined);
    assert.equal(h.monitor.slowedDown('CS-1'), undefined);
  });
  const a = only(alerts, 'bruteForce', 'Password brute force against a station from one address');
  assert.equal(a.severity, 'high');
  assert.equal(a.actions.length, 1);
  assert.equal(a.actions[0]!.kind, 'lockOut');
  assert.deepEqual(h.calls.map((c) => c.kind), ['lockOut']);
});

test('bruteForce: guessing one station from many addresses slows it down and alerts, but locks nothing out', async () => {
  const { alerts, h } = await run(async (h) => {
    const s = station(h, 'CS-1');
    for (let i = 0; i < 10; i++) {
      s.csms('InvalidStationCredentials', `203.0.113.${10 + i}`);
      h.clock.advance(10);
    }
    await h.monitor.settled();
    assert.equal(h.monitor.slowedDown('CS-1')?.mode, 'slow');
    assert.equal(h.monitor.isLockedOut({ stationId: 'CS-1', remoteAddress: '192.0.2.20' }), undefined);
    assert.equal(h.monitor.isLockedOut({ stationId: 'CS-1', remoteAddress: '203.0.113.10' }), undefined);
  });
  const a = only(alerts, 'bruteForce', 'Distributed password guessing against a station');
  assert.equal(a.actions[0]!.kind, 'lockOut');
  assert.deepEqual(h.calls.map((c) => c.args[0]), [{ stationId: 'CS-1', remoteAddress: undefined }]);
});

test('bruteForce: one address trying many stations', async () => {
  const { alerts } = await run(async (h) => {
    for (let i = 0; i < 10; i++) {
      station(h, `CS-${i}`).csms('InvalidStationCredentials', '198.51.100.7');
      h.clock.advance(5);
    }
    await h.monitor.settled();
    assert.equal(h.monitor.isLockedOut({ remoteAddress: '198.51.100.7' })?.scope, 'address');
    assert.equal(h.monitor.isLockedOut({ stationId: 'CS-1', remoteAddress: '192.0.2.20' }), undefined);
  });
  only(alerts, 'bruteForce', 'Password brute force from one address');
});

test('bruteForce: failed logins on the local maintenance interface', async () => {
  const { alerts, h } = await run((h) => {
    for (let i = 0; i < 5; i++) station(h, 'CS-1').event('MaintenanceLoginFailed', "{'user':'admin','origin':'usb'}");
  });
  const a = only(alerts, 'bruteForce', 'Brute force on the local maintenance interface');
  assert.equal(a.actions.length, 0, 'locking out the OCPP link would not help');
  assert.equal(h.calls.length, 0);
});

test('duplicateIdentity: a second session for a live station from another address', async () => {
  const { alerts } = await run((h) => {
    station(h, 'CS-1').connect('10.0.0.1');
    station(h, 'CS-1').connect('203.0.113.50');
    station(h, 'CS-1').csms('DuplicateIdentity', '203.0.113.50');
  });
  const a = only(alerts, 'duplicateIdentity');
  assert.equal(a.count, 2, 'the transport report aggregates into the same alert');
});

test('duplicateIdentity: a refused second connection from the same address is not said to come from another', async () => {
  const { alerts } = await run((h) => {
    station(h, 'CS-1').connect('10.0.0.1');
    station(h, 'CS-1').csms('DuplicateIdentity', '10.0.0.1');
  });
  const a = only(alerts, 'duplicateIdentity');
  assert.doesNotMatch(a.description ?? '', /another address/);
  assert.match(a.description ?? '', /second connection claiming station CS-1 from 10\.0\.0\.1 was refused/);
});

test('downgrade: reconnecting with a weaker security profile', async () => {
  const { alerts } = await run((h) => {
    const s = station(h, 'CS-1');
    s.connect('10.0.0.1', 3);
    s.disconnect();
    s.connect('10.0.0.1', 1);
  });
  const a = only(alerts, 'downgrade');
  assert.deepEqual([a.evidence.previousProfile, a.evidence.securityProfile], [3, 1]);
});

test('invalidFlood: a burst of malformed frames', async () => {
  const { alerts } = await run((h) => {
    for (let i = 0; i < 25; i++) station(h, 'CS-1').csms('InvalidMessage', '10.0.0.1', 'not JSON');
  });
  only(alerts, 'invalidFlood');
});

test('replay: a TransactionEvent seqNo goes backwards', async () => {
  const { alerts } = await run((h) => {
    const s = station(h, 'CS-1');
    s.tx('T1', 'Started', 0, { energyWh: 100 });
    h.clock.advance(60);
    s.tx('T1', 'Updated', 1, { energyWh: 200 });
    h.clock.advance(60);
    s.tx('T1', 'Updated', 2, { energyWh: 300 });
    h.clock.advance(60);
    s.tx('T1', 'Updated', 1, { energyWh: 200 }); // captured message sent again later
  });
  only(alerts, 'replay', 'TransactionEvent sequence number regression');
});

test('replay: reused message ids and stale timestamps', async () => {
  const { alerts } = await run((h) => {
    for (let i = 0; i < 3; i++) station(h, 'CS-1').csms('ReplayedMessageId', '10.0.0.1', 'id 42');
    for (let i = 0; i < 3; i++) station(h, 'CS-1').csms('StaleTimestamp', '10.0.0.1');
  });
  const a = only(alerts, 'replay');
  assert.equal(a.count, 2);
});

test('clockSkew: a station an hour in the future', async () => {
  const { alerts } = await run((h) => {
    const future = new Date(h.clock.t + 3600_000).toISOString();
    for (let i = 0; i < 3; i++) station(h, 'CS-1').status('Available', future);
  });
  const a = only(alerts, 'clockSkew');
  assert.equal(a.evidence.skewSeconds, 3600);
});

test('meterPlausibility: the energy register goes down', async () => {
  const { alerts } = await run((h) => {
    const s = station(h, 'CS-1');
    s.tx('T1', 'Started', 0, { energyWh: 50_000 });
    h.clock.advance(600);
    s.tx('T1', 'Updated', 1, { energyWh: 51_000 });
    h.clock.advance(600);
    s.tx('T1', 'Updated', 2, { energyWh: 20_000 });
  });
  only(alerts, 'meterPlausibility', 'Energy register decreased');
});

test('meterPlausibility: more energy than the connector can deliver', async () => {
  const { alerts } = await run((h) => {
    const s = station(h, 'CS-1');
    s.tx('T1', 'Started', 0, { energyWh: 0 });
    h.clock.advance(60); // 350 kW for one minute is 5.8 kWh at most
    s.tx('T1', 'Updated', 1, { energyWh: 40_000 });
  });
  only(alerts, 'meterPlausibility', 'Energy beyond connector maximum power');
});

test('meterPlausibility: a message the record held out as implausible alerts on its sender; late samples are no reading', async () => {
  const { alerts } = await run((h) => {
    const s = station(h, 'CS-1');
    s.tx('T1', 'Started', 0, { energyWh: 1000, powerW: 0 });
    h.clock.advance(60);
    s.tx('T1', 'Updated', 1, { energyWh: 1100, powerW: 6000 });
    h.clock.advance(60);
    // Lower than before, but the record kept it as a late sample: nothing to say.
    s.tx('T1', 'Updated', 2, { energyWh: 900, flags: ['late'] });
    s.tx('T1', 'Updated', 3, { energyWh: 1e15, flags: ['implausible:registerTooLarge'] });
  });
  const a = only(alerts, 'meterPlausibility', 'Implausible meter data held out of billing and load');
  assert.equal(a.stationId, 'CS-1');
});

test('strandedTransactions: refused and abandoned transactions piling up on one station', async () => {
  const { alerts } = await run((h) => {
    const s = station(h, 'CS-1');
    for (let i = 0; i < 3; i++) {
      s.tx(`R${i}`, 'Started', 0, { state: 'Refused' });
      s.tx(`R${i}`, 'Ended', 1, { state: 'Refused' }); // the same refused transaction counts once
      h.clock.advance(300);
    }
    s.tx('A1', 'Ended', 2, { state: 'Abandoned', flags: ['abandoned'] });
    station(h, 'CS-2').tx('R9', 'Started', 0, { state: 'Refused' });
    s.tx('A2', 'Ended', 2, { state: 'Abandoned', flags: ['abandoned'] });
  });
  const a = only(alerts, 'strandedTransactions');
  assert.equal(a.stationId, 'CS-1');
});

test('loadSwing: power from messages the record held back is no load step', async () => {
  const { alerts } = await run((h) => {
    for (let i = 0; i < 25; i++) station(h, `CS-${i}`).tx('T1', 'Updated', 1, { powerW: 1e308, flags: ['implausible:powerAboveRating'] });
  }, { detectors: { loadSwing: { thresholds: { stations: 10 } } } });
  assert.deepEqual(alerts.filter((a) => a.detector === 'loadSwing'), []);
});

test('signedMeter: a payload altered after signing fails verification', async () => {
  const meter = ocmfMeter('MTR-1');
  const begin = await meter.sign(10, 'B');
  const end = await meter.sign(25, 'E');
  const forged = end.raw.replace('"RV":25', '"RV":2.5');
  const { alerts } = await run((h) => {
    const s = station(h, 'CS-1');
    s.tx('T1', 'Started', 0, { signedMeterValues: [begin.entry] });
    s.tx('T1', 'Ended', 1, { signedMeterValues: [{ ...end.entry, signedMeterData: Buffer.from(forged).toString('base64') }] });
  });
  const a = only(alerts, 'signedMeter', 'Signed meter data failed verification');
  assert.equal(a.severity, 'critical');
});

test('signedMeter: an old dataset replayed into a new transaction, and a second meter serial', async () => {
  const meter = ocmfMeter('MTR-1');
  const other = ocmfMeter('MTR-2');
  const b1 = await meter.sign(10, 'B');
  const e1 = await meter.sign(20, 'E');
  const foreign = await other.sign(30, 'E');
  const { alerts } = await run((h) => {
    const s = station(h, 'CS-1');
    s.tx('T1', 'Started', 0, { signedMeterValues: [b1.entry] });
    s.tx('T1', 'Ended', 1, { signedMeterValues: [e1.entry] });
    s.tx('T2', 'Started', 0, { signedMeterValues: [b1.entry] });
    s.tx('T2', 'Ended', 1, { signedMeterValues: [foreign.entry] });
  });
  assert.deepEqual(alerts.map((a) => a.title).sort(), ['Meter serial changed within a transaction', 'Signed meter dataset replayed']);
});

test('signedMeter: error flags and a manipulated meter status', async () => {
  const meter = ocmfMeter('MTR-1');
  const bad = await meter.sign(10, 'B', {}, { ST: 'M', EF: 'E' });
  const { alerts } = await run((h) => station(h, 'CS-1').tx('T1', 'Started', 0, { signedMeterValues: [bad.entry] }));
  const a = only(alerts, 'signedMeter');
  assert.equal(a.severity, 'critical');
  assert.equal(a.count, 2);
});

test('tamper: the specification event and a vendor equivalent', async () => {
  const { alerts } = await run((h) => {
    station(h, 'CS-1').event('TamperDetectionActivated');
    station(h, 'CS-1').event('AcmeEnclosureOpened');
  }, { detectors: { tamper: { responses: ['setUnavailable', 'notify'] } } });
  const a = only(alerts, 'tamper');
  assert.equal(a.severity, 'critical');
  assert.deepEqual(a.actions.map((x) => x.kind), ['setUnavailable'], 'acted on once per alert');
});

test('rebootStorm: five boots in half an hour', async () => {
  const { alerts } = await run((h) => {
    for (let i = 0; i < 5; i++) {
      station(h, 'CS-1').boot('1.0.0');
      h.clock.advance(360);
    }
  });
  only(alerts, 'rebootStorm');
});

test('flapping: ten connections in five minutes', async () => {
  const { alerts } = await run((h) => {
    const s = station(h, 'CS-1');
    for (let i = 0; i < 10; i++) {
      s.connect('10.0.0.1');
      h.clock.advance(15);
      s.disconnect();
      h.clock.advance(15);
    }
  });
  only(alerts, 'flapping');
});

test('firmwareCertificate: firmware changed across a reboot without an update', async () => {
  const { alerts } = await run((h) => {
    station(h, 'CS-1').boot('1.0.0');
    h.clock.advance(3600);
    station(h, 'CS-1').boot('6.6.6');
  });
  only(alerts, 'firmwareCertificate', 'Firmware changed without an update');
});

test('firmwareCertificate: the station rejects the CSMS certificate, and firmware with a bad signature', async () => {
  const { alerts } = await run((h) => {
    station(h, 'CS-1').event('InvalidCentralSystemCertificate'); // 1.6 name of InvalidCsmsCertificate
    station(h, 'CS-2').firmware('InvalidSignature');
  });
  assert.deepEqual(alerts.map((a) => `${a.detector}/${a.stationId}`).sort(), ['firmwareCertificate/CS-1', 'firmwareCertificate/CS-2']);
});

test('criticalEvent: the security log was cleared', async () => {
  const { alerts } = await run((h) => station(h, 'CS-1').event('SecurityLogWasCleared'));
  only(alerts, 'criticalEvent', 'Security log cleared on station');
});

test('a disabled detector stays silent', async () => {
  const { alerts } = await run((h) => station(h, 'CS-1').event('TamperDetectionActivated'), { detectors: { tamper: { enabled: false } } });
  assert.equal(alerts.length, 0);
});
