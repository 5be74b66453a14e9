import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { addSharedSchemas } from '../../src/api/schemas.js';
import { createIntelCommand, parseDuration, type IntelCommandDeps } from '../../src/intel/cli.js';
import { TLP2_MARKING_IDS } from '../../src/intel/index.js';
import { FIRMWARE, openNode, sampleAlerts, type TestNode } from './fixtures.js';

class Exit extends Error {
  constructor(readonly code: number) { super(`exit ${code}`); }
}

/** Runs `evguard intel …` in process; returns exit code and output. */
async function runCli(node: TestNode, args: string[], extra: Partial<IntelCommandDeps> = {}) {
  let stdout = '';
  let stderr = '';
  const opened: (string | undefined)[] = [];
  const cmd = createIntelCommand({
    open: async ({ dataDir }) => {
      opened.push(dataDir);
      return {
        intel: node.intel,
        alerts: async (since) => sampleAlerts().filter((a) => !since || a.createdAt >= since),
        close: async () => {},
      };
    },
    stdout: (t) => { stdout += t; },
    stderr: (t) => { stderr += t; },
    exit: (code) => { throw new Exit(code); },
    env: {},
    ...extra,
  });
  let code = 0;
  try {
    await cmd.parseAsync(args, { from: 'user' });
  } catch (e) {
    if (e instanceof Exit) code = e.code;
    else if ((e as { exitCode?: number }).exitCode !== undefined) code = (e as { exitCode: number }).exitCode;
    else throw e;
  }
  return { code, stdout, stderr, opened };
}

describe('evguard intel CLI', () => {
  let node: TestNode;
  let sender: TestNode;
  let app: FastifyInstance;
  let url: string;
  before(async () => {
    node = await openNode();
    sender = await openNode({ organizationName: 'Sender' });
    await sender.intel.share({ alerts: sampleAlerts() });
    app = Fastify();
    addSharedSchemas(app);
    await sender.intel.taxiiRoutes(app, { authenticate: (req) => (req.headers.authorization === 'Bearer t0k3n' ? { principal: 'cli', role: 'operator' } : undefined) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/taxii2/`;
  });
  after(async () => {
    await app.close();
    await sender.close();
    await node.close();
  });

  it('export writes one valid STIX 2.1 bundle to standard output', async () => {
    const { code, stdout, opened } = await runCli(node, ['export', '--since', '2024-05-01T10:30:00Z', '--data-dir', '/tmp/some-node', '--tlp', 'red']);
    assert.equal(code, 0);
    assert.deepEqual(opened, ['/tmp/some-node']);
    const bundle = JSON.parse(stdout);
    assert.equal(bundle.type, 'bundle');
    assert.equal(node.intel.validate(bundle).valid, true);
    assert.ok(bundle.objects.some((o: { id: string }) => o.id === TLP2_MARKING_IDS.red));
    assert.equal(bundle.objects.filter((o: { type: string }) => o.type === 'report').length, 2);
  });

  it('answers bad usage with exit code 2 and says what to fix', async () => {
    const cases: [string[], RegExp][] = [
      [['export', '--since', 'last tuesday'], /ISO-8601/],
      [['export', '--tlp', 'purple'], /clear|amber/],
      [['pull', '--collection', 'x'], /--url/],
      [['pull', '--url', 'ftp://x', '--collection', 'x'], /https:\/\//],
      [['push', '--url', url, '--collection', 'x', '--every', '1s'], /between 10s and 7d/],
      [['push', '--url', 'https://user:pw@x.example/', '--collection', 'x'], /EVGUARD_TAXII_TOKEN/],
      [['nonsense'], /unknown command/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await runCli(node, args);
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, message, args.join(' '));
    }
    const help = await runCli(node, ['pull', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--added-after/);
  });

  it('pull fetches from a TAXII server, enforces, and push sends back; a refused token is a runtime failure', async () => {
    const pulled = await runCli(node, ['pull', '--url', url, '--collection', 'shared'], { env: { EVGUARD_TAXII_TOKEN: 't0k3n' } });
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.ok(JSON.parse(pulled.stdout).enforced >= 4);
    assert.ok(node.intel.match({ firmwareSha256: FIRMWARE }));

    const pushed = await runCli(node, ['push', '--url', url, '--collection', 'inbox', '--token', 't0k3n']);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal(JSON.parse(pushed.stdout).failureCount, 0);

    const refused = await runCli(node, ['pull', '--url', url, '--collection', 'shared', '--token', 'wrong']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /401/);
    assert.ok(!refused.stderr.includes('wrong'), 'the token is not echoed');
  });

  it('parses schedule durations', () => {
    assert.equal(parseDuration('15m'), 900_000);
    assert.equal(parseDuration('1d'), 86_400_000);
    assert.throws(() => parseDuration('8d'));
    assert.throws(() => parseDuration('5s'));
  });
});
