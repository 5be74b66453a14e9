/**
 * Memory probe (`node --import tsx bench/mem-probe.ts`): the connect phase of
 * bench/run.ts only, faster, with the server's memory split by kind of
 * mapping (smaps: main malloc heap, thread arenas, other anonymous memory,
 * which holds the V8 heap) after each step and again SETTLE_MS later.
 * env: STATIONS (2000), WORKERS (3), TARGET=evguard|echo|both, SETTLE_MS,
 * SERVER_ENV=K=V,K=V (the servers only, e.g. MALLOC_MMAP_THRESHOLD_=65536 or
 * LD_PRELOAD=...), TRIM=1 (malloc_trim(0) through gdb, then again), DUMP=1
 * (with LD_PRELOAD of bench/bigalloc-shim.c built as a shared object: live
 * allocations of 32 KiB or more by call stack, with their resident bytes).
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import type { Command, PhaseReport } from '../bench/loadgen.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const STATIONS = Number(process.env.STATIONS ?? 2000);
const WORKERS = Number(process.env.WORKERS ?? 3);
const TARGET = process.env.TARGET ?? 'both';
const SETTLE = Number(process.env.SETTLE_MS ?? 15000);
const TOKEN = 'bench-admin-token-0123456789abcdef';
const extraEnv: Record<string, string> = Object.fromEntries((process.env.SERVER_ENV ?? '').split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
const extraArgs = (process.env.SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'memprobe-'));
const children: ChildProcess[] = [];
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); rmSync(tmp, { recursive: true, force: true }); });
const log = (m: string) => process.stdout.write(`[probe ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function freePort() { const s = createServer(); await new Promise<void>((r) => s.listen(0, '127.0.0.1', r)); const p = (s.address() as AddressInfo).port; await new Promise((r) => s.close(r)); return p; }
function waitOutput(child: ChildProcess, re: RegExp) { return new Promise<void>((resolve, reject) => { let out = ''; const on = (d: Buffer) => { out += d; if (re.test(out)) { child.stdout!.off('data', on); resolve(); } }; child.stdout!.on('data', on); child.once('exit', (c) => reject(new Error(`exited ${c}: ${out}`))); }); }

/** smaps breakdown in KiB: brk heap, glibc thread arenas (64 MiB-aligned anon regions), other anon, file-backed. */
function mem(pid: number) {
  const text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const out = { rss: 0, brk: 0, arenas: 0, anon: 0, file: 0, anonBig: 0 };
  let cur: { start: bigint; name: string; size: number } | undefined;
  const flush = (rss: number) => {
    if (!cur) return;
    out.rss += rss;
    if (cur.name === '[heap]') out.brk += rss;
    else if (cur.name.startsWith('/')) out.file += rss;
    else if ((cur.start & ((1n << 26n) - 1n)) === 0n && cur.size <= 65536) out.arenas += rss;
    else out.anon += rss;
  };
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) { cur = { start: BigInt('0x' + m[1]), name: m[3] ?? '', size: Number((BigInt('0x' + m[2]) - BigInt('0x' + m[1])) / 1024n) }; continue; }
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (r && cur) { flush(Number(r[1])); }
  }
  return out;
}
async function heap(port?: number) {
  if (!port) return { used: NaN, total: NaN, external: NaN };
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  const read = (m: string) => Number(new RegExp(`^${m} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 1024;
  return { used: read('nodejs_heap_size_used_bytes'), total: read('nodejs_heap_size_total_bytes'), external: read('nodejs_external_memory_bytes') };
}
function trim(pid: number) {
  try { execFileSync('gdb', ['-p', String(pid), '-batch', '-ex', 'call (int)malloc_trim(0)'], { stdio: 'ignore', timeout: 60000 }); } catch (e) { log(`gdb failed ${e}`); }
}
interface W { child: ChildProcess; send(c: Command): Promise<PhaseReport> }
async function startWorkers(n: number): Promise<W[]> {
  return Promise.all(Array.from({ length: n }, async () => {
    const child = fork(path.join(ROOT, 'bench/loadgen.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    await new Promise<void>((r) => child.once('message', () => r()));
    let pending: ((r: PhaseReport) => void) | undefined;
    child.on('message', (m: any) => { const p = pending; pending = undefined; p?.(m); });
    return { child, send: (c: Command) => new Promise<PhaseReport>((r) => { pending = r; child.send(c); }) };
  }));
}
const addressesFor = (w: number) => Array.from({ length: 4 }, (_, k) => `127.0.${1 + w}.${2 + k}`);
const perWorker = (i: number) => Math.floor(STATIONS / WORKERS) + (i < STATIONS % WORKERS ? 1 : 0);
const idsOf = (prefix: string, w: number): [string[], string[]] => { const all = Array.from({ length: perWorker(w) }, (_, n) => `${prefix}${w}-${String(n + 1).padStart(6, '0')}`); const cut = Math.max(1, Math.round(all.length * 0.25)); return [all.slice(0, cut), all.slice(cut)]; };

async function steps(label: string, pid: number, httpPort: number | undefined, workers: W[], cmd: (i: number, step: 0 | 1) => Command) {
  const rows: [string, number, ReturnType<typeof mem>, Awaited<ReturnType<typeof heap>>][] = [];
  const snap = async (what: string, open: number) => { rows.push([what, open, mem(pid), await heap(httpPort)]); };
  await snap('start', 0);
  let r = await Promise.all(workers.map((w, i) => w.send(cmd(i, 0))));
  let open = r.reduce((s, x) => s + x.open, 0);
  await sleep(2000); await snap('step1+2s', open);
  r = await Promise.all(workers.map((w, i) => w.send(cmd(i, 1))));
  open = r.reduce((s, x) => s + x.open, 0);
  await sleep(2000); await snap('all+2s', open);
  await sleep(SETTLE); await snap(`all+${2 + SETTLE / 1000}s`, open);
  if (process.env.DUMP) { writeFileSync(`/tmp/bigalloc-dump-${pid}`, ''); await sleep(4000); try { log(`${label} big allocations:\n` + readFileSync(`/tmp/bigalloc-${pid}.txt`, 'utf8').slice(0, 6000)); } catch (e) { log(`no dump ${e}`); } }
  if (process.env.TRIM) { trim(pid); await sleep(1000); await snap('after malloc_trim', open); }
  const [, o1, m1, h1] = rows[1]!;
  log(`${label}: ${open} open`);
  for (const [what, o, m, h] of rows) log(`${label} ${what.padEnd(18)} open ${o} rss ${(m.rss / 1024).toFixed(1)} MiB brk ${(m.brk / 1024).toFixed(1)} arenas ${(m.arenas / 1024).toFixed(1)} anon ${(m.anon / 1024).toFixed(1)} file ${(m.file / 1024).toFixed(1)} heapUsed ${(h.used / 1024).toFixed(1)} heapTotal ${(h.total / 1024).toFixed(1)}`);
  for (const [what, o, m, h] of rows.slice(2)) {
    const n = o - o1;
    log(`${label} SLOPE to ${what}: rss ${((m.rss - m1.rss) / n).toFixed(1)} KiB/st, brk ${((m.brk - m1.brk) / n).toFixed(1)}, arenas ${((m.arenas - m1.arenas) / n).toFixed(1)}, otherAnon ${((m.anon - m1.anon) / n).toFixed(1)}, heapUsed ${((h.used - h1.used) / n).toFixed(1)}, heapTotal ${((h.total - h1.total) / n).toFixed(1)}, external ${((h.external - h1.external) / n).toFixed(2)}, native(rss-heapTotal) ${((m.rss - m1.rss - (h.total - h1.total)) / n).toFixed(1)}`);
  }
}

async function main() {
  log(`stations ${STATIONS} workers ${WORKERS} target ${TARGET} server env ${JSON.stringify(extraEnv)} args ${extraArgs.join(' ')}`);
  if (TARGET !== 'echo') {
    const http = await freePort(), tls = await freePort();
    const config = path.join(tmp, 'cfg.json');
    writeFileSync(config, JSON.stringify({ ocpp: { ratePerSecond: 100_000, rateBurst: 100_000 } }));
    const node = spawn(process.execPath, [...extraArgs, '--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'serve', '--host', '127.0.0.1', '--port', String(http), '--tls-port', String(tls), '--data-dir', path.join(tmp, 'node'), '--config', config, '--log-level', 'error'], { cwd: ROOT, env: { ...process.env, ...extraEnv, EVGUARD_ADMIN_TOKEN: TOKEN, EVGUARD_NODE_ID: 'probe-1' }, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(node);
    await waitOutput(node, /wss:\/\/localhost:\d+/);
    const api = async (method: string, p: string, body?: unknown) => { const res = await fetch(`http://127.0.0.1:${http}${p}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined }); const t = await res.text(); if (res.status >= 400) throw new Error(t); return t ? JSON.parse(t) : undefined; };
    const cas: string[] = (await api('GET', '/api/v1/pki/cas')).map((c: { pem: string }) => c.pem);
    const ids = Array.from({ length: WORKERS }, (_, w) => idsOf('B', w));
    const every = ids.flatMap(([a, b]) => [...a, ...b]);
    const { password } = await api('POST', '/api/v1/stations', { id: every[0], securityProfile: 2 });
    const db = new SQLite(path.join(tmp, 'node', 'evguard.db')); db.pragma('busy_timeout = 10000');
    const copy = db.prepare(`INSERT INTO stations (id, security_profile, password_hash, registration, tags, created_at, updated_at) SELECT ?, security_profile, password_hash, registration, tags, created_at, updated_at FROM stations WHERE id = ?`);
    db.transaction(() => { for (const id of every.slice(1)) copy.run(id, every[0]); })(); db.close();
    const workers = await startWorkers(WORKERS);
    await steps('evguard', node.pid!, http, workers, (i, step) => ({ cmd: 'connect', target: 'evguard', url: `wss://127.0.0.1:${tls}/ocpp`, ids: ids[i]![step], password, ca: cas, localAddresses: addressesFor(i), chargingShare: 0.25, heartbeatMs: 30000, meterMs: 6000, concurrency: 50 }));
    for (const w of workers) w.child.kill('SIGKILL');
    node.kill('SIGKILL');
    await sleep(1000);
  }
  if (TARGET !== 'evguard') {
    const cert = path.join(tmp, 'echo.crt'), key = path.join(tmp, 'echo.key');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    const port = await freePort();
    const echo = spawn(process.execPath, [...extraArgs, '--import', 'tsx', process.env.ECHO_SCRIPT ?? path.join(ROOT, 'bench/echo-server.ts'), cert, key, String(port)], { cwd: ROOT, env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(echo);
    await waitOutput(echo, /listening \d+/);
    const workers = await startWorkers(WORKERS);
    const ids = Array.from({ length: WORKERS }, (_, w) => idsOf('E', w));
    await steps('echo', echo.pid!, undefined, workers, (i, step) => ({ cmd: 'connect', target: 'echo', url: `wss://127.0.0.1:${port}/`, ids: ids[i]![step], password: '', ca: readFileSync(cert, 'utf8'), localAddresses: addressesFor(i), chargingShare: 0.25, heartbeatMs: 30000, meterMs: 6000, concurrency: 50 }));
    for (const w of workers) w.child.kill('SIGKILL');
  }
  process.exit(0);
}
main().catch((e) => { console.error(e); process.exit(1); });
