/**
 * One truth across the cluster: three `evguard serve` processes on one
 * PostgreSQL database and NATS. Every change is made through node A after
 * nodes B and C have used (and so cached) the old state. Node B hears the
 * change event; node C is started with EVGUARD_CLUSTER_DROP_TOPICS so it
 * never hears one (as if NATS had lost every message), and must still hold
 * the change once its caches' staleness bound (STALE_BOUND_MS) has passed.
 *
 * The deadlines of `waitFor` are hang guards, not timing assertions; how long
 * each change took on each node is reported as a test diagnostic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSimStation, type SimStation } from '../../src/sim/index.js';
import { STALE_BOUND_MS } from '../../src/bus/changes.js';
import { testDatabases } from '../support/node.js';
import { startThreeNodeCluster, upgradeStatus, waitFor, type NodeProcess } from './processes.js';

const TOKEN = 'cluster-truth-admin-token-0123456789';
const PASSWORD = 'cluster-truth-password-0123456789';
const DROPPED = ['station.changed', 'api-token.changed', 'monitor.lockout', 'certificate.revoked'];
/** Hang guard for a change to take hold: the bound plus generous room for a loaded two-core machine. */
const DEADLINE_MS = STALE_BOUND_MS + 20_000;

const skip = testDatabases().includes('postgres') ? false : 'cluster mode needs PostgreSQL (EVGUARD_TEST_DBS excludes it)';

