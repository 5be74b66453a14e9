/** `evguard probe` as a CI gate: report files (JSON, SARIF 2.1.0, HTML) and exit codes 0 / 1 / 2. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startWeakServer, type WeakServer } from './weak-server.js';
import { startTestNode, type TestNode } from '../support/node.js';
import { CHECKS, checkProbeOptions, DEFAULT_OPTIONS, type ProbeOptions } from '../../src/probe/index.js';
import { exitCodeFor } from '../../src/cli-kit.js';
import { buildCli } from '../../src/cli/commands.js';
import { cli } from './spawn.js';

let weak: WeakServer;
let dir: string;
before(async () => {
  weak = await startWeakServer();
  dir = mkdtempSync(path.join(tmpdir(), 'evguard-probe-'));
});
after(async () => {
  await weak.close();
  rmSync(dir, { recursive: true, force: true });
});

test('findings: exit 1, progress on stderr, and JSON, SARIF and HTML reports', async () => {
  const files = { json: path.join(dir, 'r.json'), sarif: path.join(dir, 'r.sarif'), html: path.join(dir, 'r.html') };
  const r = await cli(['probe', weak.ws, '--password', 'anything', '--only', 'AUTH-001,AUTH-002,WS-002,MSG-001,TLS-002', '--json', files.json, '--sarif', files.sarif, '--html', files.html, '--timeout', '3000']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /\[1\/5\] AUTH-001 .* FAIL/);
  assert.match(r.stdout, /FAIL AUTH-001/);

  const json = JSON.parse(readFileSync(files.json, 'utf8'));
  assert.equal(json.target, weak.ws);
  assert.equal(json.results.length, 5);
  assert.equal(json.summary.fail, 4);
  assert.ok(!JSON.stringify(json).includes('anything'), 'the password is not in the report');

  // SARIF 2.1.0, checked structurally: one rule per check, results referencing them.
  const sarif = JSON.parse(readFileSync(files.sarif, 'utf8'));
  assert.equal(sarif.version, '2.1.0');
  assert.match(sarif.$schema, /sarif-2\.1\.0/);
  assert.equal(sarif.runs.length, 1);
  const { rules } = sarif.runs[0].tool.driver;
  assert.equal(sarif.runs[0].tool.driver.name, 'evguard-probe');
  assert.deepEqual(rules.map((x: any) => x.id), CHECKS.map((c) => c.id));
  for (const rule of rules) {
    assert.ok(rule.shortDescription.text && rule.fullDescription.text && rule.help.text, rule.id);
    assert.ok(['error', 'warning', 'note'].includes(rule.defaultConfiguration.level), rule.id);
  }
  const results = sarif.runs[0].results;
  assert.deepEqual(results.map((x: any) => x.ruleId).sort(), ['AUTH-001', 'AUTH-002', 'MSG-001', 'WS-002']);
  for (const res of results) {
    assert.equal(rules[res.ruleIndex].id, res.ruleId);
    assert.ok(['error', 'warning', 'note'].includes(res.level));
    assert.ok(res.message.text.length > 0);
    assert.equal(res.locations[0].physicalLocation.artifactLocation.uri, weak.ws);
  }
  assert.equal(results.find((x: any) => x.ruleId === 'AUTH-001').level, 'error');
  assert.ok(sarif.runs[0].invocations[0].toolExecutionNotifications.some((n: any) => /TLS-002 skipped/.test(n.message.text)));

  const html = readFileSync(files.html, 'utf8');
  assert.match(html, /^<!doctype html>/);
  assert.ok(!/<script|<link|src=/i.test(html), 'self-contained, no external resources');
  assert.match(html, /AUTH-001/);
});

test('--fail-on decides the exit code; bad usage exits 2 with a message', async () => {
  const strict = await cli(['probe', weak.ws, '--only', 'WS-001', '--quiet', '--fail-on', 'low']);
  assert.equal(strict.code, 1, 'a low finding fails --fail-on low (the clean-node test shows exit 0 at the default medium)');
  // Usage errors are thrown before anything is printed, so they are checked in-process (spawning costs seconds).
  await assert.rejects(buildCli().parseAsync(['node', 'evguard', 'probe', 'http://example.invalid/ocpp']), (err: Error) => exitCodeFor(err) === 2 && /ws:\/\/ or wss:\/\//.test(err.message));
  // The other usage errors are the options check's; the CLI maps its 4xx code to exit 2.
  const bad = (o: Partial<ProbeOptions>) => {
    try {
      checkProbeOptions({ ...DEFAULT_OPTIONS, url: weak.ws, ...o });
      return undefined;
    } catch (err) {
      assert.equal(exitCodeFor(err), 2);
      return (err as Error).message;
    }
  };
  assert.match(bad({ only: ['NOPE-1'] })!, /unknown check NOPE-1/);
  assert.match(bad({ cert: 'x' })!, /--cert and --key go together/);
  assert.match(bad({ url: 'wss://user:pw@example.invalid/ocpp' })!, /credentials/);
  assert.match(bad({ stationId: 'has:colon' })!, /--station/);
  assert.equal(bad({}), undefined);
});

test('a clean evguard node passes the gate (exit 0)', async () => {
  const node: TestNode = await startTestNode({ db: 'sqlite' });
  try {
    const a = await node.api('POST', '/api/v1/stations', { id: 'PRB-CLI', securityProfile: 2 });
    const caFile = path.join(dir, 'ca.pem');
    writeFileSync(caFile, node.app.trust.listCas().map((c) => c.pem).join('\n'));
    const r = await cli(['probe', node.wss, '--station', 'PRB-CLI', '--password', a.body.password, '--ca', caFile, '--plain-url', node.ws, '--quiet', '--pace', '100']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /0 finding\(s\)|finding\(s\) \((\d+ (info|low)(, )?)+\)/);
  } finally {
    await node.stop();
  }
});

test('a run that could not test does not pass: no password exits 1 and says why, unless --allow-incomplete', async () => {
  const guarded = await startWeakServer({ password: 'the-right-one' });
  try {
    const r = await cli(['probe', guarded.ws, '--quiet', '--pace', '0', '--only', 'AUTH-001,MSG-001']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /incomplete: 2 check\(s\) could not be judged \(AUTH-001, MSG-001\): no password given/);
    assert.match(r.stdout, /stopped: no password given/);
    const allowed = await cli(['probe', guarded.ws, '--quiet', '--pace', '0', '--only', 'AUTH-001,MSG-001', '--allow-incomplete']);
    assert.equal(allowed.code, 0, allowed.stdout + allowed.stderr);
  } finally {
    await guarded.close();
  }
});
