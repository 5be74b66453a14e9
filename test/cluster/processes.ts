/** Runs `evguard serve` as a child process for the cluster tests and the benchmark, and talks to its API. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import type { TestContext } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { SimStation } from '../../src/sim/index.js';
import { streamName } from '../../src/bus/nats.js';
import { createPgDatabase, eventually } from '../support/node.js';

export { upgradeStatus } from '../support/node.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface NodeProcess {
  readonly nodeId: string;
  /** HTTP port: REST API and ws:// OCPP. */
  readonly port: number;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
  api<T = any>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }>;
}

/** Without `databaseUrl` and `natsUrl` it is a single node on SQLite. */
export async function startNodeProcess(o: { nodeId: string; cluster: string; dataDir: string; databaseUrl?: string; natsUrl?: string; adminToken: string; extraArgs?: string[]; env?: Record<string, string> }): Promise<NodeProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'serve', '--host', '127.0.0.1', '--port', '0', '--tls-port', '0', '--data-dir', o.dataDir, ...(o.databaseUrl ? ['--database-url', o.databaseUrl] : []), ...(o.natsUrl ? ['--nats-url', o.natsUrl] : []), '--log-level', process.env.EVGUARD_TEST_NODE_LOGS ? 'info' : 'warn', ...(o.extraArgs ?? [])],
    { cwd: ROOT, env: { ...process.env, EVGUARD_ADMIN_TOKEN: o.adminToken, EVGUARD_CLUSTER: o.cluster, EVGUARD_NODE_ID: o.nodeId, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
  // EVGUARD_TEST_NODE_LOGS=<dir>: keep each node's log there, for debugging a failed run.
  if (process.env.EVGUARD_TEST_NODE_LOGS) {
    const file = createWriteStream(path.join(process.env.EVGUARD_TEST_NODE_LOGS, `node-${o.nodeId}.log`));
    child.stdout!.pipe(file);
    child.stderr!.pipe(file);
  }
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /ws:\/\/localhost:(\d+)\/ocpp/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    void exited.then((code) => reject(new Error(`node ${o.nodeId} exited (${code}) before it listened:\n${err}\n${out}`)));
  });
  return {
    nodeId: o.nodeId,
    port,
    child,
    exited,
    kill: (signal) => void child.kill(signal),
    async api(method, p, body) {
      const res = await fetch(`http://127.0.0.1:${port}${p}`, {
        method,
        headers: { authorization: `Bearer ${o.adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
  };
}

/** Polls `check` until it is true, through `eventually`; fails with `what` after the deadline (a hang guard, not a timing assertion). */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, deadlineMs = 30_000): Promise<void> {
  await eventually(what, check, deadlineMs);
}

export const TEST_NATS_URL = process.env.EVGUARD_TEST_NATS ?? 'nats://127.0.0.1:4222';

/** Three nodes of one fresh cluster (own PostgreSQL database, NATS namespace and key store), torn down after the test. */
export interface ThreeNodeCluster {
  readonly name: string;
  readonly databaseUrl: string;
  readonly nc: NatsConnection;
  readonly nodes: [NodeProcess, NodeProcess, NodeProcess];
  /** Simulated stations the test opens; closed before the nodes are killed. */
  readonly stations: SimStation[];
}

export async function startThreeNodeCluster(t: TestContext, o: { prefix: string; adminToken: string; extraArgs?: string[]; env?: Partial<Record<'a' | 'b' | 'c', Record<string, string>>> }): Promise<ThreeNodeCluster> {
  const name = `${o.prefix}${randomBytes(5).toString('hex')}`;
  const pgdb = await createPgDatabase();
  // Nodes of one cluster share the key store (a shared volume in production).
  const dataDir = mkdtempSync(path.join(tmpdir(), 'evguard-cluster-'));
  const nodes: NodeProcess[] = [];
  const stations: SimStation[] = [];
  const nc = await connect({ servers: TEST_NATS_URL.replace('nats://', '') });
  t.after(async () => {
    for (const s of stations) await s.close().catch(() => undefined);
    for (const n of nodes) n.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(streamName(name)).catch(() => undefined);
    await nc.close();
    await pgdb.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const start = (nodeId: 'a' | 'b' | 'c') => startNodeProcess({ nodeId, cluster: name, dataDir, databaseUrl: pgdb.url, natsUrl: TEST_NATS_URL, adminToken: o.adminToken, extraArgs: o.extraArgs, env: o.env?.[nodeId] });
  // The first node creates the schema and the PKI, and so takes the lead; the others join it.
  nodes.push(await start('a'));
  nodes.push(...(await Promise.all([start('b'), start('c')])));
  return { name, databaseUrl: pgdb.url, nc, nodes: nodes as [NodeProcess, NodeProcess, NodeProcess], stations };
}

