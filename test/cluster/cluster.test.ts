/**
 * Three evguard nodes as real `evguard serve` processes on loopback, sharing a
 * fresh PostgreSQL database and the machine's NATS, behind a TCP balancer.
 * Checks call routing across nodes, bus fan-out, fleet-wide detection with a
 * single alert, cross-node duplicate identities, and a SIGKILLed node whose
 * stations reconnect to the others with nothing acknowledged lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createSimStation, type SimStation } from '../../src/sim/index.js';
import { createNatsBus } from '../../src/bus/nats.js';
import type { BusEvent } from '../../src/bus/index.js';
import { testDatabases } from '../support/node.js';
import { startBalancer } from './balancer.js';
import { startThreeNodeCluster, waitFor, type NodeProcess } from './processes.js';

const TOKEN = 'cluster-test-admin-token-0123456789';
const PASSWORD = 'cluster-test-password-0123456789';

// Cluster mode is PostgreSQL-only: nodes with separate SQLite files are not a cluster.
const skip = testDatabases().includes('postgres') ? false : 'cluster mode needs PostgreSQL (EVGUARD_TEST_DBS excludes it)';

test('three nodes: routing, fan-out, fleet-wide detection, duplicate identity, node death', { timeout: 240_000, skip }, async (t) => {
  const { name: cluster, databaseUrl, nc, nodes, stations } = await startThreeNodeCluster(t, { prefix: 't', adminToken: TOKEN });
  const [a, b, c] = nodes;

  // Listen on the bus the way a node does, to see every node's events.
  const seen: BusEvent[] = [];
  const observer = await createNatsBus({ nc, namespace: cluster, origin: 'observer', durableMaxAgeMs: 0 });
  observer.subscribe('*', (e) => seen.push(e));
  t.after(() => observer.close());

  let leadBeforeKill: number | undefined;
  const ids = ['CL-1', 'CL-2', 'CL-3', 'CL-4', 'CL-5', 'CL-6'];
  for (const id of ids) assert.equal((await b.api('POST', '/api/v1/stations', { id, securityProfile: 1, password: PASSWORD })).status, 201);
  assert.equal((await c.api('PUT', '/api/v1/id-tokens/CLTAG', { status: 'Accepted' })).status < 300, true);

  const balancer = await startBalancer([a.port, b.port, c.port]);
  t.after(() => balancer.close());
  const station = (id: string, port: number) => {
    const s = createSimStation({ url: `ws://127.0.0.1:${port}/ocpp`, id, ocppVersion: id.endsWith('1') ? '1.6' : '2.0.1', securityProfile: 1, password: PASSWORD, meterIntervalMs: 1000, pingIntervalMs: 0 });
    stations.push(s);
    return s;
  };

  await t.test('a station on node A is reached by an API call made on node B', async () => {
    // The balancer's first connection goes to node A.
    const s = station('CL-1', balancer.port);
    assert.equal((await s.connect()).status, 'Accepted');
    assert.equal(await holder(nodes, 'CL-1'), a);
    const res = await b.api('POST', '/api/v1/stations/CL-1/calls', { action: 'TriggerMessage', payload: { requestedMessage: 'Heartbeat' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'Accepted');
    // A payload that fails the station's schema is refused by the holder, and the code crosses nodes.
    const bad = await c.api('POST', '/api/v1/stations/CL-1/calls', { action: 'TriggerMessage', payload: { requestedMessage: 'NoSuchMessage' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'OCPP_PAYLOAD_INVALID');
    const offline = await c.api('POST', '/api/v1/stations/CL-2/calls', { action: 'TriggerMessage', payload: { requestedMessage: 'Heartbeat' } });
    assert.equal(offline.status, 409);
    assert.equal(offline.body.error.code, 'STATION_OFFLINE');
  });

  await t.test('bus events of every node reach every node', async () => {
    for (const id of ['CL-2', 'CL-3', 'CL-4', 'CL-5', 'CL-6']) await station(id, balancer.port).connect();
    await waitFor(() => new Set(seen.filter((e) => e.topic === 'station.connected').map((e) => (e.data as any).nodeId)).size === 3, 'station.connected from all three nodes');
    await waitFor(() => ids.every((id) => seen.some((e) => e.topic === 'station.booted' && e.stationId === id)), 'every boot on the bus');
  });

  await t.test('a second connection for a station held on node A is refused on node C', async () => {
    const twin = createSimStation({ url: `ws://127.0.0.1:${c.port}/ocpp`, id: 'CL-1', ocppVersion: '1.6', securityProfile: 1, password: PASSWORD, pingIntervalMs: 0 });
    stations.push(twin);
    await assert.rejects(twin.connect());
    await twin.close();
    await waitFor(async () => (await c.api('GET', '/api/v1/security-events?stationId=CL-1')).body.some?.((e: any) => e.type === 'DuplicateIdentity'), 'DuplicateIdentity recorded');
    // The original session is untouched.
    assert.equal((await c.api('POST', '/api/v1/stations/CL-1/calls', { action: 'TriggerMessage', payload: { requestedMessage: 'Heartbeat' } })).status, 200);
  });

  await t.test('failed logins spread over two nodes raise one fleet-wide alert', async () => {
    for (const [i, node] of [b, c, b, c, b].entries()) {
      const intruder = createSimStation({ url: `ws://127.0.0.1:${node.port}/ocpp`, id: 'CL-6', ocppVersion: '2.0.1', securityProfile: 1, password: `wrong-password-${i}-0123456789`, pingIntervalMs: 0 });
      await assert.rejects(intruder.connect());
      await intruder.close();
    }
    await waitFor(async () => (await a.api('GET', '/api/v1/alerts?stationId=CL-6')).body.length >= 1, 'brute-force alert');
    // Give a duplicate a chance to show up before counting: every node has seen all five events.
    await waitFor(async () => (await b.api('GET', '/api/v1/security-events?stationId=CL-6')).body.filter((e: any) => e.type === 'InvalidStationCredentials').length === 5, 'five failures stored once each');
    const alerts = (await b.api('GET', '/api/v1/alerts?stationId=CL-6')).body.filter((x: any) => x.detector === 'bruteForce');
    assert.equal(alerts.length, 1);
  });

  await t.test('node A dies: its stations reconnect to B and C; acknowledged data is intact', async () => {
    const held = await Promise.all(ids.map(async (id) => ({ id, node: await holder(nodes, id) })));
    const victims = held.filter((h) => h.node === a).map((h) => h.id);
    assert.ok(victims.length >= 1, 'node A holds stations');
    // Start a charging session on every station A holds; the start is acknowledged before A dies.
    const started = new Map<string, string>();
    for (const id of victims) {
      const s = stations.find((x) => x.id === id && x.state === 'open')!;
      started.set(id, (await s.startCharging({ connectorId: 1, idToken: 'CLTAG' })).transactionId);
    }
    leadBeforeKill = await leadHolder(databaseUrl);
    assert.ok(leadBeforeKill !== undefined, 'a node leads');
    a.kill('SIGKILL');
    await a.exited;
    const moved = stations.filter((s) => victims.includes(s.id) && s.state !== 'closed');
    await waitFor(() => moved.every((s) => s.state === 'offline'), 'stations notice the node is gone');
    // Through the balancer, which now finds only B and C.
    await Promise.all(moved.map((s) => reconnectUntilOpen(s)));
    for (const id of victims) {
      const node = await holder([b, c], id);
      assert.ok(node === b || node === c, `${id} is held by B or C`);
      const call = await b.api('POST', `/api/v1/stations/${id}/calls`, { action: 'TriggerMessage', payload: { requestedMessage: 'Heartbeat' } });
      assert.equal(call.status, 200, JSON.stringify(call.body));
      const txs = (await c.api('GET', `/api/v1/transactions?stationId=${id}`)).body;
      assert.equal(txs.length, 1, `transaction of ${id} kept`);
      assert.equal(txs[0].idToken, 'CLTAG');
      if (!id.endsWith('1')) assert.equal(txs[0].id.endsWith(started.get(id)!) || txs.some((x: any) => JSON.stringify(x).includes(started.get(id)!)), true);
    }
    // Finish the sessions on the new nodes; the stop lands on the same stored transactions.
    for (const s of moved) await s.stopCharging(1, 'Local');
    await waitFor(async () => {
      for (const id of victims) {
        const txs = (await b.api('GET', `/api/v1/transactions?stationId=${id}`)).body;
        if (txs.length !== 1 || txs[0].state !== 'Ended') return false;
      }
      return true;
    }, 'transactions ended, one per station');
  });

  await t.test('the detector lead moves to a surviving node', async () => {
    // Node A started first and held the lead; a survivor takes it once PostgreSQL has seen A's session end.
    await waitFor(async () => {
      const holder = await leadHolder(databaseUrl);
      return holder !== undefined && holder !== leadBeforeKill;
    }, 'a surviving node holds the lead');
    for (const [i, node] of [c, b, c, b, c].entries()) {
      const intruder = createSimStation({ url: `ws://127.0.0.1:${node.port}/ocpp`, id: 'CL-5', ocppVersion: '2.0.1', securityProfile: 1, password: `wrong-password-${i}-0123456789`, pingIntervalMs: 0 });
      await assert.rejects(intruder.connect());
      await intruder.close();
    }
    await waitFor(async () => (await c.api('GET', '/api/v1/alerts?stationId=CL-5')).body.some?.((x: any) => x.detector === 'bruteForce'), 'brute-force alert after failover');
  });
});

/** The PostgreSQL backend holding the cluster's lead lock (the only advisory lock in the test database). */
async function leadHolder(url: string): Promise<number | undefined> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())");
    return r.rows.length === 1 ? Number(r.rows[0].pid) : undefined;
  } finally {
    await c.end();
  }
}

/** The node holding the station's socket (every node reports it connected, with the holder's node id). */
async function holder(nodes: NodeProcess[], id: string): Promise<NodeProcess | undefined> {
  for (const n of nodes) {
    const r = await n.api('GET', `/api/v1/stations/${id}`);
    if (r.body?.connected && r.body.node === n.nodeId) return n;
  }
  return undefined;
}

/** Retries the station's reconnect (its URL is the balancer's) until it is back. */
async function reconnectUntilOpen(s: SimStation) {
  await waitFor(async () => {
    try {
      await s.reconnect();
    } catch {
      // the balancer may still be handing out the dead node; try again
    }
    return s.state === 'open';
  }, `station ${s.id} back`);
}
