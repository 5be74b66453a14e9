/**
 * Runs the checks in a fixed order (connection and TLS first, then sessions,
 * then frames that may break the target, then load), one at a time, each
 * bounded, with a progress callback.
 */
import { createContext, type LivenessRecord, type ProbeContext } from './context.js';
import { liveness, reach, sleep } from './liveness.js';
import { resilienceChecks as R } from './checks/resilience.js';
import { MALFORMED_CHECKS } from './checks/frames.js';
import { connectChecks } from './checks/connect.js';
import { tlsChecks } from './checks/tls.js';
import { sessionChecks } from './checks/session.js';
import { frameChecks } from './checks/frames.js';
import { loadChecks } from './checks/load.js';
import { fail, inconclusive, pass, skip, type Check, type Verdict } from './checks/check.js';
import { probeErrors } from './errors.js';
import { SEVERITIES, type CheckResult, type CheckSpec, type CsmsProbeReport, type ProbeOptions, type ProgressEvent, type Severity } from './types.js';

export const PROBE_VERSION = '0.1.0';

const byId = (checks: Check[], id: string) => checks.find((c) => c.spec.id === id)!;
const upTo = (checks: Check[], id: string) => checks.slice(0, checks.findIndex((c) => c.spec.id === id) + 1);
const following = (checks: Check[], id: string) => checks.slice(checks.findIndex((c) => c.spec.id === id) + 1);

/**
 * LIVE-001 reports, once, a target that stopped answering during a check whose
 * own verdict does not already say so (MSG-006 covers the malformed-frame
 * checks; SES-003, DOS-003 and WS-003 judge liveness themselves).
 */
const liveCheck: Check = {
  spec: {
    id: 'LIVE-001',
    needs: ['session'],
    judgesRecords: true,
    title: 'Target stopped answering during a check',
    severity: 'high',
    basis: 'NISTIR 8473 (availability); ETSI EN 303 645 provision 5.13-1 (validate input) and 5.9-1 (resilience to outages); OCPP 2.0.1 Part 4 §4.2 (errors are answered, not fatal)',
    description: 'A fresh, authenticated session and one Heartbeat before the first check and after every check; reports the check after which the target no longer answered (later checks are then not judged).',
    remedy: 'Find what the named check sent in the evidence and contain its failure to the one message or connection.',
  },
  async run(ctx) {
    const msg006Ran = (!ctx.opts.only || ctx.opts.only.includes('MSG-006')) && !ctx.opts.skip?.includes('MSG-006');
    const covered = new Set([...SELF_JUDGED, ...(msg006Ran ? MALFORMED_CHECKS : [])]);
    const down = ctx.liveness.find((r) => r.state === 'dead' && r.after !== 'start');
    if (down && !covered.has(down.after)) return fail(`the target stopped answering during ${down.after}: ${down.detail}`);
    if (down) return pass(`the target stopped answering during ${down.after}, reported by that check's own verdict${MALFORMED_CHECKS.includes(down.after) ? ' (MSG-006)' : ''}`);
    const checked = ctx.liveness.filter((r) => r.after !== 'start' && r.state === 'alive' && /Heartbeat/.test(r.detail)).length;
    if (!checked) return inconclusive('no liveness session could be opened after any check');
    return pass(`a fresh session answered a Heartbeat after each of the ${checked} check(s) that ran`);
  },
};
const SELF_JUDGED = ['SES-003', 'DOS-003', 'WS-003'];

const sessions = [...upTo(sessionChecks, 'SES-002'), R.storm, ...following(sessionChecks, 'SES-002')];
const ALL: Check[] = [
  ...upTo(connectChecks, 'AUTH-003'),
  R.unknownState,
  ...following(connectChecks, 'AUTH-003'),
  ...tlsChecks,
  ...upTo(sessions, 'MSG-001'),
  R.sharedIds,
  R.reusedIds,
  ...following(sessions, 'MSG-001'),
  ...upTo(frameChecks, 'MSG-005'),
  byId(frameChecks, 'MSG-006'),
  R.afterClose,
  ...loadChecks,
  R.invalidFlood,
  liveCheck,
];

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
  paceMs: 1000,
  maxFailedLogins: 8,
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
  if (!(Number.isInteger(o.paceMs) && o.paceMs >= 0 && o.paceMs <= 60_000)) bad('--pace must be 0..60000 ms');
  if (!(Number.isInteger(o.maxFailedLogins) && o.maxFailedLogins >= 0 && o.maxFailedLogins <= 100)) bad('--max-failed-logins must be 0..100');
  const last = decodeURIComponent(u.pathname.replace(/\/+$/, '').split('/').pop() ?? '');
  if (last && (last === o.stationId || last === o.otherStationId)) bad(`the URL ends with the station id ${last}; give the endpoint without it (the probe appends /<station id> as OCPP-J prescribes)`);
  if (!(Number.isInteger(o.hugeFrameBytes) && o.hugeFrameBytes >= 1024 && o.hugeFrameBytes <= 64 * 1024 * 1024)) bad('--huge-frame must be 1 KiB..64 MiB');
  const known = new Set(CHECKS.map((c) => c.id));
  for (const id of [...(o.only ?? []), ...(o.skip ?? [])]) if (!known.has(id)) bad(`unknown check ${id}; known: ${[...known].join(', ')}`);
}

/** Failed logins on the probe station's own id per run: below the common per-station threshold of 5. */
export const OWN_FAILED_LOGINS = 4;

