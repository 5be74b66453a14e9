/** Runs `evguard serve` as a child process for the cluster tests and the benchmark, and talks to its API. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { createWriteStream } from 'node:fs';

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

export async function startNodeProcess(o: { nodeId: string; cluster: string; dataDir: string; databaseUrl: string; natsUrl: string; adminToken: string; extraArgs?: string[] }): Promise<NodeProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'serve', '--host', '127.0.0.1', '--port', '0', '--tls-port', '0', '--data-dir', o.dataDir, '--database-url', o.databaseUrl, '--nats-url', o.natsUrl, '--log-level', process.env.EVGUARD_TEST_NODE_LOGS ? 'info' : 'warn', ...(o.extraArgs ?? [])],
    { cwd: ROOT, env: { ...process.env, EVGUARD_ADMIN_TOKEN: o.adminToken, EVGUARD_CLUSTER: o.cluster, EVGUARD_NODE_ID: o.nodeId }, stdio: ['ignore', 'pipe', 'pipe'] },
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

/** Polls `check` until it is true; fails with `what` after the deadline (a hang guard, not a timing assertion). */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, deadlineMs = 30_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
