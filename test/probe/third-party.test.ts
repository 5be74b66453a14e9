/** The probe against a third-party OCPP server: ocpp-rpc's RPCServer as its README sets it up (docs/examples/probe-ocpp-rpc.*). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startOcppRpcServer } from './ocpp-rpc-server.js';
import { runProbe, DEFAULT_OPTIONS } from '../../src/probe/index.js';

test('ocpp-rpc RPCServer (README setup): accept-all auth, duplicate sessions, replays, wrong codes, no frame or rate limit', async () => {
  const server = await startOcppRpcServer();
  try {
    const report = await runProbe({ ...DEFAULT_OPTIONS, url: server.url, password: 'example-password-123', otherStationId: 'EVGPROBE02', otherPassword: 'x', aggressive: true, maxMessages: 150, slowSeconds: 2, timeoutMs: 3000, paceMs: 0 });
    const by = Object.fromEntries(report.results.map((r) => [r.id, r]));
    for (const id of ['AUTH-001', 'AUTH-002', 'AUTH-003', 'TLS-001', 'WS-001', 'WS-002', 'SES-001', 'SES-002', 'MSG-001', 'MSG-003', 'MSG-004', 'DOS-001']) assert.equal(by[id]!.outcome, 'fail', `${id}: ${JSON.stringify(by[id])}`);
    // What the library does right: strict validation answers malformed frames, stray responses are ignored, it stays up.
    for (const id of ['MSG-002', 'MSG-005', 'MSG-006', 'SES-003', 'MSG-007', 'MSG-008', 'WS-003', 'DOS-003', 'LIVE-001']) assert.equal(by[id]!.outcome, 'pass', `${id}: ${JSON.stringify(by[id])}`);
    assert.match(by['MSG-003']!.evidence.join(' '), /unknown action: ProtocolError, expected NotImplemented/);
    // It answers every TransactionEvent and keeps no transactions: an answer alone is no finding.
    assert.equal(by['TX-001']!.outcome, 'skip');
    assert.equal(report.complete, true);
  } finally {
    await server.close();
  }
});
