/**
 * The node says what it is doing: one structured log line per operational
 * event, with station ids, from a real node over real sockets; `info` stays
 * free of per-request and per-transaction noise.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { createLocalBus } from '../../src/bus/index.js';
import { Topics } from '../../src/bus/events.js';
import { followOperations } from '../../src/oplog.js';
import { createSimStation } from '../../src/sim/index.js';
import { eventually, startTestNode } from '../support/node.js';
import { connectRaw } from '../support/raw-client.js';

function capture(level = 'info') {
  const lines: any[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, log: pino({ level }, stream), find: (event: string, where: (l: any) => boolean = () => true) => lines.find((l) => l.event === event && where(l)) };
}

test('a node logs connections, refusals, lock-outs, alerts, actions, campaigns, revocations, start and stop', { timeout: 120_000 }, async () => {
  const out = capture('info');
  const node = await startTestNode({ db: 'sqlite', log: out.log, config: { monitor: { detectors: { bruteForce: { thresholds: { perStation: 3 }, lockoutSeconds: 60 } } } } });
  let stopped = false;
  try {
    assert.ok(out.find('node.started'), 'start is logged');
    const password = 'oplog-station-password-1';
    assert.equal((await node.api('POST', '/api/v1/stations', { id: 'OPLOG-1', securityProfile: 1, password })).status, 201);
    const station = createSimStation({ url: node.ws, id: 'OPLOG-1', ocppVersion: '2.0.1', securityProfile: 1, password, pingIntervalMs: 0 });
    await station.connect();
    const connected = await eventually('connected line', () => out.find('station.connected', (l) => l.stationId === 'OPLOG-1'));
    assert.equal(connected.level, 30);
    assert.equal(connected.ocppVersion, '2.0.1');
    await station.startCharging({ connectorId: 1, idToken: 'OPLOGTAG' }).catch(() => undefined);
    await station.close();
    await eventually('disconnected line', () => out.find('station.disconnected', (l) => l.stationId === 'OPLOG-1'));

    // Password guessing: each refusal, then the lock-out, the alert and the automatic action.
    for (let i = 0; i < 3; i++) {
      await connectRaw(`${node.ws}/OPLOG-1`, { user: 'OPLOG-1', password: `wrong-password-${i}-xxxxxxxx` }).then((c) => c.close(), () => undefined);
    }
    const refused = await eventually('refusal line', () => out.find('station.refused', (l) => l.stationId === 'OPLOG-1'));
    assert.equal(refused.type, 'InvalidStationCredentials');
    assert.equal(refused.level, 40);
    const alert = await eventually('alert line', () => out.find('alert.raised', (l) => l.stationId === 'OPLOG-1'));
    assert.equal(alert.detector, 'bruteForce');
    await eventually('lock-out line', () => out.find('lockout.set', (l) => l.stationId === 'OPLOG-1'));
    await eventually('automatic action line', () => out.find('action.automatic', (l) => l.stationId === 'OPLOG-1' && l.action === 'lockOut'));

    // A campaign's state and a certificate's revocation.
    const image = await fetch(`${node.http}/api/v1/firmware?vendor=Acme&model=AC22&version=2.0.0`, { method: 'POST', headers: { authorization: `Bearer ${node.adminToken}`, 'content-type': 'application/octet-stream' }, body: Buffer.alloc(2048, 7) }).then((r) => r.json() as Promise<any>);
    const campaign = await node.api('POST', '/api/v1/campaigns', { firmwareId: image.id, stationIds: ['OPLOG-1'] });
    assert.equal(campaign.status, 201, JSON.stringify(campaign.body));
    // The station reports another vendor, so the campaign has nothing to do and completes at once.
    await eventually('campaign line', () => out.find('campaign.state', (l) => l.campaignId === campaign.body.id && l.state === 'completed'));
    const cert = (await node.api('GET', '/api/v1/certificates')).body.find((c: any) => c.kind === 'code-signing');
    assert.equal((await node.api('POST', `/api/v1/certificates/${cert.serialHex}/revoke`, { reason: 'keyCompromise' })).status, 200);
    const revoked = await eventually('revocation line', () => out.find('certificate.revoked'));
    assert.equal(revoked.reason, 'keyCompromise');

    // Routine traffic stays below info.
    assert.equal(out.lines.filter((l) => l.event === 'http.request' || String(l.event).startsWith('transaction.')).length, 0);
    assert.ok(out.lines.every((l) => l.level >= 30));
    await node.stop();
    stopped = true;
    assert.ok(out.find('node.stopping'));
    assert.ok(out.find('node.stopped'));
  } finally {
    if (!stopped) await node.stop();
  }
});

test('a burst of one kind is logged up to the limit, then summarised', async () => {
  const out = capture('info');
  const bus = createLocalBus();
  const stop = followOperations(bus, out.log, { burst: 3, windowMs: 200 });
  try {
    for (let i = 0; i < 10; i++) bus.publish(Topics.stationConnected, { stationId: `S${i}`, ocppVersion: '2.0.1', securityProfile: 1, remoteAddress: '127.0.0.1', nodeId: 'n' }, `S${i}`);
    assert.equal(out.lines.filter((l) => l.event === 'station.connected' && l.stationId).length, 3);
    const summary = await eventually('summary line', () => out.find('station.connected', (l) => l.suppressed !== undefined), 5000);
    assert.equal(summary.suppressed, 7);
  } finally {
    stop();
    await bus.close();
  }
});
