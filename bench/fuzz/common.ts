/** Pieces the soak and the fairness bench share: child processes, latency summaries, machine facts, option parsing. */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HonestJob, HonestReport, Sample } from './honest.js';
import { ROOT } from './node-process.js';

export interface LatencySummary {
  calls: number;
  answered: number;
  unanswered: number;
  callErrors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

/** Percentiles over answered calls; an unanswered call counts as slower than every answered one. */
export function summarize(samples: Sample[]): LatencySummary {
  const ms = samples.map((s) => s.ms ?? Infinity).sort((a, b) => a - b);
  const pct = (p: number) => {
    if (!ms.length) return null;
    const v = ms[Math.min(ms.length - 1, Math.ceil((p / 100) * ms.length) - 1)]!;
    return Number.isFinite(v) ? +v.toFixed(2) : null;
  };
  const answered = samples.filter((s) => s.ms !== undefined);
  return {
    calls: samples.length,
    answered: answered.length,
    unanswered: samples.length - answered.length,
    callErrors: samples.filter((s) => s.error).length,
    p50: pct(50),
    p95: pct(95),
    p99: pct(99),
    max: answered.length ? +Math.max(...answered.map((s) => s.ms!)).toFixed(2) : null,
  };
}

export const within = (samples: Sample[], from: number, to: number) => samples.filter((s) => s.at >= from && s.at < to);

export function ratio(a: number | null, b: number | null): number | null {
  return a !== null && b !== null && b > 0 ? +(a / b).toFixed(2) : null;
}

export function machine() {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    evguard: JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string,
    commit,
    loadAverageAtStart: +os.loadavg()[0]!.toFixed(2),
  };
}

/** Forks one of the bench/fuzz entry points with tsx; resolves once it says it is ready. */
export async function forkChild(file: string, flag: string): Promise<ChildProcess> {
  const child = fork(path.join(ROOT, 'bench/fuzz', file), [flag], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`${file} exited (${code}) before it was ready`)));
  });
  return child;
}

/** The honest station in its own process. */
export async function startHonestProcess(job: HonestJob): Promise<{ stop(): Promise<HonestReport>; kill(): void }> {
  const child = await forkChild('honest.ts', '--honest');
  child.send({ job });
  return {
    stop: () =>
      new Promise((resolve, reject) => {
        child.once('message', (m: any) => resolve(m.report));
        child.once('exit', (code) => reject(new Error(`honest station exited (${code}) without a report`)));
        child.send({ stop: true });
      }),
    kill: () => child.kill('SIGKILL'),
  };
}

export const mib = (bytes: number) => +(bytes / 2 ** 20).toFixed(1);
export const fmt = (v: number | null | undefined, unit = '') => (v === null || v === undefined ? '–' : `${v}${unit}`);
/** A latency percentile; null there means the percentile fell on calls that were never answered. */
export const fmtMs = (v: number | null, s: LatencySummary) => (v !== null ? `${v} ms` : s.calls ? 'no answer' : '–');

/** Removes `--name value` from argv and returns the value; exits 2 when the value is missing. */
export function takeString(argv: string[], name: string, usage: string): string | undefined {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (!v || v.startsWith('--')) {
    process.stderr.write(`${name} needs a value\n${usage}\n`);
    process.exit(2);
  }
  argv.splice(i, 2);
  return v;
}

/** The name of a results file: bench/results/<name>.{json,md}. */
export function resultsName(argv: string[], def: string, usage: string): string {
  const name = takeString(argv, '--out', usage) ?? def;
  if (!/^[a-z0-9-]+$/.test(name)) {
    process.stderr.write(`--out takes a name of lower-case letters, digits and dashes, e.g. ${def}-pg\n`);
    process.exit(2);
  }
  return name;
}

/** `--name value` options, each an integer within bounds; exits 2 with a message otherwise. */
export function parseOptions<T extends Record<string, number>>(argv: string[], spec: { [K in keyof T]: { def: number; min: number; max: number; help: string } }, usage: string): T {
  const out: Record<string, number> = {};
  for (const k of Object.keys(spec)) out[k] = spec[k as keyof T].def;
  const fail = (m: string): never => {
    process.stderr.write(`${m}\n${usage}\n`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      process.stdout.write(`${usage}\n${Object.entries(spec).map(([k, s]) => `  --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()).padEnd(18)} ${s.help} (default ${s.def})`).join('\n')}\n`);
      process.exit(0);
    }
    if (!a.startsWith('--')) fail(`unexpected argument ${a}`);
    const key = a.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (!(key in spec)) fail(`unknown option ${a}`);
    const v = Number(argv[++i]);
    const s = spec[key as keyof T];
    if (!Number.isInteger(v) || v < s.min || v > s.max) fail(`${a} needs an integer from ${s.min} to ${s.max}`);
    out[key] = v;
  }
  return out as T;
}
