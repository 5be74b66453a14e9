/**
 * The grid guard on a real node: limits and their roles, a mass start through
 * a stolen operator token slowed and refused by the ramp guard (with the
 * critical alert), the two-person rule, a utility limit from an OpenADR 3 VTN
 * of our own on loopback, live load over REST and SSE, a synchronised load
 * swing from simulated stations, and a normal fleet that raises no alert.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runAttack } from '../../src/sim/attacks.js';
import { createSimStation, runFleet, type SimStation } from '../../src/sim/index.js';
import { eventually, startTestNode, testDatabases, type TestNode } from '../support/node.js';

const PASSWORD = 'grid-test-password-000001';


async function fleetOf(node: TestNode, prefix: string, n: number): Promise<{ ids: string[]; stations: SimStation[] }> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
  for (const id of ids) assert.equal((await node.api('POST', '/api/v1/stations', { id, securityProfile: 1, password: PASSWORD })).status, 201);
  const stations = ids.map((id) => createSimStation({ url: node.ws, id, ocppVersion: '2.0.1', securityProfile: 1, password: PASSWORD, pingIntervalMs: 0, meterIntervalMs: 300 }));
  await Promise.all(stations.map((s) => s.connect()));
  return { ids, stations };
}

async function token(node: TestNode, name: string, role = 'operator'): Promise<string> {
  const res = await node.api('POST', '/api/v1/tokens', { name, role });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.token;
}

for (const db of testDatabases()) {
  describe(`grid guard (${db})`, () => {
    let vtn: http.Server;
    let vtnEvents: unknown[] = [];
    let node: TestNode;
    const open: SimStation[] = [];

    before(async () => {
      vtn = http.createServer((req, res) => {
        // A VTN of our own: OpenADR 3 GET /events, bearer token required.
        if (req.url?.startsWith('/openadr3/events') && req.headers.authorization === 'Bearer ven-token') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(vtnEvents));
        } else res.writeHead(401).end();
      });
      await new Promise<void>((r) => vtn.listen(0, '127.0.0.1', r));
      node = await startTestNode({
        db,
        config: {
          grid: {
            fleetRampKwPerS: 1, rampToleranceS: 1, maxHoldMs: 2000, jitterMs: 200, massMinStations: 40, sampleIntervalMs: 200,
            openadr: { vtnUrl: `http://127.0.0.1:${(vtn.address() as AddressInfo).port}/openadr3`, token: 'ven-token', pollS: 1 },
          },
          monitor: { detectors: { loadSwing: { thresholds: { stations: 10 } } } },
        },
      });
    });
    after(async () => {
      await Promise.all(open.map((s) => s.close()));
      await node?.stop();
      await new Promise((r) => vtn.close(r));
    });

    test('limits: admin only, validated, and in use cannot be deleted', async () => {
      const operator = await token(node, 'limits-operator');
      assert.equal((await node.api('PUT', '/api/v1/grid/feeders/F1', { limitKw: 500 }, operator)).status, 403);
      assert.equal((await node.api('PUT', '/api/v1/grid/feeders/F1', { limitKw: -1 })).body.error.code, 'VALIDATION_FAILED');
      assert.equal((await node.api('PUT', '/api/v1/grid/feeders/F1', { limitKw: 500, rampKwPerS: 100 })).status, 200);
      assert.equal((await node.api('PUT', '/api/v1/grid/sites/S1', { limitKw: 30, feederId: 'NOPE' })).body.error.code, 'GRID_NOT_FOUND');
      assert.equal((await node.api('PUT', '/api/v1/grid/sites/S1', { limitKw: 30, feederId: 'F1' })).status, 200);
      assert.equal((await node.api('DELETE', '/api/v1/grid/feeders/F1')).body.error.code, 'GRID_CONFLICT');
      assert.equal((await node.api('PUT', '/api/v1/grid/sites/S1/stations/X', { maxPowerW: 0 })).status, 400);
    });

    test('a site limit refuses the start that would exceed it, with a clear error', async () => {
      const { ids, stations } = await fleetOf(node, `SITE-${db}`, 2);
      open.push(...stations);
      for (const id of ids) assert.equal((await node.api('PUT', `/api/v1/grid/sites/S1/stations/${id}`, { maxPowerW: 22_000 })).status, 200);
      // An accepted driver, so the started session keeps charging and reporting its load.
      assert.ok((await node.api('PUT', '/api/v1/id-tokens/GRIDTEST', { status: 'Accepted' })).status < 300);
      const start = (id: string, n: number) => node.api('POST', `/api/v1/stations/${id}/calls`, { action: 'RequestStartTransaction', payload: { idToken: { idToken: 'GRIDTEST', type: 'Central' }, remoteStartId: n, evseId: 1 } });
      assert.equal((await start(ids[0]!, 1)).status, 200);
      const refused = await start(ids[1]!, 2);
      assert.equal(refused.status, 409);
      assert.equal(refused.body.error.code, 'GRID_LIMIT_EXCEEDED');
      assert.match(refused.body.error.message, /site S1 .* over its limit of 30 kW/);
    });

    test('a mass start through a stolen operator token is slowed and refused by the ramp guard, with a critical alert', async () => {
      const { ids, stations } = await fleetOf(node, `MASS-${db}`, 24);
      open.push(...stations);
      const stolen = await token(node, 'stolen-operator');
      assert.ok((await node.api('PUT', '/api/v1/id-tokens/MASSSTART01', { status: 'Accepted' })).status < 300);
      const began = Date.now();
      const report = await runAttack('mass-start', { url: node.ws, stationIds: ids, api: node.http, token: stolen });
      const spanS = (Date.now() - began) / 1000;
      // 22 kW each at 1 kW/s with 1 s tolerance: what went out fits the ramp over the attack's span, whatever the machine's speed; the rest was refused.
      const accepted = report.outcomes.accepted ?? 0;
      assert.ok(accepted * 22 <= 1 * (spanS + 1) + 22, `${JSON.stringify(report.outcomes)} in ${spanS} s`);
      assert.ok((report.outcomes['429:GRID_RAMP_EXCEEDED'] ?? 0) > 0 && accepted + report.outcomes['429:GRID_RAMP_EXCEEDED']! === ids.length, JSON.stringify(report.outcomes));
      const alert = await eventually('loadSwing alert', async () => {
        await node.app.monitor.settled();
        return (await node.api('GET', '/api/v1/alerts')).body.find((a: any) => a.detector === 'loadSwing' && a.title === 'Grid guard refusing power-affecting commands');
      }, 15_000);
      assert.equal(alert.severity, 'critical');
      const load = await eventually('live load', async () => {
        const s = (await node.api('GET', '/api/v1/grid/load')).body;
        return s.fleet.loadKw > 0 ? s : undefined;
      }, 15_000);
      assert.ok(load.fleet.loadKw <= 22 * (accepted + 1), JSON.stringify(load.fleet));
      const series = (await node.api('GET', '/api/v1/grid/load/series?level=fleet')).body;
      assert.ok(series.points.length > 0 && series.points.every((p: any) => typeof p.kw === 'number'));
    });

    test('the two-person rule: a mass action needs a second operator', async () => {
      const first = await token(node, 'operator-one');
      const second = await token(node, 'operator-two');
      const request = await node.api('POST', '/api/v1/grid/approvals', { stations: 50, reason: 'planned restart' }, first);
      assert.equal(request.status, 201);
      const self = await node.api('POST', `/api/v1/grid/approvals/${request.body.id}/approve`, undefined, first);
      assert.equal(self.body.error.code, 'GRID_APPROVAL_INVALID');
      const ok = await node.api('POST', `/api/v1/grid/approvals/${request.body.id}/approve`, undefined, second);
      assert.equal(ok.status, 200);
      assert.equal(ok.body.state, 'approved');
      assert.equal((await node.api('POST', `/api/v1/grid/approvals/${request.body.id}/approve`, undefined, second)).status, 409);
    });

    test('an OpenADR 3 IMPORT_CAPACITY_LIMIT from the VTN becomes a site limit the guard enforces', async () => {
      assert.equal((await node.api('PUT', '/api/v1/grid/sites/DSO1', { limitKw: 1000 })).status, 200);
      const { ids, stations } = await fleetOf(node, `DSO-${db}`, 1);
      open.push(...stations);
      assert.equal((await node.api('PUT', `/api/v1/grid/sites/DSO1/stations/${ids[0]}`, null)).status, 200);
      vtnEvents = [{
        id: 'evt-1', programID: 'p1', eventName: 'congestion',
        targets: [{ type: 'RESOURCE_NAME', values: ['DSO1'] }],
        payloadDescriptors: [{ objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'IMPORT_CAPACITY_LIMIT', units: 'KW' }],
        intervalPeriod: { start: new Date(Date.now() - 60_000).toISOString(), duration: 'PT1H' },
        intervals: [{ id: 0, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [5] }] }],
      }];
      const site = await eventually('DSO limit', async () => (await node.api('GET', '/api/v1/grid/load')).body.sites.find((s: any) => s.id === 'DSO1' && s.dsoLimitKw === 5), 15_000);
      assert.equal(site.limitKw, 5);
      const res = await node.api('POST', `/api/v1/stations/${ids[0]}/calls`, { action: 'RequestStartTransaction', payload: { idToken: { idToken: 'GRIDTEST', type: 'Central' }, remoteStartId: 99, evseId: 1 } });
      assert.equal(res.body.error?.code, 'GRID_LIMIT_EXCEEDED');
      vtnEvents = [];
      await eventually('DSO limit lifted', async () => ((await node.api('GET', '/api/v1/grid/load')).body.sites.find((s: any) => s.id === 'DSO1').dsoLimitKw === undefined ? true : undefined), 15_000);
    });

    test('live load streams as server-sent events', async () => {
      const res = await fetch(`${node.http}/api/v1/grid/load/stream`, { headers: { authorization: `Bearer ${node.adminToken}` } });
      assert.equal(res.headers.get('content-type'), 'text/event-stream');
      const reader = res.body!.getReader();
      let text = '';
      while (!/event: grid\.load\ndata: \{.*"fleet"/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
      await reader.cancel();
    });

    test('stations that swing their load together raise a critical loadSwing alert', async () => {
      const ids = Array.from({ length: 12 }, (_, i) => `SWING-${db}-${i}`);
      for (const id of ids) assert.equal((await node.api('POST', '/api/v1/stations', { id, securityProfile: 1, password: PASSWORD })).status, 201);
      await runAttack('load-swing', { url: node.ws, stationIds: ids, passwordFor: () => PASSWORD });
      const alert = await eventually('swing alert', async () => {
        await node.app.monitor.settled();
        return (await node.api('GET', '/api/v1/alerts')).body.find((a: any) => a.title === 'Synchronised load swing');
      }, 15_000);
      assert.equal(alert.severity, 'critical');
    });
  });

  test(`a normal simulated fleet raises no alert (${db})`, async () => {
    const node = await startTestNode({ db });
    try {
      const ids = Array.from({ length: 20 }, (_, i) => `NORMAL-${i}`);
      for (const id of ids) assert.equal((await node.api('POST', '/api/v1/stations', { id, securityProfile: 1, password: PASSWORD })).status, 201);
      const fleet = await runFleet({ url: node.ws, count: ids.length, ids, mix: { '1.6': 1, '2.0.1': 1, '2.1': 1 }, securityProfile: 1, passwordFor: () => PASSWORD, chargingShare: 0.5, meterIntervalMs: 500, durationMs: 3000 });
      const stats = await fleet.done;
      assert.equal(stats.failed, 0);
      await node.app.monitor.settled();
      assert.deepEqual((await node.api('GET', '/api/v1/alerts')).body, []);
    } finally {
      await node.stop();
    }
  });
}
