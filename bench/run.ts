/**
 * `npm run bench [-- --quick] [--stations N] [--workers W] [--nodes N] [--profile] [--heap-snapshot] [--out NAME]`
 *
 * Runs one evguard node (SQLite, TLS, security profile 2), or a cluster of
 * nodes on PostgreSQL and NATS, and, in the same
 * run, a bare `ws` echo server over TLS as the baseline, and drives both with
 * the same load from forked load-generator processes on several loopback
 * source addresses. Phases: connect (stations held, memory per station),
 * realistic mix (latency), saturation (messages/s), reconnect storm after a
 * restart, and the database write rate. The fleet connects in two steps, a
 * quarter and then the rest, so memory per station is the slope between two
 * sizes. Writes bench/results/<name>.json,
 * .md and .svg. Every number in them is measured in this run.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import type { Command, PhaseReport } from './loadgen.js';
import { renderMarkdown, renderSvg, type Results } from './report.js';
import { monotonicMicros, profileWindow, summarizeByModule, summarizeProfile } from './profile.js';
import { heapPerStation, heapTotals } from './heap.js';
import { createScratchDatabase } from '../src/store/scratch-database.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const opt = (name: string, def: number, { fraction = false } = {}) => {
  const i = argv.indexOf(name);
  if (i < 0) return def;
  const v = Number(argv[i + 1]);
  if (!(fraction ? Number.isFinite(v) : Number.isInteger(v)) || v < 1) {
    process.stderr.write(`${name} needs ${fraction ? 'a number of at least 1' : 'a positive integer'}\n`);
    process.exit(2);
  }
  return v;
};
if (flag('--help') || flag('-h')) {
  process.stdout.write('usage: npm run bench [-- --quick] [--stations N] [--workers W] [--nodes N] [--profile] [--heap-snapshot] [--out NAME] [--database-url URL] [--default-malloc]\n  --quick      small sizes, about 2 minutes\n  --stations   stations (and baseline connections), default 600 (quick 200)\n  --workers    load-generator processes, default 3 (quick 2); worker i drives node i mod --nodes\n  --nodes N    a cluster of N nodes (PostgreSQL from --database-url, NATS from --nats-url, default nats://127.0.0.1:4222) against N baseline servers, for fleets past one process\'s open-file limit\n  --heap-snapshot  heap snapshots of the node after each connect step, summed by kind of object per station (heavy: a few thousand stations)\n  --compression N  time compression of the realistic mix (default 60: heartbeat every 5 s, meter values every 1 s; a fraction is allowed, e.g. 5.03 for the traffic of 100,097 stations from 19,900)\n  --profile    CPU profiles of the node in the realistic mix, at saturation and in the storm, naming their top costs (whole profiles kept in /tmp/evguard-bench-profiles-NAME)\n  --out NAME   write bench/results/NAME.{json,md,svg} (default quick or full)\n  --database-url URL  run the node on PostgreSQL: a scratch database is made on that server and dropped after (default: embedded SQLite)\n  --default-malloc  both servers with the glibc malloc defaults (default: MALLOC_MMAP_THRESHOLD_=65536 for both, as docs/operations.md recommends)\n  --render F   re-render F (a results .json) as markdown and SVG\nEVGUARD_BENCH_NODE_FLAGS (environment): more node flags for the evguard node, e.g. --inspect=127.0.0.1:9339 to sample its allocations from DevTools during a phase\nEVGUARD_BENCH_LOADGEN_FLAGS (environment): node flags for the load generators, e.g. --cpu-prof --cpu-prof-dir /tmp/loadgen-profiles\n');
  process.exit(0);
}
if (flag('--render')) {
  // Re-renders the markdown and chart of a results file (after a change to bench/report.ts); measures nothing.
  const file = argv[argv.indexOf('--render') + 1] ?? '';
  let r: Results;
  try {
    r = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    process.stderr.write(`--render needs a results JSON file: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const base = file.replace(/\.json$/, '');
  writeFileSync(`${base}.svg`, renderSvg(r));
  writeFileSync(`${base}.md`, renderMarkdown(r, `${path.basename(base)}.svg`));
  process.stdout.write(`wrote ${base}.md and ${base}.svg\n`);
  process.exit(0);
}
const quick = flag('--quick');
const NODES = opt('--nodes', 1);
const natsAt = argv.indexOf('--nats-url');
const natsUrl = natsAt >= 0 ? argv[natsAt + 1] ?? '' : 'nats://127.0.0.1:4222';
const heapSnapshots = flag('--heap-snapshot');
/**
 * glibc malloc for both servers, the node and the baseline alike, as
 * docs/operations.md sets it in production: allocations of 64 KiB and more
 * each get their own mapping. Every TLS connection keeps one such buffer for
 * its whole life (Node's TLSWrap sizes its encrypted-input buffer by libuv's
 * 64 KiB read suggestion); from the heap, glibc often hands it memory that
 * earlier allocations touched, so much of it stays resident, while mapped
 * only the pages written are. `--default-malloc` runs both servers with
 * glibc's defaults instead; MALLOC_MMAP_THRESHOLD_ in the environment
 * overrides the value for both.
 */
