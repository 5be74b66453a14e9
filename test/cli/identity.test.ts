/**
 * One configuration for every command: a node's identity (organization,
 * cluster, database, key passphrase source) is written into its data dir at
 * first start, and `intel` and `pki` run with only `--data-dir` act as that
 * node; flags that contradict it exit 2 with a message. Before, `intel pull`
 * on a `--organization partner` node stored everything in the inbox of the
 * default organization "evguard", which nobody saw.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { addSharedSchemas } from '../../src/api/schemas.js';
import { createIntelCommand } from '../../src/intel/cli.js';
import { defaultCollections } from '../../src/intel/index.js';
import { openIntelNode } from '../../src/cli/intel-node.js';
import { createPkiCommand } from '../../src/trust/cli.js';
import { openNode, sampleAlerts, type TestNode as IntelTestNode } from '../intel/fixtures.js';
import { startTestNode } from '../support/node.js';

/** Runs a CLI command in process with the given environment; returns exit code and output. */
async function intel(args: string[], env: Record<string, string> = {}) {
  const saved = { ...process.env };
  Object.assign(process.env, env); // openIntelNode reads the node's environment, as a real run does
  let stdout = '';
  let stderr = '';
  let code = 0;
  try {
    const cmd = createIntelCommand({ open: openIntelNode, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), exit: (c) => { throw Object.assign(new Error('exit'), { exitCode: c }); }, env });
    await cmd.parseAsync(args, { from: 'user' });
  } catch (e) {
    code = (e as { exitCode?: number }).exitCode ?? 1;
  } finally {
    for (const k of Object.keys(env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  return { code, stdout, stderr };
}

async function pki(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  let code = 0;
  const cmd = createPkiCommand({ env, out: (t) => (stdout += t), err: (t) => (stderr += t), exit: (c) => { code = c; } });
  try {
    await cmd.parseAsync(args, { from: 'user' });
  } catch (e) {
    code = (e as { exitCode?: number }).exitCode ?? 1;
  }
  return { code, stdout, stderr };
}

describe('the node identity in its data dir', { timeout: 120_000 }, () => {
  let dir: string;
  let sender: IntelTestNode;
  let taxii: FastifyInstance;
  let url: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'evguard-identity-'));
    const node = await startTestNode({ db: 'sqlite', dataDir: dir, config: { organization: 'partner' } });
    await node.stop({ keepData: true });
    sender = await openNode({ organizationName: 'Sender' });
    await sender.intel.share({ alerts: sampleAlerts() });
    taxii = Fastify();
    addSharedSchemas(taxii);
    await sender.intel.taxiiRoutes(taxii, { authenticate: (req) => (req.headers.authorization === 'Bearer t0k3n' ? { principal: 'cli', role: 'operator' } : undefined) });
    await taxii.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(taxii.server.address() as { port: number }).port}/taxii2/`;
  });
  after(async () => {
    await taxii?.close();
    await sender?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('first start writes node.json (mode 0600) with organization, cluster, database and passphrase source', () => {
    const file = path.join(dir, 'node.json');
    assert.ok(existsSync(file));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const id = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual({ ...id, createdAt: undefined }, { organization: 'partner', clusterName: 'evguard', database: 'sqlite', keyPassphrase: 'generated', createdAt: undefined });
  });

  test('intel pull with only --data-dir lands in the partner inbox; export speaks as partner', async () => {
    const pulled = await intel(['pull', '--data-dir', dir, '--url', url, '--collection', 'shared'], { EVGUARD_TAXII_TOKEN: 't0k3n' });
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.ok(JSON.parse(pulled.stdout).accepted > 0);

    const node = await startTestNode({ db: 'sqlite', dataDir: dir, config: { organization: 'partner' } });
    try {
      const inbox = defaultCollections('partner').find((c) => c.alias === 'inbox')!;
      const res = await fetch(`${node.http}/taxii2/evguard/collections/${inbox.id}/objects/`, { headers: { authorization: `Bearer ${node.adminToken}`, accept: 'application/taxii+json;version=2.1' } });
      assert.equal(res.status, 200);
      const envelope = (await res.json()) as { objects?: unknown[] };
      assert.ok((envelope.objects ?? []).length >= JSON.parse(pulled.stdout).accepted, 'the pulled objects are in the partner inbox');
    } finally {
      await node.stop({ keepData: true });
    }
    const exported = await intel(['export', '--data-dir', dir]);
    assert.equal(exported.code, 0, exported.stderr);
    const identity = JSON.parse(exported.stdout).objects.find((o: { type: string }) => o.type === 'identity');
    assert.equal(identity.name, 'partner');
  });

  test('flags that contradict the stored identity exit 2 and say which node the data dir belongs to', async () => {
    const wrongOrg = await intel(['export', '--data-dir', dir], { EVGUARD_ORGANIZATION: 'evguard' });
    assert.equal(wrongOrg.code, 2);
    assert.match(wrongOrg.stderr, /organization "evguard" disagrees .* whose organization is "partner"/);
    const pkiOrg = await pki(['list', '--data-dir', dir, '--organization', 'someone-else']);
    assert.equal(pkiOrg.code, 2, pkiOrg.stderr);
    assert.match(pkiOrg.stderr, /partner/);
    const pass = await pki(['list', '--data-dir', dir], { EVGUARD_KEY_PASSPHRASE: 'not-the-node-passphrase' });
    assert.equal(pass.code, 2, pass.stderr);
    assert.match(pass.stderr, /generated keys\/master\.key/);
    const db = await pki(['list', '--data-dir', dir, '--database-url', 'postgres://postgres@127.0.0.1:5432/other']);
    assert.equal(db.code, 2, db.stderr);
    // With only --data-dir, pki works as the node.
    const ok = await pki(['list', '--data-dir', dir]);
    assert.equal(ok.code, 0, ok.stderr);
  });
});
