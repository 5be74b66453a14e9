/**
 * Fleet state every node shares in cluster mode, with three `evguard serve`
 * processes on one PostgreSQL database and NATS: a station held by node A is
 * reported connected by B and C (and no longer once A is killed); failed
 * logins on node B lock the station out on node C too (and an undo on B lifts
 * it there); the live alert stream on a node that does not lead shows the
 * lead's alert.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSimStation } from '../../src/sim/index.js';
import { testDatabases } from '../support/node.js';
import { startThreeNodeCluster, upgradeStatus, waitFor } from './processes.js';

const TOKEN = 'cluster-test-admin-token-0123456789';
const PASSWORD = 'cluster-test-password-0123456789';

const skip = testDatabases().includes('postgres') ? false : 'cluster mode needs PostgreSQL (EVGUARD_TEST_DBS excludes it)';

test('three nodes share presence, lock-outs and the alert stream', { timeout: 180_000, skip }, async (t) => {
  // Node A starts first and so holds the lead (the fleet-wide detectors).
  const { nodes, stations } = await startThreeNodeCluster(t, { prefix: 'f', adminToken: TOKEN });
  const [a, b, c] = nodes;
  for (const id of ['FS-1', 'FS-2']) assert.equal((await b.api('POST', '/api/v1/stations', { id, securityProfile: 1, password: PASSWORD })).status, 201);

  await t.test('a station held by node A is connected on B and C, in the list and by id', async () => {
    const s = createSimStation({ url: `ws://127.0.0.1:${a.port}/ocpp`, id: 'FS-1', ocppVersion: '2.0.1', securityProfile: 1, password: PASSWORD, pingIntervalMs: 0 });
    stations.push(s);
    assert.equal((await s.connect()).status, 'Accepted');
    const onA = (await a.api('GET', '/api/v1/stations/FS-1')).body;
    assert.equal(onA.connected, true);
    for (const n of [b, c]) {
      await waitFor(async () => (await n.api('GET', '/api/v1/stations/FS-1')).body.connected === true, `node ${n.nodeId} sees FS-1 connected`);
      const one = (await n.api('GET', '/api/v1/stations/FS-1')).body;
      assert.equal(one.ocppVersion, '2.0.1');
      assert.equal(one.connectedSince, onA.connectedSince);
      assert.equal(one.node, 'a');
      const list = (await n.api('GET', '/api/v1/stations')).body as any[];
      const row = (Array.isArray(list) ? list : (list as any).stations ?? (list as any).items).find((x: any) => x.id === 'FS-1');
      assert.equal(row.connected, true);
      assert.equal(row.node, 'a');
    }
    assert.equal((await c.api('GET', '/api/v1/stations/FS-2')).body.connected, false);
  });

  await t.test('failed logins on B lock the station out on C; the alert reaches C\'s live stream; undo on B lifts it on C', async () => {
    // C does not lead: the alert it streams was raised by A.
    const stream = await openAlertStream(c.port);
    t.after(() => stream.close());
    for (let i = 0; i < 5; i++) {
      const intruder = createSimStation({ url: `ws://127.0.0.1:${b.port}/ocpp`, id: 'FS-2', ocppVersion: '2.0.1', securityProfile: 1, password: `wrong-password-${i}-0123456789`, pingIntervalMs: 0 });
      await assert.rejects(intruder.connect());
      await intruder.close();
    }
    await waitFor(() => stream.events.some((e) => e.event === 'alert.raised' && e.data.detector === 'bruteForce' && e.data.stationId === 'FS-2'), 'bruteForce alert on C\'s live stream', 60_000);
    // The lead records the lock-out action after raising the alert; C must refuse the right password with 429.
    await waitFor(async () => (await upgradeStatus(c.port, 'FS-2', PASSWORD)) === 429, 'node C refuses FS-2 with 429', 60_000);
    assert.equal(await upgradeStatus(b.port, 'FS-2', PASSWORD), 429);
    const alert = (await b.api('GET', '/api/v1/alerts?stationId=FS-2')).body.find((x: any) => x.detector === 'bruteForce');
    const lock = alert.actions.find((x: any) => x.kind === 'lockOut');
    assert.ok(lock, JSON.stringify(alert.actions));
    assert.equal((await b.api('POST', `/api/v1/alert-actions/${lock.id}/undo`)).status, 204);
    await waitFor(async () => (await upgradeStatus(c.port, 'FS-2', PASSWORD)) === 101, 'node C accepts FS-2 again after the undo on B');
  });

  await t.test('after node A is killed, B and C no longer report its station connected', async () => {
    a.kill('SIGKILL');
    await a.exited;
    for (const n of [b, c]) await waitFor(async () => (await n.api('GET', '/api/v1/stations/FS-1')).body.connected === false, `node ${n.nodeId} drops A's station`);
  });
});

/** Reads `/api/v1/alerts/stream` (SSE) into a list of events until closed. */
async function openAlertStream(port: number) {
  const ac = new AbortController();
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/alerts/stream`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: ac.signal });
  assert.equal(res.status, 200);
  const events: { event: string; data: any }[] = [];
  void (async () => {
    let buf = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body as any as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
    }
  })().catch(() => undefined);
  return { events, close: () => ac.abort() };
}
