/**
 * The CLI as users call it: the root program in a child process
 * (`node --import tsx src/cli/main.ts …`) against a real node, so options
 * reach the subcommand that documents them and every command is registered.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestNode, eventually, type TestNode } from '../support/node.js';
import { startStation, stationFirmwareOptions, upload, VENDOR, MODEL } from '../firmware/helpers.js';
import type { SimStation } from '../../src/sim/index.js';
import { evguard } from './run.js';

test('a port in use is a usage error that names the flag to move it', { timeout: 300_000 }, async () => {
  const taken = createServer().listen(0, '127.0.0.1');
  await once(taken, 'listening');
  const port = (taken.address() as AddressInfo).port;
  const spare = createServer().listen(0, '127.0.0.1');
  await once(spare, 'listening');
  const tlsPort = (spare.address() as AddressInfo).port;
  spare.close();
  const dir = mkdtempSync(path.join(tmpdir(), 'evguard-port-'));
  try {
    const r = await evguard(['demo', '--port', String(port), '--tls-port', String(tlsPort), '--data-dir', dir], {});
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`port ${port} is already in use.*npm run demo -- --port ${port + 10}`));
  } finally {
    taken.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('evguard through the root program', { timeout: 900_000 }, () => {
  let node: TestNode;
  const dir = mkdtempSync(path.join(tmpdir(), 'evguard-cli-'));
  const stations: SimStation[] = [];
  const run = (args: string[]) => evguard(args, { EVGUARD_API: node.http, EVGUARD_TOKEN: node.adminToken });

  before(async () => {
    node = await startTestNode({ db: 'sqlite' });
    writeFileSync(path.join(dir, 'fw.bin'), Buffer.from('root program firmware '.repeat(200)));
  });
  after(async () => {
    for (const s of stations) await s.close().catch(() => undefined);
    await node.stop();
  });

  test('firmware list on an empty node says so', async () => {
    const r = await run(['firmware', 'list']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /no images/);
  });

  test('firmware upload --version is the image version, not evguard\'s', async () => {
    const r = await run(['firmware', 'upload', path.join(dir, 'fw.bin'), '--vendor', 'Acme', '--model', 'AC22', '--version', '1.1.0']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Acme 1\.1\.0 {2}sha256 [0-9a-f]{64} {2}signed/);
    const list = await run(['firmware', 'list']);
    assert.match(list.stdout, /Acme\s+1\.1\.0\s+AC22/);
    // The old spelling of --api still works.
    const old = await evguard(['firmware', 'list', '--url', node.http, '--token', node.adminToken], {});
    assert.match(old.stdout, /1\.1\.0/, old.stderr);
    // And the root's own version flag is still there.
    assert.match((await run(['--version'])).stdout, /^\d+\.\d+\.\d+/);
  });

  test('a halted campaign: the banner counts every failure, and resume continues', async () => {
    const options = { ...(await stationFirmwareOptions(node)), failInstall: true };
    for (const id of ['cli-fail-1', 'cli-fail-2']) stations.push(await startStation(node, id, '2.0.1', '1.0.0', options));
    const image = await upload(node, { vendor: VENDOR, model: MODEL, version: '1.2.0' }, Buffer.from('halting firmware '.repeat(300)));
    assert.equal(image.status, 201, JSON.stringify(image.body));
    const created = await run(['firmware', 'campaign', 'create', '--firmware', image.body.id, '--stations', 'cli-fail-1,cli-fail-2', '--canary', '100', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const id = JSON.parse(created.stdout).id;
    // Both canaries fail; the second after the campaign has halted on the first.
    await eventually('both stations failed', async () => {
      const c = (await node.api('GET', `/api/v1/campaigns/${id}`)).body;
      return c.state === 'halted' && c.counts.failed === 2;
    }, 60_000);
    const shown = await run(['firmware', 'campaign', 'show', id]);
    assert.match(shown.stdout, /halted \(2 of 2 stations dispatched failed/);
    assert.match(shown.stdout, /failed=2/);

    const resumed = await run(['firmware', 'campaign', 'resume', id]);
    assert.equal(resumed.code, 0, resumed.stderr);
    // Every station has an outcome, so the resumed campaign completes instead of halting again.
    assert.match(resumed.stdout, /completed/);
    assert.equal((await node.api('GET', `/api/v1/campaigns/${id}`)).body.state, 'completed');
    const again = await run(['firmware', 'campaign', 'resume', id]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /cannot resume a completed campaign/);
  });

  test('pki is registered: list, and revoke by serial', async () => {
    const list = await run(['pki', 'list', '--data-dir', node.dataDir]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /station-ca/);
    // Last in this file: later uploads would be signed with a revoked certificate.
    const cert = (await node.api('GET', '/api/v1/certificates')).body.find((c: any) => c.kind === 'code-signing');
    const revoked = await run(['pki', 'revoke', cert.serialHex, '--reason', 'superseded', '--data-dir', node.dataDir]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /revoked/);
    const bad = await run(['pki', 'revoke', 'not-hex', '--data-dir', node.dataDir]);
    assert.equal(bad.code, 2);
  });
});