const SERVER_MALLOC: Record<string, string> = flag('--default-malloc')
  ? {}
  : { MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? '65536', ...(process.env.MALLOC_TRIM_THRESHOLD_ ? { MALLOC_TRIM_THRESHOLD_: process.env.MALLOC_TRIM_THRESHOLD_ } : {}) };
/** The first connect step's share of the fleet; memory per station is the slope from there to the whole fleet. */
const FIRST_STEP = 0.25;
const SIZE = {
  stations: opt('--stations', quick ? 200 : 600),
  workers: opt('--workers', quick ? 2 : 3),
  realisticMs: quick ? 15_000 : 45_000,
  saturateMs: quick ? 8_000 : 20_000,
  /** Time compression of the realistic mix: 60 means a 300 s heartbeat every 5 s. */
  compression: opt('--compression', 60, { fraction: true }),
  chargingShare: 0.25,
};
/** Results go to bench/results/<name>.{json,md,svg}: `--out NAME`, else quick or full. */
const outAt = argv.indexOf('--out');
const name = outAt >= 0 ? argv[outAt + 1] ?? '' : quick ? 'quick' : 'full';
if (!/^[a-z0-9-]+$/.test(name)) {
  process.stderr.write('--out takes a name of lower-case letters, digits and dashes, e.g. full-20000\n');
  process.exit(2);
}
const TOKEN = 'bench-admin-token-0123456789abcdef';
const dbUrlAt = argv.indexOf('--database-url');
const serverUrl = dbUrlAt >= 0 ? argv[dbUrlAt + 1] ?? '' : undefined;
if (serverUrl !== undefined && !/^postgres(ql)?:\/\//.test(serverUrl)) {
  process.stderr.write('--database-url takes a postgres:// URL of a server where the benchmark may create a scratch database\n');
  process.exit(2);
}
if (NODES > 1 && serverUrl === undefined) {
  process.stderr.write('--nodes runs a cluster, which needs PostgreSQL: add --database-url postgres://postgres@127.0.0.1:5432/postgres\n');
  process.exit(2);
}
if (NODES > 1 && !/^nats:\/\//.test(natsUrl)) {
  process.stderr.write('--nats-url takes a nats:// URL\n');
  process.exit(2);
}
if (NODES > SIZE.workers) {
  process.stderr.write(`--nodes ${NODES} needs at least as many --workers (each load generator drives one node)\n`);
  process.exit(2);
}
if (heapSnapshots && NODES > 1) {
  process.stderr.write('--heap-snapshot accounts for one node; leave out --nodes\n');
  process.exit(2);
}

/**
 * The node's database, seen from the benchmark: a scratch PostgreSQL database
 * (made on --database-url's server, dropped at the end) or the node's SQLite file.
 */
interface BenchDb {
  readonly nodeArgs: string[];
  /** Registers every id as a copy of `template`'s row (salted hash included). */
  copyStation(template: string, ids: string[]): Promise<void>;
  /** Rows in the tables a station message adds to. */
  rows(): Promise<number>;
  drop(): Promise<void>;
}

const GROWING_TABLES = ['transaction_events', 'station_reports'];
const COPY_STATION = (p: (i: number) => string) =>
  `INSERT INTO stations (id, security_profile, password_hash, registration, tags, created_at, updated_at) SELECT ${p(1)}, security_profile, password_hash, registration, tags, created_at, updated_at FROM stations WHERE id = ${p(2)}`;