test('a change made on one node holds on every node, including one that missed the change event', { timeout: 300_000, skip }, async (t) => {
  const { nodes, stations } = await startThreeNodeCluster(t, { prefix: 't', adminToken: TOKEN, env: { c: { EVGUARD_CLUSTER_DROP_TOPICS: DROPPED.join(',') } } });
  const [a, b, c] = nodes;

  /** Waits until `check` holds on a node after a change made at `since`, and reports how long it took. */
  async function holds(n: NodeProcess, what: string, since: number, check: () => Promise<boolean>) {
    await waitFor(check, `${what} on node ${n.nodeId}`, DEADLINE_MS);
    t.diagnostic(`${what}: node ${n.nodeId} after ${Date.now() - since} ms${n === c ? ' (change event dropped)' : ''}`);
  }
  async function register(id: string, body: Record<string, unknown> = {}) {
    assert.equal((await a.api('POST', '/api/v1/stations', { id, securityProfile: 1, password: PASSWORD, ...body })).status, 201);
  }
  function station(n: NodeProcess, id: string, version: '1.6' | '2.0.1' = '2.0.1', password = PASSWORD): SimStation {
    const s = createSimStation({ url: `ws://127.0.0.1:${n.port}/ocpp`, id, ocppVersion: version, securityProfile: 1, password, pingIntervalMs: 0, heartbeatIntervalMs: 3_600_000 });
    stations.push(s);
    return s;
  }
  const revokedFor = async (id: string) => ((await a.api('GET', `/api/v1/security-events?stationId=${id}`)).body as any[]).filter((e) => e.type === 'SessionRevoked');

  await t.test('an operator API token revoked on A is refused by B and C', async () => {
    const { body: created } = await a.api('POST', '/api/v1/tokens', { name: 'operator on call', role: 'operator' });
    const use = (n: NodeProcess, method = 'GET', p = '/api/v1/stations', body?: unknown) =>
      fetch(`http://127.0.0.1:${n.port}${p}`, { method, headers: { authorization: `Bearer ${created.token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined }).then((r) => r.status);
    // B and C have accepted (and cached) it.
    assert.equal(await use(b), 200);
    assert.equal(await use(c), 200);
    const since = Date.now();
    assert.equal((await a.api('DELETE', `/api/v1/tokens/${created.id}`)).status, 204);
    for (const n of [b, c]) await holds(n, 'revoked token refused', since, async () => (await use(n)) === 401);
    for (const n of [b, c]) assert.equal(await use(n, 'POST', '/api/v1/stations', { id: `T-TOKEN-${n.nodeId}`, securityProfile: 1 }), 401);
    assert.equal((await a.api('GET', '/api/v1/stations/T-TOKEN-b')).status, 404);
  });

  await t.test('a password rotated on A ends the live sessions it opened on B and C, and the old password no longer opens one', async () => {
    const held = { b: station(b, 'T-PW-B'), c: station(c, 'T-PW-C') };
    for (const id of ['T-PW-B', 'T-PW-C']) await register(id);
    for (const s of Object.values(held)) assert.equal((await s.connect()).status, 'Accepted');
    const since = Date.now();
    const fresh: Record<string, string> = {};
    for (const id of ['T-PW-B', 'T-PW-C']) fresh[id] = (await a.api('POST', `/api/v1/stations/${id}/password`, {})).body.password;
    await holds(b, 'rotated password ends the session', since, async () => held.b.state !== 'open');
    await holds(c, 'rotated password ends the session', since, async () => held.c.state !== 'open');
    for (const [n, id] of [[b, 'T-PW-B'], [c, 'T-PW-C']] as const) {
      // Each node had verified (and cached) the old password; now it refuses it and takes the new one.
      await holds(n, 'old password refused', since, async () => (await upgradeStatus(n.port, id, PASSWORD)) === 401);
      assert.equal(await upgradeStatus(n.port, id, fresh[id]!), 101);
      const events = await revokedFor(id);
      assert.equal(events.length, 1, JSON.stringify(events));
      assert.match(events[0].techInfo, /password rotated/);
    }
  });

  await t.test('a station deleted on A can no longer connect to B or C with its old password', async () => {
    const held = station(c, 'T-DEL');
    await register('T-DEL');
    assert.equal((await held.connect()).status, 'Accepted');
    assert.equal(await upgradeStatus(b.port, 'T-DEL', PASSWORD), 409); // B knows it, and knows C holds it
    const since = Date.now();
    assert.equal((await a.api('DELETE', '/api/v1/stations/T-DEL')).status, 204);
    await holds(c, 'deleted station\'s session ends', since, async () => held.state !== 'open');
    for (const n of [b, c]) await holds(n, 'deleted station refused', since, async () => (await upgradeStatus(n.port, 'T-DEL', PASSWORD)) === 401);
  });

  await t.test('a security profile raised 1 → 2 on A ends plain ws:// sessions and refuses new ones on B and C', async () => {
    const held = { b: station(b, 'T-PROF-B'), c: station(c, 'T-PROF-C') };
    for (const id of ['T-PROF-B', 'T-PROF-C']) await register(id);
    for (const s of Object.values(held)) assert.equal((await s.connect()).status, 'Accepted');
    const since = Date.now();
    for (const id of ['T-PROF-B', 'T-PROF-C']) assert.equal((await a.api('PATCH', `/api/v1/stations/${id}`, { securityProfile: 2 })).status, 200);
    await holds(b, 'profile raise ends the session', since, async () => held.b.state !== 'open');
    await holds(c, 'profile raise ends the session', since, async () => held.c.state !== 'open');
    for (const [n, id] of [[b, 'T-PROF-B'], [c, 'T-PROF-C']] as const) {
      await holds(n, 'plain ws:// refused', since, async () => (await upgradeStatus(n.port, id, PASSWORD)) === 403);
      assert.match((await revokedFor(id))[0]?.techInfo ?? '', /security profile raised to 2/);
    }
  });

  await t.test('a station quarantined and set Rejected on A loses its session on B and C; StartTransaction is refused after it reconnects', async () => {
    assert.ok((await a.api('PUT', '/api/v1/id-tokens/TRUTH-TAG-1', { status: 'Accepted' })).status < 300);
    const held = { b: station(b, 'T-Q-B', '1.6'), c: station(c, 'T-Q-C', '1.6') };
    for (const id of ['T-Q-B', 'T-Q-C']) await register(id);
    for (const s of Object.values(held)) assert.equal((await s.connect()).status, 'Accepted');
    const since = Date.now();
    for (const id of ['T-Q-B', 'T-Q-C']) assert.equal((await a.api('PATCH', `/api/v1/stations/${id}`, { quarantined: true, registration: 'Rejected' })).status, 200);
    await holds(b, 'quarantine ends the session', since, async () => held.b.state !== 'open');
    await holds(c, 'quarantine ends the session', since, async () => held.c.state !== 'open');
    for (const s of Object.values(held)) {
      await s.reconnect();
      assert.equal((await s.boot()).status, 'Rejected');
      await assert.rejects(s.call('StartTransaction', { connectorId: 1, idTag: 'TRUTH-TAG-1', meterStart: 0, timestamp: new Date().toISOString() }));
    }
  });

  await t.test('guesses from one address lock that address out for the station, not the real station from another address', async () => {
    await register('T-LOCK');
    const since = Date.now();
    // Five wrong passwords for T-LOCK from 127.0.0.2, on B; the lead (A) counts them and sets the lock-out.
    for (let i = 0; i < 5; i++) assert.equal(await upgradeStatus(b.port, 'T-LOCK', `wrong-password-${i}-0123456789`, { localAddress: '127.0.0.2' }), 401);
    // The guessing address is refused even with the right password, on every node (C reads it from the store).
    for (const n of [b, c]) await holds(n, 'guessing address locked out', since, async () => (await upgradeStatus(n.port, 'T-LOCK', PASSWORD, { localAddress: '127.0.0.2' })) === 429);
    // The real station, from its own address, gets in with its right password on every node.
    for (const n of [a, b, c]) assert.equal(await upgradeStatus(n.port, 'T-LOCK', PASSWORD, { localAddress: '127.0.0.3' }), 101);
  });
});
