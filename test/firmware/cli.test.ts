/** `evguard firmware …` against a real node: output, and exit codes 0 / 1 / 2. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CommanderError } from 'commander';
import { firmwareCommand } from '../../src/firmware/cli.js';
import { strictExits } from '../../src/cli/exit.js';
import { startTestNode, type TestNode } from '../support/node.js';

describe('evguard firmware CLI', { timeout: 60_000 }, () => {
  let node: TestNode;
  const dir = mkdtempSync(path.join(tmpdir(), 'fw-cli-'));

  async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
    let stdout = '';
    let stderr = '';
    let code = 0;
    const cmd = strictExits(firmwareCommand({ env: { EVGUARD_URL: node.http, EVGUARD_TOKEN: node.adminToken, ...env }, out: (t) => (stdout += t), err: (t) => (stderr += t), exit: (c) => (code = c) }));
    try {
      await cmd.parseAsync(args, { from: 'user' });
    } catch (e) {
      if (!(e instanceof CommanderError)) throw e;
      code = e.exitCode === 0 ? 0 : 2;
    }
    return { stdout, stderr, code };
  }

  before(async () => {
    node = await startTestNode({ db: 'sqlite' });
    writeFileSync(path.join(dir, 'fw.bin'), Buffer.from('cli firmware '.repeat(100)));
  });
  after(() => node.stop());

  test('upload, list and campaign commands', async () => {
    const up = await cli(['upload', path.join(dir, 'fw.bin'), '--vendor', 'Acme', '--model', 'AC22', '--version', '3.0.0']);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /Acme 3\.0\.0 {2}sha256 [0-9a-f]{64} {2}signed \(evguard\)/);
    const list = await cli(['list', '--json']);
    assert.equal(JSON.parse(list.stdout)[0].version, '3.0.0');
    const id = JSON.parse(list.stdout)[0].id;
    await node.api('POST', '/api/v1/stations', { id: 'cli-st', securityProfile: 1, password: 'cli-station-password-1' });
    const created = await cli(['campaign', 'create', '--firmware', id, '--stations', 'cli-st', '--paused', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const cid = JSON.parse(created.stdout).id;
    const shown = await cli(['campaign', 'show', cid]);
    assert.match(shown.stdout, /paused/);
    assert.match(shown.stdout, /cli-st/);
    assert.equal((await cli(['campaign', 'abort', cid])).code, 0);
  });

  test('rotate-root: a new director root signed by the old root key and the new one', async () => {
    const before = (await node.api('GET', '/api/v1/firmware/tuf-roots')).body.director;
    const r = await cli(['rotate-root', '--repository', 'director', '--roles', 'root,timestamp', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rotated = JSON.parse(r.stdout);
    assert.equal(rotated.version, 2);
    assert.notDeepEqual(rotated.keyids.root, before.signed.roles.root.keyids);
    assert.deepEqual(rotated.keyids.targets, before.signed.roles.targets.keyids);
    const audit = await node.api('GET', '/api/v1/audit');
    assert.ok(JSON.stringify(audit.body).includes('tuf-roots/rotate'), 'rotation is audited');
    const bad = await cli(['rotate-root', '--repository', 'image/Nobody']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /FIRMWARE_REPOSITORY_UNKNOWN/);
    assert.equal((await cli(['rotate-root', '--repository', 'director', '--roles', 'everything'])).code, 2);
  });

  test('bad input exits 2, an unreachable node exits 1', async () => {
    assert.equal((await cli(['upload', path.join(dir, 'missing.bin'), '--vendor', 'A', '--model', 'M', '--version', '1'])).code, 2);
    assert.equal((await cli(['upload', path.join(dir, 'fw.bin'), '--vendor', 'A'])).code, 2);
    assert.equal((await cli(['campaign', 'create', '--firmware', 'x'])).code, 2);
    assert.equal((await cli(['campaign', 'create', '--firmware', 'x', '--stations', 'a', '--canary', '300'])).code, 2);
    const unknown = await cli(['campaign', 'show', 'nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /CAMPAIGN_UNKNOWN/);
    assert.equal((await cli(['list'], { EVGUARD_TOKEN: 'wrong-token-wrong-token-wrong' })).code, 2);
    assert.equal((await cli(['list'], { EVGUARD_URL: 'http://127.0.0.1:1' })).code, 1);
    const help = await cli(['campaign', 'create', '--help']);
    assert.match(help.stdout, /--canary <percent>/);
  });
});
