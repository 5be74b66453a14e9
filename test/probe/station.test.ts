/**
 * `probe-station` against the station simulator: a well-behaved 2.0.1 station
 * (no findings) and a weak 1.6 station (downgrade accepted, unsigned firmware
 * installed), plus the CSMS-certificate check both ways.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createCa, issueServer, type TestCa } from '../sim/pki.js';
import { createSimStation, type SimStationOptions } from '../../src/sim/index.js';
import { runStationProbe, renderSarif, STATION_CHECKS, type ProbeReport, type StationProbeOptions } from '../../src/probe/index.js';

let ca: TestCa;
let server: { cert: string; key: string };
let manufacturer: TestCa;
before(async () => {
  ca = await createCa('probe-station test CA');
  server = await issueServer(ca);
  manufacturer = await createCa('Manufacturer root');
});

/** Starts the probe, connects a simulated station to it, and returns the report. */
async function probeWith(o: Partial<StationProbeOptions>, station: (url: string) => Omit<SimStationOptions, 'url'>): Promise<ProbeReport> {
  let sim: ReturnType<typeof createSimStation> | undefined;
  const report = runStationProbe({
    host: '127.0.0.1',
    port: 0,
    advertise: 'localhost',
    checkCsmsCertificate: false,
    waitSeconds: 10,
    firmwareWaitSeconds: 10,
    timeoutMs: 3000,
    ...o,
    onListening(url) {
      const base = url.replace('/<stationId>', '');
      sim = createSimStation({ url: base, ...station(base) });
      sim.connect().catch(() => undefined);
    },
  });
  try {
    return await report;
  } finally {
    await sim?.close();
  }
}

const outcomes = (r: ProbeReport) => Object.fromEntries(r.results.map((x) => [x.id, x.outcome]));

test('a well-behaved 2.0.1 station: no downgrade, no unsigned or forged firmware, survives malformed calls', async () => {
  const report = await probeWith({ tls: server }, () => ({
    id: 'PST-GOOD', ocppVersion: '2.0.1', securityProfile: 2, password: 'a-good-password-0123',
    tls: { ca: ca.certPem }, firmware: { ca: ca.certPem, manufacturerRoots: [manufacturer.certPem] },
  }));
  const detail = JSON.stringify(report.results, null, 1);
  assert.deepEqual(outcomes(report), { 'PST-002': 'pass', 'PST-003': 'pass', 'PST-004': 'pass', 'PST-005': 'pass' }, detail);
  assert.equal(report.target, 'station PST-GOOD (OCPP 2.0.1)');
  const sarif = JSON.parse(renderSarif(report, STATION_CHECKS));
  assert.deepEqual(sarif.runs[0].tool.driver.rules.map((r: any) => r.id), STATION_CHECKS.map((c) => c.id));
  assert.equal(sarif.runs[0].results.length, 0);
});

test('a weak 1.6 station: accepts a profile downgrade and installs unsigned firmware', async () => {
  const report = await probeWith({ tls: server, only: ['PST-002', 'PST-003'] }, () => ({
    id: 'PST-WEAK', ocppVersion: '1.6', securityProfile: 2, password: 'a-weak-station-0123', allowProfileDowngrade: true,
    tls: { ca: ca.certPem }, firmware: { ca: ca.certPem, securityExtension: false },
  }));
  const detail = JSON.stringify(report.results, null, 1);
  assert.deepEqual(outcomes(report), { 'PST-002': 'fail', 'PST-003': 'fail' }, detail);
  assert.match(report.results[0]!.evidence[0]!, /SecurityProfile 2 → 1: CALLRESULT \{"status":"Accepted"\}/);
  assert.ok(report.results[1]!.evidence.some((e) => /Installing/.test(e)), detail);
});

test('CSMS certificate: a verifying station refuses the untrusted listener; one that skips verification is caught', async () => {
  const good = await probeWith({ checkCsmsCertificate: true, waitSeconds: 5 }, () => ({ id: 'PST-TLS', ocppVersion: '2.0.1', securityProfile: 2, password: 'a-good-password-0123', tls: { ca: ca.certPem } }));
  assert.equal(outcomes(good)['PST-001'], 'pass', JSON.stringify(good.results));
  const weak = await probeWith({ checkCsmsCertificate: true, waitSeconds: 5 }, () => ({ id: 'PST-TLS', ocppVersion: '2.0.1', securityProfile: 2, password: 'a-good-password-0123', tls: { rejectUnauthorized: false } }));
  assert.equal(outcomes(weak)['PST-001'], 'fail', JSON.stringify(weak.results));
});

test('no station within the wait: every check is without verdict', async () => {
  const report = await runStationProbe({ host: '127.0.0.1', port: 0, advertise: 'localhost', checkCsmsCertificate: false, waitSeconds: 1, firmwareWaitSeconds: 1, timeoutMs: 500, only: ['PST-005'] });
  assert.deepEqual(outcomes(report), { 'PST-005': 'error' });
});
