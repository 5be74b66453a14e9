/**
 * Assessment on a real node: simulated stations connect, the node reads
 * their configuration (GetConfiguration / GetVariables), combines it with
 * what it observed, and serves per-station results and the fleet summary.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestNode, testDatabases, type TestNode } from '../support/node.js';
import { createSimStation, type SimStation } from '../../src/sim/index.js';
import { buildCli } from '../../src/cli/commands.js';
import { exitCodeFor } from '../../src/cli-kit.js';
import { cli } from '../probe/spawn.js';

const status = (a: any, id: string) => a.results.find((r: any) => r.id === id)?.status;

for (const db of testDatabases()) {
  describe(`assessment on a real node (${db})`, () => {
    let node: TestNode;
    const sims: SimStation[] = [];
    before(async () => {
      node = await startTestNode({ db });
      writeFileSync(path.join(node.dataDir, 'firmware-advisories.json'), JSON.stringify([{ vendor: 'Acme', model: 'OLD-16', fixedIn: '1.2.0', advisory: 'ACME-SA-2026-01', severity: 'critical' }]));
      const weak = await node.api('POST', '/api/v1/stations', { id: 'ASM-16', securityProfile: 1 });
      const good = await node.api('POST', '/api/v1/stations', { id: 'ASM-201', securityProfile: 2 });
      const ca = node.app.trust.listCas().map((c) => c.pem).filter(Boolean);
      sims.push(createSimStation({ url: node.ws, id: 'ASM-16', ocppVersion: '1.6', securityProfile: 1, password: weak.body.password, vendor: 'Acme', model: 'OLD-16', firmwareVersion: '1.0.0' }));
      sims.push(createSimStation({ url: node.wss, id: 'ASM-201', ocppVersion: '2.0.1', securityProfile: 2, password: good.body.password, vendor: 'Acme', model: 'NEW-201', firmwareVersion: '3.1.0', tls: { ca } }));
      for (const s of sims) await s.connect();
    });
    after(async () => {
      for (const s of sims) await s.close();
      await node.stop();
    });

    test('a 1.6 profile-1 station with vulnerable firmware and a tamper alert', async () => {
      await sims[0]!.securityEvent('TamperDetectionActivated', 'door opened');
      await node.app.monitor.settled();
      const res = await node.api('POST', '/api/v1/stations/ASM-16/assessment');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const a = res.body;
      assert.match(a.refresh, /values read/);
      assert.ok(a.configurationReadAt);
      for (const id of ['ASM-01', 'ASM-02', 'ASM-08', 'ASM-09', 'ASM-14']) assert.equal(status(a, id), 'fail', `${id}: ${JSON.stringify(a.results.find((r: any) => r.id === id))}`);
      assert.equal(status(a, 'ASM-12'), 'pass', 'the station reports tamper events');
      assert.equal(status(a, 'ASM-07'), 'pass', 'SecurityProfile key: the 1.6 security extension');
      assert.equal(status(a, 'ASM-03'), 'pass');
      assert.equal(status(a, 'ASM-04'), 'pass');
      assert.equal(a.results.find((r: any) => r.id === 'ASM-08').severity, 'critical');
      assert.ok(a.score < 60, `score ${a.score}`);
      // GET serves the same assessment from what is stored, without asking the station.
      const again = await node.api('GET', '/api/v1/stations/ASM-16/assessment');
      assert.equal(again.body.score, a.score);
      assert.equal(again.body.refresh, undefined);
    });

    test('a 2.0.1 profile-2 station scores well; its SecurityCtrlr variables are read', async () => {
      const res = await node.api('POST', '/api/v1/stations/ASM-201/assessment');
      assert.equal(res.status, 200);
      const a = res.body;
      for (const id of ['ASM-01', 'ASM-02', 'ASM-03', 'ASM-04', 'ASM-07', 'ASM-08', 'ASM-09', 'ASM-10', 'ASM-14', 'ASM-15']) assert.equal(status(a, id), 'pass', `${id}: ${JSON.stringify(a.results.find((r: any) => r.id === id))}`);
      assert.match(a.results.find((r: any) => r.id === 'ASM-09').evidence, /profile 2/);
      assert.ok(a.score >= 75, `score ${a.score}`);
    });

    test('password rotation is taken from the audit log', async () => {
      const rotated = await node.api('POST', '/api/v1/stations/ASM-201/password', {});
      assert.equal(rotated.status, 200);
      const a = (await node.api('GET', '/api/v1/stations/ASM-201/assessment')).body;
      assert.match(a.results.find((r: any) => r.id === 'ASM-04').evidence, /last rotated 0 days ago/);
    });

    test('fleet summary, baseline and checklist over REST; unknown station is a 404', async () => {
      const fleet = (await node.api('GET', '/api/v1/assessment')).body;
      assert.equal(fleet.stations, 2);
      assert.equal(fleet.assessments, undefined);
      assert.equal(fleet.worst[0].stationId, 'ASM-16');
      assert.ok(fleet.rules.find((r: any) => r.id === 'ASM-01').fail === 1);
      const detailed = (await node.api('GET', '/api/v1/assessment?details=true')).body;
      assert.equal(detailed.assessments.length, 2);
      const baseline = (await node.api('GET', '/api/v1/assessment/baseline')).body;
      assert.ok(baseline.every((r: any) => r.sources.length && r.verification));
      const checklist = await fetch(`${node.http}/api/v1/assessment/checklist?format=html`, { headers: { authorization: `Bearer ${node.adminToken}` } });
      assert.match(checklist.headers.get('content-type') ?? '', /text\/html/);
      assert.match(await checklist.text(), /ASM-01/);
      const missing = await node.api('GET', '/api/v1/stations/NOPE/assessment');
      assert.equal(missing.status, 404);
      assert.ok(missing.body.error.code);
      const anonymous = await fetch(`${node.http}/api/v1/assessment`);
      assert.equal(anonymous.status, 401);
    });

    if (db === 'sqlite') {
      test('evguard assess CLI: fleet report files, --fail-below, usage errors', async () => {
        const dir = mkdtempSync(path.join(tmpdir(), 'evguard-assess-'));
        try {
          const json = path.join(dir, 'fleet.json');
          const html = path.join(dir, 'fleet.html');
          const r = await cli(['assess', '--api', node.http, '--token', node.adminToken, '--json', json, '--html', html, '--fail-below', '95']);
          assert.equal(r.code, 1, r.stderr);
          assert.match(r.stdout, /fleet: [A-F] \d+\/100 over 2 station/);
          assert.equal(JSON.parse(readFileSync(json, 'utf8')).assessments.length, 2);
          assert.match(readFileSync(html, 'utf8'), /^<!doctype html>/);
          // Usage errors are thrown before anything is printed: checked in-process.
          // --api defaults to http://localhost:8080 (or EVGUARD_API), as for firmware; the token has no default.
          await assert.rejects(buildCli().parseAsync(['node', 'evguard', 'assess']), (err: Error) => exitCodeFor(err) === 2 && /--token/.test(err.message));
          await assert.rejects(buildCli().parseAsync(['node', 'evguard', 'assess', '--api', node.http, '--token', 't', '--refresh']), (err: Error) => exitCodeFor(err) === 2 && /--station/.test(err.message));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  });
}