async function benchDatabase(dataDir: string): Promise<BenchDb> {
  if (serverUrl === undefined) {
    const file = path.join(dataDir, 'evguard.db');
    return {
      nodeArgs: [],
      async copyStation(template, ids) {
        const db = new SQLite(file);
        db.pragma('busy_timeout = 10000');
        const copy = db.prepare(COPY_STATION(() => '?'));
        db.transaction(() => {
          for (const id of ids) copy.run(id, template);
        })();
        db.close();
      },
      async rows() {
        const db = new SQLite(file, { readonly: true, fileMustExist: true });
        try {
          return GROWING_TABLES.reduce((n, t) => n + Number((db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n), 0);
        } finally {
          db.close();
        }
      },
      async drop() {},
    };
  }
  const scratch = await createScratchDatabase(serverUrl, 'evguard_bench');
  const client = new pg.Client({ connectionString: scratch.url });
  await client.connect();
  return {
    nodeArgs: ['--database-url', scratch.url],
    async copyStation(template, ids) {
      await client.query('BEGIN');
      for (const id of ids) await client.query(COPY_STATION((i) => `$${i}`), [id, template]);
      await client.query('COMMIT');
    },
    async rows() {
      let n = 0;
      for (const t of GROWING_TABLES) n += Number((await client.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
      return n;
    },
    async drop() {
      await client.end();
      await scratch.drop();
    },
  };
}

const log = (m: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** CPU time (ms) and resident memory (bytes) of a process, from /proc. */
function procStats(pid: number): { cpuMs: number; rss: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { cpuMs: (ticks * 1000) / 100, rss: rssKb * 1024 };
}

function waitOutput(child: ChildProcess, re: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      const m = re.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        resolve(m);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before it was ready:\n${out}`)));
  });
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'evguard-bench-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

interface NodePorts {
  http: number;
  tls: number;
}

/** Node `index` of the run; with --nodes, a member of one cluster (the nodes share the data directory, as docs/cluster.md shows). */
async function startNode(index: number, ports: NodePorts, profile: boolean, database: BenchDb): Promise<ChildProcess> {
  const config = path.join(tmp, 'bench-config.json');
  // The rate limit protects against one misbehaving station; the saturation run is many well-behaved ones at full speed.
  writeFileSync(config, JSON.stringify({ ocpp: { ratePerSecond: 100_000, rateBurst: 100_000 } }));
  const v8 = [...(process.env.EVGUARD_BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []), ...(profile ? ['--cpu-prof', '--cpu-prof-dir', path.join(tmp, 'profile')] : []), ...(heapSnapshots ? ['--heapsnapshot-signal=SIGUSR2', '--diagnostic-dir', path.join(tmp, 'heap')] : [])];
  const cluster = NODES > 1 ? ['--nats-url', natsUrl] : [];
  const args = [...v8, path.join(ROOT, 'dist/src/cli/main.js'), 'serve', '--host', '127.0.0.1', '--port', String(ports.http), '--tls-port', String(ports.tls), '--data-dir', path.join(tmp, 'node'), '--config', config, '--log-level', 'error', ...database.nodeArgs, ...cluster];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...SERVER_MALLOC, EVGUARD_ADMIN_TOKEN: TOKEN, EVGUARD_NODE_ID: `bench-${index + 1}` }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await waitOutput(child, /wss:\/\/localhost:\d+/, 'evguard node');
  return child;
}

async function startEcho(cert: string, key: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/bench/echo-server.js'), cert, key, String(port)], { cwd: ROOT, env: { ...process.env, ...SERVER_MALLOC }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await waitOutput(child, /listening \d+/, 'echo server');
  return child;
}

async function api(port: number, method: string, p: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : undefined;
}

/**
 * One read of a node's /metrics: a sample's value by its name and labels as
 * Prometheus writes them (e.g. `evguard_tls_handshakes_total{resumed="true"}`),
 * NaN when it is not there.
 */
async function readMetrics(port: number): Promise<(sample: string) => number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  return (sample) => Number(new RegExp(`^${sample.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

/** Per OCPP action, the nodes' time from a station's CALL to its answer, added up (seconds), and the count (from their /metrics). */
async function callTimes(ports: NodePorts[]): Promise<Map<string, { seconds: number; count: number }>> {
  const totals = new Map<string, { seconds: number; count: number }>();
  for (const p of ports) {
    const text = await (await fetch(`http://127.0.0.1:${p.http}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    for (const m of text.matchAll(/^evguard_ocpp_call_duration_seconds_(sum|count)\{action="([^"]+)"[^}]*\} (\S+)$/gm)) {
      const t = totals.get(m[2]!) ?? { seconds: 0, count: 0 };
      if (m[1] === 'sum') t.seconds += Number(m[3]);
      else t.count += Number(m[3]);
      totals.set(m[2]!, t);
    }
  }
  return totals;
}

/** The mean time in the node per action between two reads of `callTimes`, for the actions answered in between. */
function meanCallMs(before: Map<string, { seconds: number; count: number }>, after: Map<string, { seconds: number; count: number }>): Record<string, { count: number; meanMs: number }> {
  const out: Record<string, { count: number; meanMs: number }> = {};
  for (const [action, a] of after) {
    const b = before.get(action) ?? { seconds: 0, count: 0 };
    const count = a.count - b.count;
    if (count > 0) out[action] = { count, meanMs: (1000 * (a.seconds - b.seconds)) / count };
  }
  return out;
}

/** TLS handshakes the node completed, resumed and full (from its /metrics). */
async function tlsHandshakes(port: number): Promise<{ resumed: number; full: number }> {
  const read = await readMetrics(port);
  const count = (resumed: boolean) => read(`evguard_tls_handshakes_total{resumed="${resumed}"}`) || 0;
  return { resumed: count(true), full: count(false) };
}

/**
 * The nodes' event-loop delay (p99, max; the largest over the nodes) since
 * their /metrics was last read: prom-client starts its histogram over at
 * every read, so a read before a phase and one after it cover the phase.
 */
async function nodeLoopDelay(ports: NodePorts[]): Promise<{ p99Ms: number; maxMs: number }> {
  const one = async (p: NodePorts) => {
    const read = await readMetrics(p.http);
    // prom-client's histogram holds whole intervals of its 10 ms timer (src/metrics.ts keeps the default): the delay is past that.
    const delay = (metric: string) => Math.max(0, 1000 * read(metric) - 10);
    return { p99Ms: delay('nodejs_eventloop_lag_p99_seconds'), maxMs: delay('nodejs_eventloop_lag_max_seconds') };
  };
  const all = await Promise.all(ports.map(one));
  return { p99Ms: Math.max(...all.map((d) => d.p99Ms)), maxMs: Math.max(...all.map((d) => d.maxMs)) };
}

/** The nodes' V8 heap (used, reserved) and memory outside it held by JS objects, from their /metrics, added up. */
async function nodeHeap(ports: NodePorts[]): Promise<{ used: number; total: number; external: number }> {
  const one = async (p: NodePorts) => {
    const read = await readMetrics(p.http);
    return { used: read('nodejs_heap_size_used_bytes'), total: read('nodejs_heap_size_total_bytes'), external: read('nodejs_external_memory_bytes') };
  };
  return (await Promise.all(ports.map(one))).reduce((a, b) => ({ used: a.used + b.used, total: a.total + b.total, external: a.external + b.external }));
}

interface Worker {
  child: ChildProcess;
  send(c: Command): Promise<PhaseReport>;
}

async function startWorkers(n: number): Promise<Worker[]> {
  return Promise.all(Array.from({ length: n }, async () => {
    const child = fork(path.join(ROOT, 'dist/bench/loadgen.js'), [], { execArgv: process.env.EVGUARD_BENCH_LOADGEN_FLAGS?.split(' ').filter(Boolean) ?? [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    await new Promise<void>((r) => child.once('message', () => r()));
    return {
      child,
      send: (c: Command) =>
        new Promise<PhaseReport>((resolve, reject) => {
          child.once('message', (m: any) => (m.ok ? resolve(m) : reject(new Error(m.error))));
          child.send(c);
        }),
    };
  }));
}

/** Sends a command to every worker at once and merges their reports. */
async function phase(workers: Worker[], c: Command | ((i: number) => Command)) {
  const t0 = performance.now();
  const reports = await Promise.all(workers.map((w, i) => w.send(typeof c === 'function' ? c(i) : c)));
  const samples = reports.flatMap((r) => r.samples).sort((a, b) => a - b);
  const pct = (p: number) => (samples.length ? samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))]! : 0);
  const errors: Record<string, number> = {};
  for (const r of reports) for (const [k, v] of Object.entries(r.errors ?? {})) errors[k] = (errors[k] ?? 0) + v;
  const reasons: Record<string, number> = {};
  for (const r of reports) for (const [k, v] of Object.entries(r.reasons ?? {})) reasons[k] = (reasons[k] ?? 0) + v;
  return {
    wallMs: performance.now() - t0,
    open: reports.reduce((s, r) => s + r.open, 0),
    calls: reports.reduce((s, r) => s + r.calls, 0),
    failures: reports.reduce((s, r) => s + r.failures, 0),
    loadgenCpuMs: reports.reduce((s, r) => s + r.cpuMs, 0),
    /** The slowest generator's event-loop delay (p99, max) in the phase. */
    loadgenLoopDelay: { p99Ms: Math.max(0, ...reports.map((r) => r.loopDelay?.p99Ms ?? 0)), maxMs: Math.max(0, ...reports.map((r) => r.loopDelay?.maxMs ?? 0)) },
    p50: pct(50),
    p99: pct(99),
    max: samples.at(-1) ?? 0,
    errors,
    reasons,
  };
}


/** The open-file limit (soft/hard) every process of the run has: one node holds at most that many connections. */
function openFileLimit(): string {
  const line = /Max open files\s+(\S+)\s+(\S+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  return line ? `${line[1]}/${line[2]}` : 'unknown';
}

/** Loopback source addresses per worker: 127.0.0.2 upwards, four each (64k ephemeral ports apiece). */
const addressesFor = (w: number) => Array.from({ length: 4 }, (_, k) => `127.0.${1 + w}.${2 + k}`);

/** CPU and RSS of several processes, added up. */
function statsOf(children: ChildProcess[]): { cpuMs: number; rss: number } {
  return children.map((c) => procStats(c.pid!)).reduce((a, b) => ({ cpuMs: a.cpuMs + b.cpuMs, rss: a.rss + b.rss }), { cpuMs: 0, rss: 0 });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Writes a heap snapshot of the node (it listens for SIGUSR2) and sums it by
 * kind of object. The node writes it on its main thread, so its API answers
 * again only once the file is complete.
 */
async function snapshotNode(node: ChildProcess, httpPort: number) {
  const dir = path.join(tmp, 'heap');
  mkdirSync(dir, { recursive: true });
  const known = new Set(readdirSync(dir));
  node.kill('SIGUSR2');
  await sleep(500);
  // A kept-alive connection can meet the server's idle timer the moment the
  // main thread is free again (ECONNRESET): ask again on a fresh one.
  for (let attempt = 1; ; attempt++) {
    const ok = await fetch(`http://127.0.0.1:${httpPort}/healthz`).then(() => true, (err) => (attempt < 5 ? false : Promise.reject(err)));
    if (ok) break;
    await sleep(200);
  }
  const file = readdirSync(dir).find((f) => !known.has(f) && f.endsWith('.heapsnapshot'));
  if (!file) throw new Error('the node wrote no heap snapshot');
  const totals = heapTotals(path.join(dir, file));
  rmSync(path.join(dir, file));
  return totals;
}

/**
 * Connects the fleet in two steps (a quarter, then the rest) and reads the
 * servers' RSS after each, so memory per station is a slope between two
 * sizes and one-off growth (JIT code, heap expansion) does not count.
 */
async function connectInSteps(servers: ChildProcess[], workers: Worker[], command: (worker: number, step: 0 | 1) => Command, atEachStep?: (step: 0 | 1) => Promise<void>, heapOf?: () => Promise<{ used: number; total: number; external: number }>) {
  const before = statsOf(servers);
  const first = await phase(workers, (i) => command(i, 0));
  await sleep(2000);
  // A heap snapshot grows the node's RSS for a while: the slope starts after it has settled.
  if (atEachStep) {
    await atEachStep(0);
    await sleep(5000);
  }
  const mid = statsOf(servers);
  const heapMid = await heapOf?.();
  const second = await phase(workers, (i) => command(i, 1));
  await sleep(2000);
  const held = statsOf(servers);
  const heapHeld = await heapOf?.();
  await atEachStep?.(1);
  const open = second.open;
  const added = Math.max(1, open - first.open);
  const heapSlope = heapMid && heapHeld ? { heapUsedBytesPerStation: (heapHeld.used - heapMid.used) / added, heapTotalBytesPerStation: (heapHeld.total - heapMid.total) / added, externalBytesPerStation: (heapHeld.external - heapMid.external) / added } : {};
  return {
    open,
    firstOpen: first.open,
    result: {
      stations: open,
      failed: first.failures + second.failures,
      seconds: (first.wallMs + second.wallMs) / 1000,
      rssBeforeMiB: before.rss / 2 ** 20,
      rssAfterMiB: held.rss / 2 ** 20,
      bytesPerStation: (held.rss - before.rss) / Math.max(1, open),
      slope: { fromStations: first.open, toStations: open, bytesPerStation: (held.rss - mid.rss) / added, ...heapSlope },
      errors: { ...first.errors, ...second.errors },
    },
    cpuMs: held.cpuMs - before.cpuMs,
  };
}

/**
 * The node, the baseline server and the generators run compiled (dist/), as
 * `npm start` runs evguard: under tsx, esbuild's keepNames gives every
 * closure a redefined `name` (a dictionary-mode object, several per
 * connection) and a loader thread runs beside the main one.
 */
function ensureBuilt(): void {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-if-stale.mjs')], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
}

async function main() {
  const started = Date.now();
  ensureBuilt();
  log(`${name} run: ${SIZE.stations} stations on ${NODES} node${NODES > 1 ? 's' : ''}, ${SIZE.workers} load-generator processes, realistic ${SIZE.realisticMs / 1000} s, saturation ${SIZE.saturateMs / 1000} s`);
  const perWorker = (i: number) => Math.floor(SIZE.stations / SIZE.workers) + (i < SIZE.stations % SIZE.workers ? 1 : 0);
  const width = (i: number) => String(perWorker(i)).length;
  /** Station ids of worker w, split into the two connect steps. */
  const idsOf = (prefix: string, w: number): [string[], string[]] => {
    const all = Array.from({ length: perWorker(w) }, (_, n) => `${prefix}${w}-${String(n + 1).padStart(width(w), '0')}`);
    const cut = Math.max(1, Math.round(all.length * FIRST_STEP));
    return [all.slice(0, cut), all.slice(cut)];
  };
  const results: Results = {
    name,
    date: new Date().toISOString(),
    machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1), node: process.version, platform: `${os.type()} ${os.release()}`, evguard: JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version, loadAverageAtStart: os.loadavg()[0]!, openFileLimit: openFileLimit() },
    sizes: { ...SIZE, nodes: NODES, passwords: 'generated by evguard at registration, stored as salted HMAC-SHA-256', malloc: Object.keys(SERVER_MALLOC).length ? `glibc, ${Object.entries(SERVER_MALLOC).map(([k, v]) => `${k}=${v}`).join(', ')}` : 'glibc defaults', database: serverUrl === undefined ? 'SQLite' : 'PostgreSQL' },
    evguard: {} as any,
    baseline: {} as any,
  };

  // ── evguard ──────────────────────────────────────────────────────────
  const ports: NodePorts[] = [];
  for (let i = 0; i < NODES; i++) ports.push({ http: await freePort(), tls: await freePort() });
  const database = await benchDatabase(path.join(tmp, 'node'));
  // The first node makes the schema and the PKI; the others join it.
  const nodes: ChildProcess[] = [];
  for (let i = 0; i < NODES; i++) nodes.push(await startNode(i, ports[i]!, flag('--profile') && i === 0, database));
  const cas: string[] = (await api(ports[0]!.http, 'GET', '/api/v1/pki/cas')).map((c: { pem: string }) => c.pem);
  log('registering stations');
  const ids = Array.from({ length: SIZE.workers }, (_, w) => idsOf('B', w));
  const everyId = ids.flatMap(([a, b]) => [...a, ...b]);
  // The first station goes through the API; the rest get copies of its row, salted hash included, so
  // setup does not spend minutes hashing the same password. Every connection is still checked against it.
  // evguard generates the password, as it does for a station registered without one: the usual deployment.
  const { password } = (await api(ports[0]!.http, 'POST', '/api/v1/stations', { id: everyId[0], securityProfile: 2 })) as { password: string };
  await database.copyStation(everyId[0]!, everyId.slice(1));
  for (let n = 1; n <= Math.max(...Array.from({ length: SIZE.workers }, (_, w) => perWorker(w))); n++) await api(ports[0]!.http, 'PUT', `/api/v1/id-tokens/TAG${String(n).padStart(6, '0')}`, { status: 'Accepted' }).catch(() => undefined);

  const workers = await startWorkers(SIZE.workers);
  const nodeOf = (worker: number) => worker % NODES;
  log(`evguard: connecting the fleet (${Math.round(FIRST_STEP * 100)} %, then the rest)`);
  const snapshots: ReturnType<typeof heapTotals>[] = [];
  const connected = await connectInSteps(
    nodes,
    workers,
    (i, step) => ({ cmd: 'connect', target: 'evguard', url: `wss://127.0.0.1:${ports[nodeOf(i)]!.tls}/ocpp`, ids: ids[i]![step], password, ca: cas, localAddresses: addressesFor(i), chargingShare: SIZE.chargingShare, heartbeatMs: 300_000 / SIZE.compression, meterMs: 60_000 / SIZE.compression, concurrency: 50 }),
    heapSnapshots ? async () => void snapshots.push(await snapshotNode(nodes[0]!, ports[0]!.http)) : undefined,
    () => nodeHeap(ports),
  );
  results.evguard.connect = { ...connected.result, nodeCpuMsPerStation: connected.cpuMs / Math.max(1, connected.open) };
  if (snapshots.length === 2) results.heap = heapPerStation(snapshots[0]!, snapshots[1]!, Math.max(1, connected.open - connected.firstOpen));
  const connect = { open: connected.open };
  log(`evguard: ${connect.open} stations held, ${(results.evguard.connect.slope!.bytesPerStation / 1024).toFixed(1)} KiB each (slope ${connected.firstOpen} → ${connected.open})`);

  log('evguard: realistic mix');
  let rows0 = await database.rows();
  let cpu0 = statsOf(nodes).cpuMs;
  await nodeLoopDelay(ports);
  const realisticWindow = { from: monotonicMicros(), to: 0 };
  const realistic = await phase(workers, { cmd: 'realistic', durationMs: SIZE.realisticMs });
  realisticWindow.to = monotonicMicros();
  const nodeDelay = await nodeLoopDelay(ports);
  let cpu1 = statsOf(nodes).cpuMs;
  let rows1 = await database.rows();
  results.evguard.realistic = { messages: realistic.calls, failures: realistic.failures, perSecond: realistic.calls / (realistic.wallMs / 1000), p50Ms: realistic.p50, p99Ms: realistic.p99, maxMs: realistic.max, nodeCpuCores: (cpu1 - cpu0) / realistic.wallMs, loadgenCpuCores: realistic.loadgenCpuMs / realistic.wallMs, dbRowsPerSecond: (rows1 - rows0) / (realistic.wallMs / 1000), loopDelay: { node: nodeDelay, loadgen: realistic.loadgenLoopDelay } };
  log(`evguard: p50 ${realistic.p50.toFixed(1)} ms, p99 ${realistic.p99.toFixed(1)} ms; event-loop delay p99/max: node ${nodeDelay.p99Ms.toFixed(0)}/${nodeDelay.maxMs.toFixed(0)} ms, slowest load generator ${realistic.loadgenLoopDelay.p99Ms.toFixed(0)}/${realistic.loadgenLoopDelay.maxMs.toFixed(0)} ms`);

  log('evguard: saturation');
  rows0 = await database.rows();
  cpu0 = statsOf(nodes).cpuMs;
  const calls0 = await callTimes(ports);
  const saturationWindow = { from: monotonicMicros(), to: 0 };
  const sat = await phase(workers, { cmd: 'saturate', durationMs: SIZE.saturateMs });
  saturationWindow.to = monotonicMicros();
  cpu1 = statsOf(nodes).cpuMs;
  rows1 = await database.rows();
  const nodeCallMs = meanCallMs(calls0, await callTimes(ports));
  results.evguard.saturation = { messages: sat.calls, failures: sat.failures, perSecond: sat.calls / (sat.wallMs / 1000), p50Ms: sat.p50, p99Ms: sat.p99, nodeCpuCores: (cpu1 - cpu0) / sat.wallMs, loadgenCpuCores: sat.loadgenCpuMs / sat.wallMs, dbRowsPerSecond: (rows1 - rows0) / (sat.wallMs / 1000), nodeCallMs };
  log(`evguard: ${results.evguard.saturation.perSecond.toFixed(0)} messages/s, ${results.evguard.saturation.dbRowsPerSecond.toFixed(0)} rows/s; in the node, per action: ${Object.entries(nodeCallMs).map(([a, v]) => `${a} ${v.count} × ${v.meanMs.toFixed(1)} ms`).join(', ')}`);

  // Two storms: stations that resume their TLS sessions (the node's ticket keys
  // outlive the restart), then the same with every session forgotten (a full
  // handshake each, as a station without a session cache makes).
  // A CPU profile is written when the node exits normally, so a profiled run stops it with SIGINT instead of killing it.
  const stopSignal = flag('--profile') ? 'SIGINT' : 'SIGKILL';
  const stormWindow = { from: 0, to: 0 };
  const storm = async (resume: boolean) => {
    log(`evguard: reconnect storm (${stopSignal} to every node, restart on the same ports, ${resume ? 'TLS resumption' : 'full TLS handshakes'})`);
    await Promise.all(nodes.map((n) => new Promise((r) => (n.once('exit', r), n.kill(stopSignal)))));
    const restartAt = performance.now();
    // A profiled run profiles the first restarted node too: the storm's own costs.
    nodes.splice(0, nodes.length, ...(await Promise.all(ports.map((p, i) => startNode(i, p, flag('--profile') && i === 0, database)))));
    const listeningMs = performance.now() - restartAt;
    const c0 = statsOf(nodes).cpuMs;
    stormWindow.from = monotonicMicros();
    const back = await phase(workers, { cmd: 'storm', deadlineMs: 240_000, resume });
    stormWindow.to = monotonicMicros();
    const c1 = statsOf(nodes).cpuMs;
    const tls = (await Promise.all(ports.map((p) => tlsHandshakes(p.http)))).reduce((a, b) => ({ resumed: a.resumed + b.resumed, full: a.full + b.full }));
    const resumedShare = tls.resumed / Math.max(1, tls.resumed + tls.full);
    log(`evguard: ${back.calls}/${connect.open} back ${(back.max / 1000).toFixed(1)} s after the nodes listened, ${(resumedShare * 100).toFixed(0)} % of TLS handshakes resumed${Object.keys(back.reasons).length ? `; failures: ${JSON.stringify(back.reasons)}` : ''}`);
    return { stopSignal, resumedShare, stations: back.calls, of: connect.open, restartToListeningS: listeningMs / 1000, listeningToAllBackS: back.max / 1000, p50BackS: back.p50 / 1000, nodeCpuCores: (c1 - c0) / back.wallMs, nodeCpuMsPerStation: (c1 - c0) / Math.max(1, back.calls), loadgenCpuCores: back.loadgenCpuMs / back.wallMs, retries: back.failures, failureReasons: back.reasons };
  };
  results.evguard.storm = await storm(true);
  // A profiled run keeps one storm: the profile is of the first node process only.
  if (!flag('--profile')) results.evguard.stormFullHandshake = await storm(false);
  await phase(workers, { cmd: 'stop' });
  for (const w of workers) w.child.kill();
  await Promise.all(nodes.map((n) => new Promise((r) => (n.once('exit', r), n.kill('SIGINT')))));

  // ── baseline: bare ws echo over TLS, as many servers as nodes ────────
  const cert = path.join(tmp, 'echo.crt');
  const key = path.join(tmp, 'echo.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  const echoPorts: number[] = [];
  for (let i = 0; i < NODES; i++) echoPorts.push(await freePort());
  const echoes = await Promise.all(echoPorts.map((p) => startEcho(cert, key, p)));
  const echoWorkers = await startWorkers(SIZE.workers);
  log('baseline: connecting');
  const eIds = Array.from({ length: SIZE.workers }, (_, w) => idsOf('E', w));
  const eConnected = await connectInSteps(echoes, echoWorkers, (i, step) => ({ cmd: 'connect', target: 'echo', url: `wss://127.0.0.1:${echoPorts[nodeOf(i)]}/`, ids: eIds[i]![step], password: '', ca: readFileSync(cert, 'utf8'), localAddresses: addressesFor(i), chargingShare: SIZE.chargingShare, heartbeatMs: 300_000 / SIZE.compression, meterMs: 60_000 / SIZE.compression, concurrency: 50 }));
  results.baseline.connect = eConnected.result;
  const eConnect = { open: eConnected.open };
  log('baseline: realistic mix');
  cpu0 = statsOf(echoes).cpuMs;
  const eReal = await phase(echoWorkers, { cmd: 'realistic', durationMs: SIZE.realisticMs });
  cpu1 = statsOf(echoes).cpuMs;
  results.baseline.realistic = { messages: eReal.calls, failures: eReal.failures, perSecond: eReal.calls / (eReal.wallMs / 1000), p50Ms: eReal.p50, p99Ms: eReal.p99, maxMs: eReal.max, nodeCpuCores: (cpu1 - cpu0) / eReal.wallMs, loadgenCpuCores: eReal.loadgenCpuMs / eReal.wallMs, loopDelay: { loadgen: eReal.loadgenLoopDelay } };
  log('baseline: saturation');
  cpu0 = statsOf(echoes).cpuMs;
  const eSat = await phase(echoWorkers, { cmd: 'saturate', durationMs: SIZE.saturateMs });
  cpu1 = statsOf(echoes).cpuMs;
  results.baseline.saturation = { messages: eSat.calls, failures: eSat.failures, perSecond: eSat.calls / (eSat.wallMs / 1000), p50Ms: eSat.p50, p99Ms: eSat.p99, nodeCpuCores: (cpu1 - cpu0) / eSat.wallMs, loadgenCpuCores: eSat.loadgenCpuMs / eSat.wallMs };
  log('baseline: reconnect storm');
  await Promise.all(echoes.map((e) => new Promise((r) => (e.once('exit', r), e.kill('SIGKILL')))));
  const eRestart = performance.now();
  const restarted = await Promise.all(echoPorts.map((p) => startEcho(cert, key, p)));
  const eListening = performance.now() - eRestart;
  const ec0 = statsOf(restarted).cpuMs;
  const eStorm = await phase(echoWorkers, { cmd: 'storm', deadlineMs: 120_000, resume: false });
  const ec1 = statsOf(restarted).cpuMs;
  results.baseline.storm = { stations: eStorm.calls, of: eConnect.open, restartToListeningS: eListening / 1000, listeningToAllBackS: eStorm.max / 1000, p50BackS: eStorm.p50 / 1000, nodeCpuCores: (ec1 - ec0) / eStorm.wallMs, nodeCpuMsPerStation: (ec1 - ec0) / Math.max(1, eStorm.calls), loadgenCpuCores: eStorm.loadgenCpuMs / eStorm.wallMs, retries: eStorm.failures };
  await phase(echoWorkers, { cmd: 'stop' });
  for (const w of echoWorkers) w.child.kill();
  for (const e of restarted) e.kill('SIGTERM');

  if (flag('--profile')) {
    const dir = path.join(tmp, 'profile');
    // V8 names a profile CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile; thread 0 is the main thread (a worker
    // thread writes its own). By start time: the node until the storm, then the node of the storm. Each is cut
    // to its phase: saturation, and the storm from listening to the last station back (start-up left out).
    const [run, storm] = readdirSync(dir).filter((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f)).sort();
    const read = (f: string, w: { from: number; to: number }) => profileWindow(JSON.parse(readFileSync(path.join(dir, f), 'utf8')), w.from, w.to);
    const summary = (p: ReturnType<typeof read>) => [...summarizeProfile(p, 15), ...summarizeByModule(p, 12).map((e) => ({ ...e, function: `all of ${e.function}` }))];
    if (run) results.profile = summary(read(run, saturationWindow));
    if (run) results.realisticProfile = summary(read(run, realisticWindow));
    if (storm) results.stormProfile = summary(read(storm, stormWindow));
    // The whole profiles stay for a closer look (Chrome DevTools, Performance panel), with the phases' windows.
    const kept = path.join(os.tmpdir(), `evguard-bench-profiles-${name}`);
    rmSync(kept, { recursive: true, force: true });
    cpSync(dir, kept, { recursive: true });
    writeFileSync(path.join(kept, 'windows.json'), JSON.stringify({ realistic: realisticWindow, saturation: saturationWindow, storm: stormWindow }));
    log(`profiles kept in ${kept}`);
  }
  await database.drop();
  results.durationS = (Date.now() - started) / 1000;
  results.machine.loadAverageAtEnd = os.loadavg()[0]!;

  const out = path.join(ROOT, 'bench/results');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, `${name}.json`), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(path.join(out, `${name}.svg`), renderSvg(results));
  writeFileSync(path.join(out, `${name}.md`), renderMarkdown(results, `${name}.svg`));
  log(`done in ${results.durationS.toFixed(0)} s: bench/results/${name}.json, .md, .svg`);
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
