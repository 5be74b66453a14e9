/**
 * Runs the checks in a fixed order (connection and TLS first, then sessions,
 * then frames that may break the target, then load), one at a time, each
 * bounded, with a progress callback.
 */
import { createContext } from './context.js';
import { connectChecks } from './checks/connect.js';
import { tlsChecks } from './checks/tls.js';
import { sessionChecks } from './checks/session.js';
import { frameChecks } from './checks/frames.js';
import { loadChecks } from './checks/load.js';
import type { Check } from './checks/check.js';
import { probeErrors } from './errors.js';
import { SEVERITIES, type CheckResult, type CheckSpec, type Outcome, type ProbeOptions, type ProbeReport, type ProgressEvent, type Severity } from './types.js';

export const PROBE_VERSION = '0.1.0';

const ALL: Check[] = [...connectChecks, ...tlsChecks, ...sessionChecks, ...frameChecks, ...loadChecks];

/** Every check the probe knows, in run order. */
export const CHECKS: readonly CheckSpec[] = ALL.map((c) => c.spec);

export const DEFAULT_OPTIONS = {
  stationId: 'EVGPROBE01',
  insecure: false,
  aggressive: false,
  maxMessages: 300,
  slowSeconds: 20,
  timeoutMs: 5000,
  hugeFrameBytes: 2 * 1024 * 1024,
} as const;

/** Checks the options once; a bad one fails with PROBE_BAD_OPTIONS (exit 2 on the CLI). */
export function checkProbeOptions(o: ProbeOptions): void {
  const bad = (m: string) => {
    throw probeErrors.PROBE_BAD_OPTIONS(m);
  };
  let u: URL;
  try {
    u = new URL(o.url);
  } catch {
    return bad(`target must be a ws:// or wss:// URL (got "${String(o.url).slice(0, 100)}")`);
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') bad('target must be a ws:// or wss:// URL');
  if (u.username || u.password) bad('put credentials in --user/--password, not in the URL');
  if (o.plainUrl !== undefined && !/^ws:\/\//.test(o.plainUrl)) bad('--plain-url must be a ws:// URL');
  if (!/^[A-Za-z0-9*\-_=+|@.]{1,48}$/.test(o.stationId)) bad('--station must be 1–48 characters of A–Z a–z 0–9 * - _ = + | @ .');
  if (o.otherStationId !== undefined && !/^[A-Za-z0-9*\-_=+|@.]{1,48}$/.test(o.otherStationId)) bad('--other-station must be a valid OCPP identity');
  if ((o.cert === undefined) !== (o.key === undefined)) bad('--cert and --key go together');
  if (o.ocppVersion !== undefined && !['1.6', '2.0.1', '2.1'].includes(o.ocppVersion)) bad('--ocpp must be 1.6, 2.0.1 or 2.1');
  if (!(Number.isInteger(o.maxMessages) && o.maxMessages >= 1 && o.maxMessages <= 10_000)) bad('--max-messages must be 1..10000');
  if (!(Number.isInteger(o.slowSeconds) && o.slowSeconds >= 1 && o.slowSeconds <= 600)) bad('--slow-seconds must be 1..600');
  if (!(Number.isInteger(o.timeoutMs) && o.timeoutMs >= 100 && o.timeoutMs <= 120_000)) bad('--timeout must be 100..120000 ms');
  if (!(Number.isInteger(o.hugeFrameBytes) && o.hugeFrameBytes >= 1024 && o.hugeFrameBytes <= 64 * 1024 * 1024)) bad('--huge-frame must be 1 KiB..64 MiB');
  const known = new Set(CHECKS.map((c) => c.id));
  for (const id of [...(o.only ?? []), ...(o.skip ?? [])]) if (!known.has(id)) bad(`unknown check ${id}; known: ${[...known].join(', ')}`);
}

export async function runProbe(o: ProbeOptions, onProgress: (e: ProgressEvent) => void = () => undefined): Promise<ProbeReport> {
  checkProbeOptions(o);
  const notes: string[] = [];
  const ctx = createContext(o, notes);
  const startedAt = new Date().toISOString();
  const selected = ALL.filter((c) => (!o.only || o.only.includes(c.spec.id)) && !o.skip?.includes(c.spec.id));
  const results: CheckResult[] = [];
  onProgress({ kind: 'start', total: selected.length });
  for (const [index, check] of selected.entries()) {
    onProgress({ kind: 'check', index, total: selected.length, spec: check.spec });
    const t0 = Date.now();
    let outcome: Outcome;
    let evidence: string[];
    if (check.spec.aggressive && !o.aggressive) {
      outcome = 'skip';
      evidence = ['aggressive check; run with --aggressive'];
    } else {
      try {
        ({ outcome, evidence } = await check.run(ctx));
      } catch (err) {
        outcome = 'error';
        evidence = [`the check failed to run: ${(err as Error).message}`];
      }
      await ctx.closeAll();
    }
    const { id, title, severity, basis, remedy } = check.spec;
    const result: CheckResult = { id, title, severity, basis, remedy, outcome, evidence, durationMs: Date.now() - t0 };
    results.push(result);
    onProgress({ kind: 'result', index, total: selected.length, result });
  }
  if (results.some((r) => r.evidence.some((e) => /HTTP 429/.test(e)))) {
    notes.push('The target answered HTTP 429 (locked out or rate limited), probably after the credential checks of this or an earlier run; checks that needed a session could not run. Use another station id or lift the lock-out, then probe again.');
  }
  if (o.insecure && ctx.secure) notes.push("The target's server certificate was NOT verified (--insecure): TLS-004, TLS-005 and TLS-006 were not checked.");
  if (!ctx.secure) notes.push('The target is plain ws://: no TLS checks were possible.');
  const summary = { pass: 0, fail: 0, skip: 0, error: 0, findingsBySeverity: Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number> };
  for (const r of results) {
    summary[r.outcome]++;
    if (r.outcome === 'fail') summary.findingsBySeverity[r.severity]++;
  }
  if (results.length && results.every((r) => r.outcome === 'error' || r.outcome === 'skip') && results.some((r) => r.outcome === 'error')) {
    notes.push('No check reached a verdict: is the target reachable and are the credentials right?');
  }
  return {
    tool: { name: 'evguard-probe', version: PROBE_VERSION },
    target: o.url,
    startedAt,
    finishedAt: new Date().toISOString(),
    serverCertificateVerified: ctx.secure && !o.insecure,
    negotiatedVersion: ctx.negotiated,
    notes,
    summary,
    results,
  };
}
