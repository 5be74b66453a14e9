/**
 * /metrics as Prometheus' own tool reads it (promtool check metrics, from
 * Debian's prometheus package), and the figures an operator alerts on:
 * handshakes by outcome and security profile, authentication failures,
 * lock-outs, alerts by detector and severity, per-action latency, build info.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { eventually, startTestNode, type TestNode } from '../support/node.js';

describe('metrics', { timeout: 120_000 }, () => {
  let node: TestNode;
  const scrape = async () => {
    // Sends the admin token: /metrics may require one.
    const res = await fetch(`${node.http}/metrics`, { headers: { authorization: `Bearer ${node.adminToken}` } });
    assert.equal(res.status, 200);
    return res.text();
  };
  const sample = (text: string, name: string, labels: Record<string, string>) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : undefined;
  };
  /** Opens a profile-1 OCPP 2.0.1 connection; resolves 'open' or the refusal status. */
  const connect = (password: string) => new Promise<{ status: number | 'open'; ws?: WebSocket }>((resolve) => {
    const ws = new WebSocket(`${node.ws}/MET1`, ['ocpp2.0.1'], { headers: { authorization: `Basic ${Buffer.from(`MET1:${password}`).toString('base64')}` } });
    ws.once('open', () => resolve({ status: 'open', ws }));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode! }));
    ws.once('error', () => undefined);
  });

  before(async () => {
    node = await startTestNode({ db: 'sqlite' });
    assert.equal((await node.api('POST', '/api/v1/stations', { id: 'MET1', securityProfile: 1, password: 'metrics-station-pass-1' })).status, 201);
  });
  after(() => node.stop());

  test('promtool check metrics passes on the exposition', async () => {
    const check = spawnSync('promtool', ['check', 'metrics'], { input: await scrape(), encoding: 'utf8' });
    assert.ifError(check.error); // promtool missing: apt-get install prometheus (.ci/run does)
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
    assert.equal(`${check.stdout}${check.stderr}`.trim(), '');
  });

  test('handshakes, authentication failures, lock-outs, alerts and call latency are counted', async () => {
    const ok = await connect('metrics-station-pass-1');
    assert.equal(ok.status, 'open');
    const answer = new Promise((r) => ok.ws!.once('message', r));
    ok.ws!.send(JSON.stringify([2, 'boot-1', 'BootNotification', { reason: 'PowerUp', chargingStation: { model: 'M', vendorName: 'V' } }]));
    await answer;
    ok.ws!.close();
    // Password guessing: five failures from one address lock that pair out (bruteForce, severity high).
    for (let i = 0; i < 5; i++) assert.equal((await connect(`wrong-password-guess-${i}`)).status, 401);
    await eventually('lock-out refusal', async () => (await connect('metrics-station-pass-1')).status === 429);

    const text = await scrape();
    assert.equal(sample(text, 'evguard_ocpp_handshakes_total', { outcome: 'accepted', ocpp_version: '2.0.1', security_profile: '1' }), 1);
    assert.equal(sample(text, 'evguard_ocpp_handshakes_total', { outcome: 'unauthenticated', security_profile: '1' }), 5);
    assert.ok(sample(text, 'evguard_ocpp_handshakes_total', { outcome: 'locked_out', security_profile: '1' })! >= 1);
    assert.equal(sample(text, 'evguard_station_auth_failures_total', { reason: 'InvalidStationCredentials', security_profile: '1' }), 5);
    assert.equal(sample(text, 'evguard_lockouts_total', { scope: 'station_address' }), 1);
    assert.equal(sample(text, 'evguard_alerts_total', { detector: 'bruteForce', severity: 'high' }), 1);
    assert.equal(sample(text, 'evguard_ocpp_call_duration_seconds_count', { action: 'BootNotification', ocpp_version: '2.0.1', result: 'ok' }), 1);
    assert.ok(sample(text, 'evguard_ocpp_call_duration_seconds_bucket', { action: 'BootNotification', le: '+Inf' }) === 1);
    assert.equal(sample(text, 'evguard_build_info', { version: '0.1.0' }), 1);
    assert.match(text, /# TYPE evguard_ocpp_call_duration_seconds histogram/);
  });
});
