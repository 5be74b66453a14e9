/**
 * The probe against a deliberately weak OCPP server (every check that can
 * fail there must fail) and against a real evguard node (default
 * configuration: no finding at or above medium; misconfigured: the matching
 * findings appear).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWeakServer, type WeakServer } from './weak-server.js';
import { startTestNode, testDatabases, type TestNode } from '../support/node.js';
import { stationCsr } from '../support/pki.js';
import { runProbe, DEFAULT_OPTIONS, findingsAtOrAbove, CHECKS, type ProbeOptions, type ProbeReport } from '../../src/probe/index.js';

const failed = (r: ProbeReport) => r.results.filter((x) => x.outcome === 'fail').map((x) => x.id).sort();
const outcome = (r: ProbeReport, id: string) => r.results.find((x) => x.id === id)?.outcome;

function opts(o: Partial<ProbeOptions> & { url: string }): ProbeOptions {
  return { ...DEFAULT_OPTIONS, timeoutMs: 3000, ...o };
}

describe('probe against a deliberately weak OCPP server', () => {
  let weak: WeakServer;
  before(async () => {
    weak = await startWeakServer();
  });
  after(() => weak.close());

  test('plain ws://: credentials, identities, subprotocols, sessions, replay, frames and load checks all find the weakness', async () => {
    const report = await runProbe(opts({ url: weak.ws, password: 'any-password-at-all', otherStationId: 'OTHER01', otherPassword: 'x', aggressive: true, slowSeconds: 2, maxMessages: 200 }));
    const expected = ['AUTH-001', 'AUTH-002', 'AUTH-003', 'AUTH-004', 'TLS-001', 'WS-001', 'WS-002', 'SES-001', 'SES-002', 'TX-001', 'MSG-001', 'MSG-002', 'MSG-004', 'MSG-005', 'DOS-001', 'DOS-002'];
    for (const id of expected) assert.equal(outcome(report, id), 'fail', `${id}: ${JSON.stringify(report.results.find((x) => x.id === id))}`);
    for (const id of ['TLS-002', 'TLS-003', 'TLS-004', 'TLS-005', 'TLS-006', 'TLS-007', 'TLS-008', 'TLS-009']) assert.equal(outcome(report, id), 'skip', id);
    assert.ok(report.notes.some((n) => /plain ws/.test(n)));
    assert.ok(findingsAtOrAbove(report, 'critical').length >= 3);
    // Every result carries what a reader needs to act on it.
    for (const r of report.results) {
      assert.ok(r.basis.length > 10 && r.remedy.length > 10 && r.title && r.severity, r.id);
      assert.ok(r.evidence.length > 0, `${r.id} has evidence`);
    }
  });

  test('wss:// with TLS 1.0, weak suites and an expired self-signed certificate for another host', async () => {
    const report = await runProbe(opts({ url: weak.wss, password: 'pw', only: ['TLS-002', 'TLS-003', 'TLS-009', 'TLS-004', 'TLS-005', 'TLS-006'] }));
    assert.deepEqual(failed(report), ['TLS-002', 'TLS-003', 'TLS-004', 'TLS-005', 'TLS-006', 'TLS-009']);
    assert.equal(report.serverCertificateVerified, true);
  });

  test('--insecure skips the certificate checks and the report says so', async () => {
    const report = await runProbe(opts({ url: weak.wss, password: 'pw', insecure: true, only: ['TLS-004', 'TLS-005', 'TLS-006'] }));
    assert.deepEqual(report.results.map((r) => r.outcome), ['skip', 'skip', 'skip']);
    assert.equal(report.serverCertificateVerified, false);
    assert.ok(report.notes.some((n) => /NOT verified/.test(n)));
  });

  test('a server that dies on broken JSON is reported as not alive', async () => {
    const crashy = await startWeakServer({ crashOnMalformed: true });
    try {
      const report = await runProbe(opts({ url: crashy.ws, password: 'pw', timeoutMs: 1500, only: ['MSG-002', 'MSG-006'] }));
      assert.equal(crashy.crashed(), true);
      assert.deepEqual(failed(report), ['MSG-002', 'MSG-006']);
    } finally {
      await crashy.close();
    }
  });

  test('aggressive checks are skipped unless asked for', async () => {
    const report = await runProbe(opts({ url: weak.ws, only: ['DOS-001', 'DOS-002'] }));
    assert.deepEqual(report.results.map((r) => r.outcome), ['skip', 'skip']);
  });
});

for (const db of testDatabases()) {
  describe(`probe against a real evguard node (${db})`, () => {
    let node: TestNode;
    let ca: string[];
    before(async () => {
      node = await startTestNode({ db });
      ca = node.app.trust.listCas().map((c) => c.pem).filter(Boolean);
    });
    after(() => node.stop());

    test('default configuration, profile 2: no finding at or above medium', async () => {
      const a = await node.api('POST', '/api/v1/stations', { id: 'PRB-A', securityProfile: 2 });
      const b = await node.api('POST', '/api/v1/stations', { id: 'PRB-B', securityProfile: 2 });
      const report = await runProbe(opts({ url: node.wss, stationId: 'PRB-A', password: a.body.password, ca, otherStationId: 'PRB-B', otherPassword: b.body.password, plainUrl: node.ws, aggressive: true, slowSeconds: 2 }));
      const detail = JSON.stringify(report.results.filter((r) => r.outcome !== 'pass' && r.outcome !== 'skip'), null, 1);
      assert.deepEqual(findingsAtOrAbove(report, 'medium'), [], detail);
      assert.equal(report.summary.error, 0, detail);
      // Known and accepted: the OCPP-required RSA suites (info) and Node's 60 s header timeout (low, see docs/probe.md).
      for (const id of failed(report)) assert.ok(['TLS-009', 'DOS-002'].includes(id), `${id}: ${detail}`);
      for (const id of ['AUTH-001', 'AUTH-002', 'AUTH-003', 'AUTH-004', 'TLS-001', 'TLS-002', 'TLS-003', 'TLS-004', 'TLS-005', 'TLS-006', 'SES-001', 'SES-002', 'TX-001', 'MSG-001', 'MSG-002', 'MSG-003', 'MSG-004', 'MSG-005', 'MSG-006', 'DOS-001']) {
        assert.equal(outcome(report, id), 'pass', `${id}: ${detail}`);
      }
    });

    test('profile 3: forged and borrowed client certificates are refused', async () => {
      await node.api('POST', '/api/v1/stations', { id: 'PRB-3A', securityProfile: 3 });
      await node.api('POST', '/api/v1/stations', { id: 'PRB-3B', securityProfile: 3 });
      const { csrPem, keyPem } = await stationCsr('PRB-3A', node.app.config.organization);
      const signed = await node.app.trust.signStationCsr({ csrPem, stationId: 'PRB-3A' });
      const report = await runProbe(opts({ url: node.wss, stationId: 'PRB-3A', cert: signed.certificateChainPem, key: keyPem, ca, otherStationId: 'PRB-3B', only: ['AUTH-001', 'AUTH-002', 'TLS-007', 'TLS-008', 'SES-002', 'MSG-006'] }));
      const detail = JSON.stringify(report.results, null, 1);
      assert.deepEqual(report.results.map((r) => r.outcome), ['pass', 'pass', 'pass', 'pass', 'pass', 'pass'], detail);
    });
  });
}

describe('probe against evguard deliberately misconfigured', () => {
  test('unknown stations allowed, no rate or frame limit: AUTH-003, DOS-001 and MSG-004 find it', async () => {
    const node = await startTestNode({ db: 'sqlite', config: { ocpp: { allowUnknown: true, ratePerSecond: 1_000_000, rateBurst: 1_000_000, maxFrameBytes: 8 * 1024 * 1024 } } });
    try {
      const a = await node.api('POST', '/api/v1/stations', { id: 'PRB-M', securityProfile: 1 });
      const report = await runProbe(opts({ url: node.ws, stationId: 'PRB-M', password: a.body.password, aggressive: true, maxMessages: 150, only: ['AUTH-003', 'DOS-001', 'MSG-004', 'AUTH-001', 'TLS-001'] }));
      const detail = JSON.stringify(report.results, null, 1);
      assert.deepEqual(failed(report), ['AUTH-003', 'DOS-001', 'MSG-004', 'TLS-001'], detail);
      assert.equal(outcome(report, 'AUTH-001'), 'pass', detail);
    } finally {
      await node.stop();
    }
  });
});

test('the catalogue: unique ids, each with a basis and a remedy', () => {
  const ids = CHECKS.map((c) => c.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const c of CHECKS) assert.ok(c.basis && c.remedy && c.description && c.title, c.id);
});

test('an unreachable target gives no verdicts, never a pass', async () => {
  const report = await runProbe(opts({ url: 'ws://127.0.0.1:9/ocpp', password: 'pw', timeoutMs: 1000 }));
  const passes = report.results.filter((r) => r.outcome === 'pass' || r.outcome === 'fail');
  assert.deepEqual(passes, []);
  assert.ok(report.notes.some((n) => /No check reached a verdict/.test(n)));
});