export async function runProbe(o: ProbeOptions, onProgress: (e: ProgressEvent) => void = () => undefined): Promise<CsmsProbeReport> {
  checkProbeOptions(o);
  const notes: string[] = [];
  const ctx = createContext(o, notes);
  const startedAt = new Date().toISOString();
  const selected = ALL.filter((c) => (!o.only || o.only.includes(c.spec.id)) && !o.skip?.includes(c.spec.id));
  const results: CheckResult[] = [];
  const stoppedBy: string[] = [];
  const stop = (why: string) => {
    if (!stoppedBy.includes(why)) stoppedBy.push(why);
  };
  const spent = { own: 0, total: 0 };
  const hasCredentials = o.password !== undefined || o.cert !== undefined;
  onProgress({ kind: 'start', total: selected.length });

  // Before any check: can the probe station open a session at all, and is the target up?
  const needsSession = selected.some((c) => c.spec.needs?.includes('session') && (!c.spec.aggressive || o.aggressive));
  let sessionBlocked: string | undefined = needsSession ? undefined : 'no selected check needs one';
  let dead: string | undefined;
  const initial = needsSession ? await liveness(ctx, 'start') : await reach(ctx, 'start');
  ctx.liveness.push(initial);
  if (initial.state === 'refused') {
    if (initial.status === 401) {
      spent.own++;
      spent.total++;
    }
    sessionBlocked = initialRefusal(initial, hasCredentials, o);
    stop(sessionBlocked);
  } else if (initial.state === 'dead') {
    dead = `the target could not be reached before the first check (${initial.detail})`;
    stop(dead);
  } else if (needsSession && !hasCredentials) {
    notes.push(`The target accepted station ${o.stationId} without any credentials.`);
  }

  for (const [index, check] of selected.entries()) {
    onProgress({ kind: 'check', index, total: selected.length, spec: check.spec });
    const t0 = Date.now();
    const { id, title, severity, basis, remedy, needs = [], failedLogins } = check.spec;
    const ran = async (): Promise<Verdict | undefined> => {
      if (check.spec.aggressive && !o.aggressive) return skip('aggressive check; run with --aggressive');
      if (dead && !check.spec.judgesRecords) return inconclusive(`not judged: ${dead}`);
      if (needs.includes('tls') && !ctx.secure) return skip('needs a wss:// target');
      if (needs.includes('clientCert') && !o.cert) return skip('needs --cert and --key of a security-profile-3 station');
      if (needs.includes('otherStation') && !o.otherStationId) return skip('needs --other-station (and --other-password) of a second registered station');
      if (needs.includes('session') && sessionBlocked) return inconclusive(`needs a session as ${o.stationId}: ${sessionBlocked}`);
      if (failedLogins && (spent.own + failedLogins.own > OWN_FAILED_LOGINS || spent.total + failedLogins.total > o.maxFailedLogins)) {
        return skip(`would make ${failedLogins.total} failed login(s); this run has made ${spent.total} of at most ${o.maxFailedLogins} (${spent.own} of at most ${OWN_FAILED_LOGINS} on ${o.stationId}); raise --max-failed-logins where the target's defence allows`);
      }
      return undefined;
    };
    let verdict = await ran();
    if (!verdict) {
      if (o.paceMs > 0 && !check.spec.judgesRecords) await sleep(o.paceMs);
      try {
        verdict = await check.run(ctx);
      } catch (err) {
        verdict = inconclusive(`the check failed to run: ${(err as Error).message}`);
      }
      await ctx.closeAll();
      if (failedLogins) {
        spent.own += failedLogins.own;
        spent.total += failedLogins.total;
      }
      if (!check.spec.judgesRecords && !dead) {
        // After every check: is the target still up, and does it still let the probe station in?
        if (o.paceMs > 0) await sleep(o.paceMs);
        const after = sessionBlocked ? await reach(ctx, id) : await liveness(ctx, id);
        ctx.liveness.push(after);
        if (after.state === 'dead') {
          dead = `the target stopped answering during ${id} (${after.detail})`;
          stop(dead);
          verdict.evidence.push(`afterwards: ${after.detail}`);
        } else if (after.state === 'refused') {
          sessionBlocked = `after ${id} the target refused the probe station: ${after.detail}`;
          stop(sessionBlocked);
          verdict.evidence.push(`afterwards: ${after.detail}`);
        }
      }
    }
    const result: CheckResult = { id, title, severity, basis, remedy, needs, outcome: verdict.outcome, evidence: verdict.evidence, durationMs: Date.now() - t0 };
    results.push(result);
    onProgress({ kind: 'result', index, total: selected.length, result });
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
  notes.push(`Failed logins made: ${spent.total} (${spent.own} on ${o.stationId}); a target that counts them per address or station over a window adds up consecutive runs.`);
  return {
    tool: { name: 'evguard-probe', version: PROBE_VERSION },
    target: o.url,
    startedAt,
    finishedAt: new Date().toISOString(),
    serverCertificateVerified: ctx.secure && !o.insecure,
    negotiatedVersion: ctx.negotiated,
    notes,
    complete: summary.error === 0,
    stoppedBy,
    failedLogins: spent,
    summary,
    results,
  };
}

/** Why no session as the probe station could be opened at the start, in the words a user acts on. */
function initialRefusal(r: LivenessRecord, hasCredentials: boolean, o: ProbeOptions): string {
  if (r.status === 401 && !hasCredentials) return `no password given (--password or EVGUARD_PROBE_PASSWORD) and the target requires one: ${r.detail}`;
  if (r.status === 401) return `the target refused the credentials of ${o.stationId} (${r.detail}): wrong --password, or the station is not registered there`;
  if (r.status === 429) return `the target refused ${o.stationId} before any check ran (${r.detail}): an earlier run's failed logins may have locked this address or station out; wait for the lock-out to end or lift it`;
  if (r.status === 404) return `the target answered ${r.detail}; give the endpoint without the station id (the probe appends /${o.stationId})`;
  return `the target refused ${o.stationId} before any check ran (${r.detail})`;
}

