/** The detectors for what the CSMS itself finds: expiring certificates and shared threat indicators. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openHarness } from './harness.js';

async function alertsFor(events: { stationId?: string; remoteAddress?: string; type: string; techInfo?: string }[]) {
  const h = await openHarness();
  try {
    for (const e of events) await h.monitor.recordSecurityEvent({ ...e, source: 'csms', critical: false, timestamp: h.clock.iso() });
    await h.monitor.settled();
    return await h.monitor.listAlerts({});
  } finally {
    await h.close();
  }
}

test('certificateExpiry: one alert per certificate, high when only days are left', async () => {
  const alerts = await alertsFor([
    { stationId: 'CS-1', type: 'CertificateExpiring', techInfo: 'ChargingStationCertificate 0a1b2c expires 2025-03-10T00:00:00.000Z (9 days)' },
    { stationId: 'CS-1', type: 'CertificateExpiring', techInfo: 'ChargingStationCertificate 0a1b2c expires 2025-03-10T00:00:00.000Z (9 days)' },
    { stationId: 'CS-2', type: 'CertificateExpiring', techInfo: 'V2GCertificate ffee01 expires 2025-03-02T00:00:00.000Z (1 days)' },
  ]);
  assert.equal(alerts.length, 2, JSON.stringify(alerts));
  const one = alerts.find((a) => a.stationId === 'CS-1')!;
  const two = alerts.find((a) => a.stationId === 'CS-2')!;
  assert.equal(one.detector, 'certificateExpiry');
  assert.equal(one.severity, 'medium');
  assert.equal(two.severity, 'high');
  assert.equal((two.evidence as any).serialHex, 'ffee01');
});

test('threatIndicator: a sighting and a refused connection raise high alerts; other CSMS events do not', async () => {
  const alerts = await alertsFor([
    { stationId: 'CS-9', remoteAddress: '198.51.100.7', type: 'IndicatorSighted', techInfo: 'station id matches shared indicator x' },
    { stationId: 'CS-8', remoteAddress: '203.0.113.5', type: 'BlockedByIndicator', techInfo: 'address matches shared indicator y' },
    { stationId: 'CS-7', type: 'CsrRejected', techInfo: 'CN does not match' },
  ]);
  assert.deepEqual(alerts.map((a) => [a.detector, a.severity, a.stationId]).sort(), [
    ['threatIndicator', 'high', 'CS-8'],
    ['threatIndicator', 'high', 'CS-9'],
  ]);
});
