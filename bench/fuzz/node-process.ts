/**
 * The node under test as a child process (`node --import tsx src/cli/main.ts
 * serve …`), so that a crash is an exit we can see, count and survive: the
 * supervisor restarts it on the same ports and data directory and keeps the
 * tail of its stderr, where Node prints the stack of what killed it. It also
 * samples the process's resident memory and CPU time from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STDERR_KEPT = 64 * 1024;

export interface Crash {
  /** ms since the supervisor started. */
  atMs: number;
  code: number | null;
  signal: string | null;
  /** Last lines of the node's stderr before it died (the stack of an uncaught error). */
  stderrTail: string;
}

export interface NodeStats {
  cpuMs: number;
  rssBytes: number;
}

export interface SupervisedNode {
  readonly http: string;
  readonly httpPort: number;
  readonly tlsPort: number;
  readonly token: string;
  readonly dataDir: string;
  readonly crashes: Crash[];
  /** Current child's pid (changes after a restart). */
  pid(): number | undefined;
  /** Highest VmRSS seen by the sampler, bytes. */
  maxRss(): number;
  /** RSS samples: [ms since start, bytes]. */
  rssSeries(): [number, number][];
  /** CPU time of the node, ms, summed over every process it has been (restarts included). */
  cpuMs(): number;
  api<T = any>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Latency of one GET /healthz in ms, or undefined if it did not answer 200 within `timeoutMs`. */
  health(timeoutMs?: number): Promise<number | undefined>;
  /** Sum of every series of a Prometheus counter or gauge on /metrics; undefined if /metrics did not answer. */
  metric(name: string): Promise<number | undefined>;
  /** Size of the data directory in bytes (database growth). */
  dataBytes(): number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** CPU time (ms) and resident memory (bytes) of a process, from /proc; undefined once it is gone. */
export function procStats(pid: number): NodeStats | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    // /proc counts CPU in clock ticks of 1/100 s (USER_HZ) on Linux.
    return { cpuMs: ticks * 10, rssBytes: rssKb * 1024 };
  } catch {
    return undefined;
  }
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : e.isFile() ? statSync(p).size : 0;
  }
  return n;
}

export interface NodeOptions {
  /** ocpp section of the node's config file; the defaults when absent. */
  ocpp?: Record<string, unknown>;
  databaseUrl?: string;
  /** Restart the node after a crash (the soak); off for the fairness bench, which then fails. */
  restart?: boolean;
  log?: (m: string) => void;
}

export async function startSupervisedNode(o: NodeOptions = {}): Promise<SupervisedNode> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'evguard-fuzz-'));
  const dataDir = path.join(tmp, 'node');
  const configFile = path.join(tmp, 'config.json');
  writeFileSync(configFile, JSON.stringify(o.ocpp ? { ocpp: o.ocpp } : {}));
  const token = 'fuzz-admin-token-0123456789abcdef';
  const httpPort = await freePort();
  const tlsPort = await freePort();
  const http = `http://127.0.0.1:${httpPort}`;
  const t0 = Date.now();
  const crashes: Crash[] = [];
  const series: [number, number][] = [];
  let child: ChildProcess | undefined;
  let stopping = false;
  let maxRss = 0;
  let cpuOfDead = 0;
  let lastCpu = 0;

  const args = ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'serve', '--host', '127.0.0.1', '--port', String(httpPort), '--tls-port', String(tlsPort), '--data-dir', dataDir, '--config', configFile, '--log-level', 'error'];
  if (o.databaseUrl) args.push('--database-url', o.databaseUrl);

  async function launch(): Promise<void> {
    const c = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, EVGUARD_ADMIN_TOKEN: token }, stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    lastCpu = 0;
    let tail = '';
    c.stderr!.on('data', (d: Buffer) => {
      tail = (tail + d.toString('utf8')).slice(-STDERR_KEPT);
    });
    c.once('exit', (code, signal) => {
      cpuOfDead += lastCpu;
      if (stopping || child !== c) return;
      crashes.push({ atMs: Date.now() - t0, code, signal, stderrTail: tail.split('\n').slice(-60).join('\n') });
      o.log?.(`node exited (code ${code}, signal ${signal}); ${o.restart ? 'restarting' : 'not restarting'}`);
      if (o.restart) void launch().catch((err) => o.log?.(`restart failed: ${(err as Error).message}`));
    });
    for (let i = 0; ; i++) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`node exited during start:\n${tail}`);
      if ((await health(2000)) !== undefined) return;
      if (i > 600) throw new Error(`node did not answer /healthz within 2 minutes:\n${tail}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function health(timeoutMs = 5000): Promise<number | undefined> {
    const start = performance.now();
    try {
      const res = await fetch(`${http}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
      await res.arrayBuffer();
      return res.ok ? performance.now() - start : undefined;
    } catch {
      return undefined;
    }
  }

  const sampler = setInterval(() => {
    const pid = child?.pid;
    const s = pid !== undefined && child!.exitCode === null ? procStats(pid) : undefined;
    if (!s) return;
    lastCpu = s.cpuMs;
    maxRss = Math.max(maxRss, s.rssBytes);
    series.push([Date.now() - t0, s.rssBytes]);
  }, 250);
  sampler.unref();

  await launch();
  return {
    http,
    httpPort,
    tlsPort,
    token,
    dataDir,
    crashes,
    pid: () => child?.pid,
    maxRss: () => maxRss,
    rssSeries: () => series,
    cpuMs: () => {
      const s = child?.pid !== undefined && child.exitCode === null ? procStats(child.pid) : undefined;
      if (s) lastCpu = s.cpuMs;
      return cpuOfDead + lastCpu;
    },
    async api(method, p, body) {
      const res = await fetch(http + p, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    health,
    async metric(name) {
      try {
        const res = await fetch(`${http}/metrics`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
        if (!res.ok) return undefined;
        let sum = 0;
        for (const line of (await res.text()).split('\n')) if (line.startsWith(name + '{') || line.startsWith(name + ' ')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
        return sum;
      } catch {
        return undefined;
      }
    },
    dataBytes: () => {
      try {
        return dirBytes(dataDir);
      } catch {
        return 0;
      }
    },
    async stop() {
      stopping = true;
      clearInterval(sampler);
      const c = child;
      if (c && c.exitCode === null && c.signalCode === null) {
        const gone = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
        await gone;
        clearTimeout(t);
      }
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}
