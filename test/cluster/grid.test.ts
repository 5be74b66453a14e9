/**
 * The grid guard sees one fleet: a mass start spread over three `evguard
 * serve` processes (stations on every node, the API calls made on other nodes
 * than the ones holding them) is held to the ramp one node would hold it to.
 *
 * The ramp is slow on purpose: 2.2 kW/s with a 25 s tolerance and no holding,
 * so each 22 kW start occupies the fleet's ramp for 10 s and the guard lets
 * three starts through at once, then refuses until the ramp has room. Three
 * guards that each kept their own accounts would let three through each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSimStation } from '../../src/sim/index.js';
import { testDatabases } from '../support/node.js';
import { startThreeNodeCluster } from './processes.js';

const TOKEN = 'cluster-grid-admin-token-0123456789';
const PASSWORD = 'cluster-grid-password-0123456789';
const RAMP_KW_S = 2.2;
const TOLERANCE_S = 25;
const STATION_KW = 22;
const STATIONS = 12;

const skip = testDatabases().includes('postgres') ? false : 'cluster mode needs PostgreSQL (EVGUARD_TEST_DBS excludes it)';

test('a mass start spread over three nodes is held to the single-node ramp', { timeout: 240_000, skip }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'evguard-grid-cluster-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = path.join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify({ grid: { fleetRampKwPerS: RAMP_KW_S, rampToleranceS: TOLERANCE_S, maxHoldMs: 0, jitterMs: 0, massMinStations: 1_000_000, resumeWindowS: 0 } }));
  const env = { EVGUARD_CONFIG: configFile };
  const { nodes, stations } = await startThreeNodeCluster(t, { prefix: 'g', adminToken: TOKEN, env: { a: env, b: env, c: env } });
  assert.ok((await nodes[0].api('PUT', '/api/v1/id-tokens/MASSSTART01', { status: 'Accepted' })).status < 300);

  const ids = Array.from({ length: STATIONS }, (_, i) => `GRID-C-${i}`);
  for (const id of ids) assert.equal((await nodes[0].api('POST', '/api/v1/stations', { id, securityProfile: 1, password: PASSWORD })).status, 201);
  // Station i is held by node i % 3; its start command is sent to node (i + 1) % 3 and routed to the holder, whose guard judges it.
  await Promise.all(ids.map(async (id, i) => {
    const s = createSimStation({ url: `ws://127.0.0.1:${nodes[i % 3].port}/ocpp`, id, ocppVersion: '2.0.1', securityProfile: 1, password: PASSWORD, pingIntervalMs: 0, maxPowerW: STATION_KW * 1000 });
    stations.push(s);
    assert.equal((await s.connect()).status, 'Accepted');
  }));

  const began = Date.now();
  const answers = await Promise.all(ids.map((id, i) => nodes[(i + 1) % 3].api('POST', `/api/v1/stations/${id}/calls`, { action: 'RequestStartTransaction', payload: { idToken: { idToken: 'MASSSTART01', type: 'Central' }, remoteStartId: i + 1, evseId: 1 } })));
  const spanS = (Date.now() - began) / 1000;
  const sent = answers.filter((a) => a.status === 200).length;
  const refused = answers.filter((a) => a.status === 429 && a.body?.error?.code === 'GRID_RAMP_EXCEEDED').length;
  assert.equal(sent + refused, STATIONS, JSON.stringify(answers.map((a) => [a.status, a.body?.error?.code ?? a.body?.status])));
  // One guard's bound over the burst: rate × (tolerance + span) of load, plus one command.
  const singleNodeBound = Math.floor(((TOLERANCE_S + spanS) * RAMP_KW_S) / STATION_KW) + 1;
  t.diagnostic(`${sent} of ${STATIONS} starts sent, ${refused} refused over ${spanS.toFixed(2)} s; one node's bound ${singleNodeBound}`);
  assert.ok(sent >= 1, 'the guard lets the ramp\'s share through');
  assert.ok(sent <= singleNodeBound, `${sent} starts passed; a single guard passes at most ${singleNodeBound}`);

  // Every node's guard judged its own stations' commands; together they counted each command once.
  const guards = await Promise.all(nodes.map(async (n) => (await n.api('GET', '/api/v1/grid')).body.guard));
  assert.equal(guards.reduce((s, g) => s + g.checked, 0), STATIONS);
  assert.ok(guards.every((g) => g.checked > 0), JSON.stringify(guards));
  assert.equal(guards.reduce((s, g) => s + (g.refused.GRID_RAMP_EXCEEDED ?? 0), 0), refused);
});
