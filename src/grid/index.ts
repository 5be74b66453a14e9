/**
 * The grid guard: site, feeder and fleet power limits, live load aggregated
 * from what stations report, and a check on every power-affecting command the
 * node sends (from operators, the API, campaigns or automatic responses). A
 * command that would push a level over its limit is refused; one that would
 * change load faster than a level's ramp rate is held back and spread over a
 * randomised window, or refused when that would take too long; a mass action
 * on a large share of the fleet needs a second operator's approval.
 */
import { randomUUID } from 'node:crypto';
import type { Bus } from '../bus/index.js';
import { onChange, publishChange } from '../bus/changes.js';
import type { OcppVersion } from '../model/ocpp-version.js';
import type { CommandsFor } from '../model/commands.js';
import { Topics, type SecurityEvent, type StationBooted, type StationConnected, type TransactionChanged } from '../bus/events.js';
import type { StationContext } from '../model/station.js';
import type { Database } from '../store/index.js';
import { commandEffect, GUARDED_ACTIONS } from './commands.js';
import { gridErrors } from './errors.js';
import { LiveLoad, LoadSeries, type LoadPoint } from './load.js';
import { RampScheduler, type RampLevel } from './ramp.js';
import { localLedger, sharedLedger, type Decision, type Ledger, type LedgerEntry } from './ledger.js';
import { createGridStore, type Feeder, type Site, type StationAssignment } from './store.js';
import type { OpenAdrConfig } from './openadr.js';
import { RESUME_DEFAULTS, resumePlan, type ResumePlan } from './resume.js';
import { contributionAt, pendingUps, profileTimeline, profileTimelines, rampViolations, type ProfileTimeline, type StepPoint } from './schedule.js';

export { gridErrors } from './errors.js';
export { gridMigrations, type Feeder, type Site, type StationAssignment } from './store.js';
export { commandEffect, scheduleLimitW, GUARDED_ACTIONS } from './commands.js';
export { createOpenAdrVen, type OpenAdrConfig, type OpenAdrVen } from './openadr.js';
export type { LoadPoint } from './load.js';
export { profileTimeline, profileTimelines, rampViolations, pendingUps, contributionAt, type StepPoint, type RampStep, type ProfileTimeline } from './schedule.js';
export { resumePlan, RESUME_DEFAULTS, type ResumePlan, type ResumeSettings } from './resume.js';

export interface GridConfig {
  /** Fleet-wide limit in kW; none when absent. */
  fleetLimitKw?: number;
  /** Fleet-wide ramp rate in kW/s; none when absent. */
  fleetRampKwPerS?: number;
  /** Ramp rate for sites and feeders that set none. */
  defaultRampKwPerS?: number;
  /** Maximum power of a station not assigned to a site, in W (default 22000). */
  defaultStationPowerW?: number;
  /** Burst tolerance of the ramp guard, in seconds (default 2). */
  rampToleranceS?: number;
  /** Longest a command may be held to respect a ramp rate before it is refused (default 15000 ms). */
  maxHoldMs?: number;
  /** Held commands get up to this much random extra delay, so a mass action is spread out (default 1000 ms). */
  jitterMs?: number;
  /** Mass actions: distinct stations commanded within this window (default 60 s)… */
  massWindowS?: number;
  /** …above this share of the connected fleet (default 0.2)… */
  massShare?: number;
  /** …and above this many stations (default 10) need a second operator's approval. */
  massMinStations?: number;
  /** How long expected load from a command counts before the station reports it (default 120 s). */
  reservationTtlS?: number;
  /** Load samples for the time series (default every 1000 ms, 3600 kept per level). */
  sampleIntervalMs?: number;
  seriesPoints?: number;
  /** Randomised resume after a power or communication loss: release window in s (default 600, 0 = off). */
  resumeWindowS?: number;
  /** chargingProfileId and stackLevel of the resume profile (defaults 990001 and 9). */
  resumeProfileId?: number;
  resumeStackLevel?: number;
  /** After a reconnect, wait this long for a BootNotification before treating it as a communication loss (default 2000 ms). */
  resumeSettleMs?: number;
  openadr?: OpenAdrConfig;
}

/** One resume profile sent (or tried), kept for GET /api/v1/grid/resumes. */
export interface ResumeRecord {
  stationId: string;
  cause: 'power-up' | 'reconnect';
  ocppVersion: OcppVersion;
  sentAt: string;
  releaseAt: string;
  releaseS: number;
  drawnBy: 'csms' | 'station';
  outcome: 'sent' | 'failed';
  error?: string;
}

export interface GridDeps {
  db: Database;
  bus: Bus;
  log?: { warn(o: unknown, m: string): void; error(o: unknown, m: string): void };
  /** Records a CSMS security event (refusals are security signals). */
  securityEvent(e: Omit<SecurityEvent, 'timestamp' | 'source' | 'critical'>): void;
  /** Stations connected now, for the mass-action share. */
  fleetSize(): number;
  now?: () => number;
  random?: () => number;
  /** The version adapters, bound to this node's gateway (and so through beforeCall); needed for randomised resume. */
  commands?: CommandsFor;
  /** OCPP version of a station connected to this node; undefined when it is not held here. */
  versionOf?(stationId: string): OcppVersion | undefined;
  /** Cluster mode: the guard's decisions and state are shared by every node (ledger.ts). */
  cluster?: { name: string; origin: string };
  /** Whether the station has a transaction not ended, by the transactions module's record (for randomised resume). */
  hasOpenTransaction(stationId: string): Promise<boolean>;
}

export interface LevelView { id: string; name?: string; feederId?: string; loadKw: number; reservedKw: number; limitKw?: number; configuredLimitKw?: number; dsoLimitKw?: number; rampKwPerS?: number; stations: number }
export interface GridSnapshot { at: string; fleet: LevelView; feeders: LevelView[]; sites: LevelView[] }

export interface Approval {
  id: string;
  state: 'pending' | 'approved' | 'expired' | 'used';
  requestedBy: string;
  approvedBy?: string;
  reason: string;
  /** Stations the approved mass action may still command. */
  stations: number;
  remaining: number;
  createdAt: string;
  expiresAt: string;
}

interface Reservation { stationId: string; w: number; untilMs: number; kind: string }
interface DsoLimit { kw: number; untilMs: number; source: string }

const ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** Commands whose charging profile the guard books as scheduled step-ups. */
const PROFILE_ACTIONS = new Set(['SetChargingProfile', 'RequestStartTransaction', 'RemoteStartTransaction']);

function validate(c: GridConfig): void {
  for (const [k, v] of Object.entries(c)) {
    if (k === 'openadr') continue;
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw gridErrors.GRID_CONFIG_INVALID(`grid.${k} must be a non-negative number`);
  }
  if (c.resumeWindowS !== undefined && c.resumeWindowS > 86_400) throw gridErrors.GRID_CONFIG_INVALID('grid.resumeWindowS must be at most 86400');
  for (const k of ['resumeWindowS', 'resumeProfileId', 'resumeStackLevel'] as const) {
    if (c[k] !== undefined && !Number.isInteger(c[k])) throw gridErrors.GRID_CONFIG_INVALID(`grid.${k} must be a whole number`);
  }
  if (c.massShare !== undefined && c.massShare > 1) throw gridErrors.GRID_CONFIG_INVALID('grid.massShare must be between 0 and 1');
}

export async function createGrid(deps: GridDeps, config: GridConfig = {}) {
  validate(config);
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const store = createGridStore(deps.db);
  await store.load();
  const live = new LiveLoad((stationId) => stationMaxW(stationId));
  const ramp = new RampScheduler((config.rampToleranceS ?? 2) * 1000);
  const series = new LoadSeries(config.seriesPoints ?? 3600);
  const reservations: Reservation[] = [];
  const dso = new Map<string, DsoLimit>();
  const massLog: { stationId: string; atMs: number }[] = [];
  const approvals = new Map<string, Approval>();
  const sampleListeners = new Set<(s: GridSnapshot) => void>();
  const holds = new Set<{ timer: NodeJS.Timeout; resolve(): void }>();
  const defaultPowerW = config.defaultStationPowerW ?? 22_000;
  const maxHoldMs = config.maxHoldMs ?? 15_000;
  const iso = (ms: number) => new Date(ms).toISOString();

  // Sites, feeders and assignments are the fleet's: a change on any node is re-read on every node.
  const limitsChanged = (kind: 'feeder' | 'site' | 'station', id: string) => publishChange(deps.bus, 'grid.limits.changed', { kind, id });
  const unfollowLimits = onChange(deps.bus, 'grid.limits.changed', () => void store.load().catch((err) => deps.log?.warn({ err }, 'grid limits not reloaded')));

  const unsubscribe = deps.bus.subscribe(Topics.transactionChanged, (e) => {
    const t: Partial<TransactionChanged> | undefined = e.data;
    const stationId = live.apply(t ?? {});
    if (!t) return;
    // The station now reports what a start or a new limit did; its reservation has served.
    if (stationId && (t.eventType === 'Started' || t.powerW !== undefined)) {
      const at = reservations.findIndex((r) => r.stationId === stationId && (t.eventType === 'Started' ? r.kind === 'start' : r.kind !== 'start'));
      if (at >= 0) reservations.splice(at, 1);
    }
  });

  // ── Randomised resume after a power or communication loss (resume.ts) ──
  const resume = {
    windowS: config.resumeWindowS ?? RESUME_DEFAULTS.windowS,
    profileId: config.resumeProfileId ?? RESUME_DEFAULTS.profileId,
    stackLevel: config.resumeStackLevel ?? RESUME_DEFAULTS.stackLevel,
  };
  const resumeOn = resume.windowS > 0 && !!deps.commands && !!deps.versionOf;
  /** Payloads the grid built itself: the guard knows them for what they are (a hold, never a surge). */
  const resumePayloads = new WeakSet<object>();
  const resumeLog: ResumeRecord[] = [];
  const lastResume = new Map<string, number>();
  /** Per station: a pending reconnect check, and whether a BootNotification came since the connection. */
  const pending = new Map<string, { timer: NodeJS.Timeout; booted: boolean }>();
  const settleMs = config.resumeSettleMs ?? 2000;

  /**
   * Whether the station had sessions when it went away, by the CSMS's records:
   * live load, or a transaction not ended in the database. A station with none
   * has nothing to resume (a driver's next start is no synchronised step).
   */
  async function hadSessions(stationId: string): Promise<boolean> {
    if (live.charging(stationId)) return true;
    try {
      return await deps.hasOpenTransaction(stationId);
    } catch (err) {
      deps.log?.warn({ err, stationId }, 'open transactions not readable; resume profile sent to be safe');
      return true;
    }
  }

  async function sendResume(stationId: string, cause: ResumeRecord['cause']): Promise<void> {
    const version = deps.versionOf!(stationId);
    if (!version) return; // not held by this node (cluster): the node holding it acts
    const nowMs = now();
    // One profile per outage: a boot right after the reconnect that already got one adds nothing.
    if ((lastResume.get(stationId) ?? -Infinity) > nowMs - settleMs - 5000) return;
    lastResume.set(stationId, nowMs);
    if (lastResume.size > 100_000) lastResume.delete(lastResume.keys().next().value!);
    const commands = deps.commands!(version);
    const plan: ResumePlan = resumePlan(commands.features, resume, stationMaxW(stationId), nowMs, random());
    const record: ResumeRecord = { stationId, cause, ocppVersion: version, sentAt: iso(nowMs), releaseAt: plan.releaseAt, releaseS: plan.releaseS, drawnBy: plan.drawnBy, outcome: 'sent' };
    try {
      // The guard's beforeCall recognises this exact payload object as the grid's own hold.
      const answer = await commands.setChargingProfile(stationId, plan.profile, { onPayload: (payload) => resumePayloads.add(payload) });
      if (answer.status !== 'Accepted') throw new Error(`station answered ${String(answer?.status).slice(0, 40)}`);
    } catch (err) {
      record.outcome = 'failed';
      record.error = String((err as Error).message).slice(0, 200);
      deps.log?.warn({ stationId, err }, 'resume profile not accepted');
    }
    resumeLog.push(record);
    if (resumeLog.length > 10_000) resumeLog.shift();
  }

  const unsubscribeResume = resumeOn
    ? [
      deps.bus.subscribe(Topics.stationBooted, (e) => {
        const b: Partial<StationBooted> | undefined = e.data;
        if (typeof b?.stationId !== 'string') return;
        const p = pending.get(b.stationId);
        if (p) p.booted = true;
        // Without a boot reason in the protocol (1.6) every boot follows a start of the station, so it counts as a power-up.
        const version = deps.versionOf!(b.stationId);
        const powerUp = b.reason === 'PowerUp' || (b.reason === undefined && !!version && !deps.commands!(version).features.bootReason);
        if (b.status !== 'Accepted' || !powerUp) return;
        const stationId = b.stationId;
        // Asked at boot, before the station reports how the outage ended its sessions.
        void hadSessions(stationId).then((had) => {
          // Let the BootNotification answer go out first: a station takes commands once its boot is accepted.
          if (had) setTimeout(() => void sendResume(stationId, 'power-up'), 200).unref();
        });
      }),
      deps.bus.subscribe(Topics.stationConnected, (e) => {
        const c: Partial<StationConnected> | undefined = e.data;
        if (typeof c?.stationId !== 'string') return;
        const stationId = c.stationId;
        clearTimeout(pending.get(stationId)?.timer);
        // A reconnect without a boot is a communication loss; it matters if sessions run (or come back in the queued events).
        const p = {
          booted: false,
          timer: setTimeout(() => {
            pending.delete(stationId);
            if (!p.booted) void hadSessions(stationId).then((had) => (had ? sendResume(stationId, 'reconnect') : undefined));
          }, settleMs),
        };
        p.timer.unref();
        pending.set(stationId, p);
      }),
    ]
    : [];

  const stationMaxW = (stationId: string) => store.stations.get(stationId)?.maxPowerW ?? defaultPowerW;
  const siteOf = (stationId: string): Site | undefined => {
    const a = store.stations.get(stationId);
    return a ? store.sites.get(a.siteId) : undefined;
  };

  function dsoLimit(siteId: string): number | undefined {
    const d = dso.get(siteId);
    if (!d) return undefined;
    if (d.untilMs <= now()) {
      dso.delete(siteId);
      return undefined;
    }
    return d.kw;
  }

  function expireReservations(nowMs: number) {
    for (let i = reservations.length - 1; i >= 0; i--) if (reservations[i]!.untilMs <= nowMs) reservations.splice(i, 1);
  }

  /** Load and reservations of a set of stations, in W. */
  function sumW(match: (stationId: string) => boolean): { loadW: number; reservedW: number } {
    let loadW = 0;
    let reservedW = 0;
    for (const s of live.stations()) if (match(s)) loadW += live.stationW(s);
    for (const r of reservations) if (match(r.stationId)) reservedW += r.w;
    return { loadW, reservedW };
  }

  interface Level { key: string; label: string; limitKw?: number; rampKwPerS?: number; match(stationId: string): boolean }

  function levelsOf(stationId: string): Level[] {
    const out: Level[] = [];
    const site = siteOf(stationId);
    if (site) {
      const d = dsoLimit(site.id);
      out.push({ key: `site:${site.id}`, label: `site ${site.id}`, limitKw: d === undefined ? site.limitKw : Math.min(site.limitKw, d), rampKwPerS: site.rampKwPerS ?? config.defaultRampKwPerS, match: (s) => store.stations.get(s)?.siteId === site.id });
      const feeder = site.feederId ? store.feeders.get(site.feederId) : undefined;
      if (feeder) {
        out.push({ key: `feeder:${feeder.id}`, label: `feeder ${feeder.id}`, limitKw: feeder.limitKw, rampKwPerS: feeder.rampKwPerS ?? config.defaultRampKwPerS, match: (s) => siteOf(s)?.feederId === feeder.id });
      }
    }
    out.push({ key: 'fleet', label: 'the fleet', limitKw: config.fleetLimitKw, rampKwPerS: config.fleetRampKwPerS, match: () => true });
    return out;
  }

  /** What the guard did with the commands it saw since start: GET /api/v1/grid `guard`. */
  const counters = { checked: 0, passed: 0, held: 0, heldMsTotal: 0, refused: {} as Record<string, number> };

  function refuse(ctx: StationContext, action: string, err: Error & { code?: string }): never {
    counters.refused[err.code ?? 'error'] = (counters.refused[err.code ?? 'error'] ?? 0) + 1;
    deps.securityEvent({ stationId: ctx.stationId, remoteAddress: ctx.remoteAddress, type: 'GridCommandRefused', techInfo: `${action}: ${err.code}: ${err.message}`.slice(0, 255) });
    throw err;
  }

  function massAllowed(stationId: string, nowMs: number): boolean {
    const windowMs = (config.massWindowS ?? 60) * 1000;
    while (massLog.length && massLog[0]!.atMs <= nowMs - windowMs) massLog.shift();
    const distinct = new Set(massLog.map((m) => m.stationId));
    if (distinct.has(stationId)) return true;
    const threshold = Math.max(config.massMinStations ?? 10, (config.massShare ?? 0.2) * deps.fleetSize());
    if (distinct.size + 1 <= threshold) return true;
    for (const a of approvals.values()) {
      if (a.state === 'approved' && Date.parse(a.expiresAt) <= nowMs) a.state = 'expired';
      if (a.state === 'approved' && a.remaining > 0) {
        a.remaining--;
        if (a.remaining === 0) a.state = 'used';
        return true;
      }
    }
    return false;
  }

  // ── Scheduled step-ups (schedule.ts): stationId → profile key → future contribution timeline ──
  type Booking = Pick<ProfileTimeline, 'points' | 'ups'>;
  const booked = new Map<string, Map<string, Booking>>();
  let bookedPoints = 0;
  const toleranceMs = (config.rampToleranceS ?? 2) * 1000;
  const sizeOf = (b: Booking | undefined) => (b ? b.points.length + b.ups.length : 0);
  const lastMs = (b: Booking) => Math.max(b.points.at(-1)?.atMs ?? -Infinity, ...b.ups.map((u) => u.atMs + (u.spreadMs ?? 0)));

  function pruneSchedule(nowMs: number) {
    for (const [stationId, profiles] of booked) {
      for (const [key, b] of profiles) {
        if (lastMs(b) <= nowMs) {
          bookedPoints -= sizeOf(b);
          profiles.delete(key);
        }
      }
      if (!profiles.size) booked.delete(stationId);
    }
  }

  function bookSchedule(stationId: string, key: string, t: Booking, nowMs: number) {
    pruneSchedule(nowMs);
    let profiles = booked.get(stationId);
    bookedPoints -= sizeOf(profiles?.get(key));
    profiles?.delete(key);
    const b: Booking = { points: t.points, ups: t.ups };
    if (!t.points.length || bookedPoints + sizeOf(b) > 500_000) return;
    if (!profiles) booked.set(stationId, (profiles = new Map()));
    if (profiles.size >= 64) return; // hostile churn of profile ids; the oldest bookings stay
    profiles.set(key, b);
    bookedPoints += sizeOf(b);
  }

  /** The profile a ClearChargingProfile names (1.6 `id`, 2.x `chargingProfileId`); undefined clears all of the station's. */
  function profileIdOf(payload: unknown): string | undefined {
    const p = payload && typeof payload === 'object' ? (payload as Record<string, unknown>) : {};
    const id = p.chargingProfileId ?? p.id;
    return id === undefined ? undefined : String(id);
  }

  function clearSchedule(stationId: string, id: string | undefined) {
    const profiles = booked.get(stationId);
    if (!profiles) return;
    for (const [key, b] of profiles) {
      if (id === undefined || id === key) {
        bookedPoints -= sizeOf(b);
        profiles.delete(key);
      }
    }
    if (!profiles.size) booked.delete(stationId);
  }

  /**
   * Refuses a profile whose future step-ups, with those already booked at the
   * same level (the profile it replaces left out), would break a level's ramp
   * rate or limit at their time.
   */
  function checkSchedule(ctx: StationContext, action: string, levels: Level[], t: ProfileTimeline, key: string, addedNowW: number, nowMs: number) {
    if (!t.ups.length) return;
    const fresh = t.points;
    pruneSchedule(nowMs);
    const stationId = ctx.stationId;
    for (const l of levels) {
      const others: Booking[] = [];
      for (const [sid, profiles] of booked) {
        if (!l.match(sid)) continue;
        for (const [k, b] of profiles) if (!(sid === stationId && k === key)) others.push(b);
      }
      const rate = (l.rampKwPerS ?? 0) * 1000;
      if (rate > 0) {
        const existing = others.flatMap((b) => pendingUps(b.ups, nowMs));
        const before = rampViolations(existing, rate, toleranceMs).length;
        const after = rampViolations([...existing, ...pendingUps(t.ups, nowMs).map((u) => ({ ...u, fresh: true }))], rate, toleranceMs);
        const bad = after.find((v) => v.fresh) ?? (after.length > before ? after[after.length - 1] : undefined);
        if (bad) {
          const stepKw = t.ups.reduce((a, u) => a + u.w, 0) / 1000;
          refuse(ctx, action, gridErrors.GRID_SCHEDULE_RAMP_EXCEEDED(`${action} on ${stationId} schedules ${stepKw.toFixed(1)} kW of step-ups that, with ${existing.length} already scheduled on ${l.label}, would exceed its ramp of ${l.rampKwPerS} kW/s at ${iso(bad.atMs)}; spread the release times (for example with randomizedDelay)`, { details: { level: l.key, at: iso(bad.atMs), rampKwPerS: l.rampKwPerS, scheduledSteps: existing.length } }));
        }
      }
      if (l.limitKw !== undefined) {
        // A sweep over every booked change at this level: what each profile adds over its contribution now, plus the new one.
        const { loadW, reservedW } = sumW(l.match);
        const events: { atMs: number; dW: number; fresh: boolean }[] = [];
        const emit = (pts: StepPoint[], isFresh: boolean) => {
          const at0 = isFresh ? 0 : contributionAt(pts, nowMs);
          let prev = 0;
          for (const p of pts) {
            if (p.atMs <= nowMs) continue;
            const v = Math.max(0, p.w - at0);
            if (v !== prev) events.push({ atMs: p.atMs, dW: v - prev, fresh: isFresh });
            prev = v;
          }
        };
        for (const b of others) emit(b.points, false);
        emit(fresh, true);
        events.sort((a, b) => a.atMs - b.atMs);
        let projected = loadW + reservedW + addedNowW;
        let freshW = 0;
        for (let i = 0; i < events.length; i++) {
          projected += events[i]!.dW;
          if (events[i]!.fresh) freshW += events[i]!.dW;
          if (i + 1 < events.length && events[i + 1]!.atMs === events[i]!.atMs) continue;
          if (freshW > 0 && projected / 1000 > l.limitKw + 1e-9) {
            const at = events[i]!.atMs;
            refuse(ctx, action, gridErrors.GRID_SCHEDULE_LIMIT_EXCEEDED(`${action} on ${stationId} schedules a step-up that would take ${l.label} to ${(projected / 1000).toFixed(1)} kW at ${iso(at)}, over its limit of ${l.limitKw} kW`, { details: { level: l.key, at: iso(at), projectedKw: projected / 1000, limitKw: l.limitKw } }));
          }
        }
      }
    }
  }

  /**
   * Decides one command (synchronously, so concurrent commands see each
   * other) and returns how long to hold it with the ledger entries that record
   * its effect; throws to refuse. In a cluster it runs under the guard's lock
   * with every node's entries applied (ledger.ts).
   */
  function decide(ctx: StationContext, action: string, payload: unknown): Decision<number> {
    const nowMs = now();
    expireReservations(nowMs);
    counters.checked++;
    const stationId = ctx.stationId;
    // A resume profile holds a station that has just come back at 0 W: it adds no load now and is no operator's mass action.
    const isResume = !!payload && typeof payload === 'object' && resumePayloads.has(payload);
    const effect = isResume ? { kind: 'limit' as const, deltaW: 0 } : commandEffect(action, payload, { maxPowerW: stationMaxW(stationId), loadW: live.stationW(stationId), charging: live.charging(stationId) }, nowMs)!;
    const levels = levelsOf(stationId);
    // A start may carry a profile (TxProfile, from the session's start) that releases later: its steps are booked too.
    const timeline = PROFILE_ACTIONS.has(action) ? profileTimeline(payload, nowMs, stationMaxW(stationId)) : undefined;
    const profileKey = timeline ? String(timeline.profileId ?? 'none') : '';
    // A resume profile is booked (operators' profiles must fit around the releases) but never refused: power restoration must not be blocked.
    // Each schedule of a 2.x profile is judged (the station applies one, the CSMS cannot tell which); the one with the most step-up is booked.
    if (timeline && !isResume) for (const t of profileTimelines(payload, nowMs, stationMaxW(stationId))) checkSchedule(ctx, action, levels, t, profileKey, Math.max(0, effect.deltaW), nowMs);
    if (effect.deltaW > 0) {
      for (const l of levels) {
        if (l.limitKw === undefined) continue;
        const { loadW, reservedW } = sumW(l.match);
        const projectedKw = (loadW + reservedW + effect.deltaW) / 1000;
        if (projectedKw > l.limitKw + 1e-9) {
          refuse(ctx, action, gridErrors.GRID_LIMIT_EXCEEDED(`${action} on ${stationId} would take ${l.label} to ${projectedKw.toFixed(1)} kW, over its limit of ${l.limitKw} kW`, { details: { level: l.key, projectedKw, limitKw: l.limitKw } }));
        }
      }
    }
    const rampLevels: RampLevel[] = levels.filter((l) => (l.rampKwPerS ?? 0) > 0).map((l) => ({ key: l.key, rateWPerS: l.rampKwPerS! * 1000 }));
    const start = ramp.earliest(rampLevels, effect.deltaW, nowMs);
    if (start - nowMs > maxHoldMs) {
      refuse(ctx, action, gridErrors.GRID_RAMP_EXCEEDED(`${action} on ${stationId} would change load faster than the ramp rate allows; retry in ${Math.ceil((start - nowMs) / 1000)} s`, { details: { retryAfterS: Math.ceil((start - nowMs) / 1000) } }));
    }
    if (!isResume && !massAllowed(stationId, nowMs)) {
      refuse(ctx, action, gridErrors.GRID_APPROVAL_REQUIRED(`${action} would reach more than ${Math.max(config.massMinStations ?? 10, Math.floor((config.massShare ?? 0.2) * deps.fleetSize()))} stations within ${config.massWindowS ?? 60} s; ask a second operator to approve the mass action (POST /api/v1/grid/approvals)`));
    }
    const entries: LedgerEntry[] = [];
    if (!isResume) entries.push({ k: 'mass', stationId, atMs: nowMs });
    if (effect.deltaW !== 0 && rampLevels.length) entries.push({ k: 'ramp', levels: rampLevels, deltaW: effect.deltaW, startMs: start });
    if (timeline) entries.push({ k: 'book', stationId, key: profileKey, points: timeline.points, ups: timeline.ups });
    else if (action === 'ClearChargingProfile') entries.push({ k: 'clear', stationId, id: profileIdOf(payload) });
    const holdMs = start > nowMs ? start - nowMs + random() * (config.jitterMs ?? 1000) : 0;
    if (effect.deltaW > 0) entries.push({ k: 'reserve', stationId, w: effect.deltaW, untilMs: nowMs + holdMs + (config.reservationTtlS ?? 120) * 1000, kind: effect.kind === 'start' ? 'start' : 'limit' });
    return { value: holdMs, entries };
  }

  /** Applies one ledger entry (this node's or, in a cluster, another node's) to the guard's state. */
  function apply(e: LedgerEntry) {
    const nowMs = now();
    switch (e.k) {
      case 'mass':
        massLog.push({ stationId: e.stationId, atMs: e.atMs });
        if (massLog.length > 100_000) massLog.shift();
        break;
      case 'ramp':
        ramp.commit(e.levels, e.deltaW, e.startMs);
        ramp.prune(nowMs);
        break;
      case 'book':
        bookSchedule(e.stationId, e.key, { points: e.points, ups: e.ups }, nowMs);
        break;
      case 'clear':
        clearSchedule(e.stationId, e.id);
        break;
      case 'reserve':
        if (e.untilMs > nowMs && reservations.length < 100_000) reservations.push({ stationId: e.stationId, w: e.w, untilMs: e.untilMs, kind: e.kind });
        break;
    }
  }

  const ledger: Ledger = deps.cluster && deps.db.dialect === 'postgres'
    ? sharedLedger({ database: deps.db, lockKey: `evguard-grid-guard:${deps.cluster.name}`, origin: deps.cluster.origin, apply, now })
    : localLedger(apply);

  /** Decides (see `decide`), then holds the command if the ramp asks for it. */
  async function beforeCall(ctx: StationContext, action: string, payload: unknown): Promise<void> {
    if (!GUARDED_ACTIONS.has(action)) return;
    const holdMs = await ledger.run(() => decide(ctx, action, payload));
    if (holdMs > 0) {
      counters.held++;
      counters.heldMsTotal += holdMs;
      await hold(holdMs);
    } else counters.passed++;
  }

  function hold(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const h = { timer: setTimeout(() => { holds.delete(h); resolve(); }, ms), resolve };
      h.timer.unref();
      holds.add(h);
    });
  }

  function view(id: string, match: (s: string) => boolean, extra: Omit<LevelView, 'id' | 'loadKw' | 'reservedKw' | 'stations'>): LevelView {
    const { loadW, reservedW } = sumW(match);
    let stations = 0;
    for (const s of store.stations.keys()) if (match(s)) stations++;
    return { id, ...extra, loadKw: loadW / 1000, reservedKw: reservedW / 1000, stations };
  }

  function snapshot(): GridSnapshot {
    expireReservations(now());
    const sites = [...store.sites.values()].map((s) => {
      const d = dsoLimit(s.id);
      return view(s.id, (x) => store.stations.get(x)?.siteId === s.id, { name: s.name, feederId: s.feederId, configuredLimitKw: s.limitKw, dsoLimitKw: d, limitKw: d === undefined ? s.limitKw : Math.min(s.limitKw, d), rampKwPerS: s.rampKwPerS ?? config.defaultRampKwPerS });
    });
    const feeders = [...store.feeders.values()].map((f) => view(f.id, (x) => siteOf(x)?.feederId === f.id, { name: f.name, limitKw: f.limitKw, configuredLimitKw: f.limitKw, rampKwPerS: f.rampKwPerS ?? config.defaultRampKwPerS }));
    const fleet = view('fleet', () => true, { limitKw: config.fleetLimitKw, configuredLimitKw: config.fleetLimitKw, rampKwPerS: config.fleetRampKwPerS });
    fleet.stations = Math.max(fleet.stations, deps.fleetSize());
    return { at: iso(now()), fleet, feeders, sites };
  }

  const sampler = setInterval(() => {
    try {
      const s = snapshot();
      series.add('fleet', { t: s.at, kw: s.fleet.loadKw });
      for (const f of s.feeders) series.add(`feeder:${f.id}`, { t: s.at, kw: f.loadKw });
      for (const x of s.sites) series.add(`site:${x.id}`, { t: s.at, kw: x.loadKw });
      for (const l of sampleListeners) l(s);
    } catch (err) {
      deps.log?.error({ err }, 'grid load sample failed');
    }
  }, config.sampleIntervalMs ?? 1000);
  sampler.unref();

  const checkId = (what: string, id: unknown) => {
    if (typeof id !== 'string' || !ID.test(id)) throw gridErrors.GRID_INPUT_INVALID(`${what} must be 1–64 letters, digits or . _ : -`);
  };
  const checkKw = (what: string, v: unknown, optional: boolean) => {
    if (optional && v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1e7) throw gridErrors.GRID_INPUT_INVALID(`${what} must be a number from 0 to 10000000`);
  };

  return {
    beforeCall,
    /** For the monitor's meter plausibility check: the station's maximum power, where assigned. */
    connectorMaxPowerW: (stationId: string): number | undefined => store.stations.get(stationId)?.maxPowerW,
    snapshot,
    series(level: 'fleet' | 'feeder' | 'site', id: string | undefined, since?: string): LoadPoint[] {
      if (level !== 'fleet') {
        checkId(`${level} id`, id);
        if (!(level === 'site' ? store.sites : store.feeders).has(id!)) throw gridErrors.GRID_NOT_FOUND(`No ${level} ${id}`);
      }
      return series.get(level === 'fleet' ? 'fleet' : `${level}:${id}`, since);
    },
    onSample(fn: (s: GridSnapshot) => void): () => void {
      sampleListeners.add(fn);
      return () => sampleListeners.delete(fn);
    },
    feeders: () => [...store.feeders.values()],
    sites: () => [...store.sites.values()],
    stationsOf: (siteId: string) => [...store.stations.values()].filter((a) => a.siteId === siteId),
    async putFeeder(f: { id: string; name?: string; limitKw: number; rampKwPerS?: number }): Promise<Feeder> {
      checkId('feeder id', f.id);
      checkKw('limitKw', f.limitKw, false);
      checkKw('rampKwPerS', f.rampKwPerS, true);
      const feeder: Feeder = { id: f.id, name: f.name ?? f.id, limitKw: f.limitKw, rampKwPerS: f.rampKwPerS, updatedAt: iso(now()) };
      await store.putFeeder(feeder);
      limitsChanged('feeder', f.id);
      return feeder;
    },
    async deleteFeeder(id: string) {
      if (!store.feeders.has(id)) throw gridErrors.GRID_NOT_FOUND(`No feeder ${id}`);
      const used = [...store.sites.values()].filter((s) => s.feederId === id).map((s) => s.id);
      if (used.length) throw gridErrors.GRID_CONFLICT(`Feeder ${id} still supplies sites ${used.slice(0, 5).join(', ')}`);
      await store.deleteFeeder(id);
      limitsChanged('feeder', id);
      series.drop(`feeder:${id}`);
    },
    async putSite(s: { id: string; name?: string; feederId?: string; limitKw: number; rampKwPerS?: number }): Promise<Site> {
      checkId('site id', s.id);
      checkKw('limitKw', s.limitKw, false);
      checkKw('rampKwPerS', s.rampKwPerS, true);
      if (s.feederId !== undefined && !store.feeders.has(s.feederId)) throw gridErrors.GRID_NOT_FOUND(`No feeder ${String(s.feederId).slice(0, 64)}`);
      const site: Site = { id: s.id, name: s.name ?? s.id, feederId: s.feederId, limitKw: s.limitKw, rampKwPerS: s.rampKwPerS, updatedAt: iso(now()) };
      await store.putSite(site);
      limitsChanged('site', s.id);
      return site;
    },
    async deleteSite(id: string) {
      if (!store.sites.has(id)) throw gridErrors.GRID_NOT_FOUND(`No site ${id}`);
      const used = [...store.stations.values()].filter((a) => a.siteId === id).length;
      if (used) throw gridErrors.GRID_CONFLICT(`Site ${id} still has ${used} stations; unassign them first`);
      await store.deleteSite(id);
      limitsChanged('site', id);
      series.drop(`site:${id}`);
    },
    async assignStation(siteId: string, stationId: string, maxPowerW?: number): Promise<StationAssignment> {
      if (!store.sites.has(siteId)) throw gridErrors.GRID_NOT_FOUND(`No site ${String(siteId).slice(0, 64)}`);
      if (maxPowerW !== undefined && !(Number.isFinite(maxPowerW) && maxPowerW > 0 && maxPowerW <= 1e7)) throw gridErrors.GRID_INPUT_INVALID('maxPowerW must be a number from 1 to 10000000');
      const a: StationAssignment = { stationId, siteId, maxPowerW: maxPowerW ?? defaultPowerW, updatedAt: iso(now()) };
      await store.putStation(a);
      limitsChanged('station', stationId);
      return a;
    },
    async unassignStation(siteId: string, stationId: string) {
      if (store.stations.get(stationId)?.siteId !== siteId) throw gridErrors.GRID_NOT_FOUND(`Station ${stationId} is not on site ${siteId}`);
      await store.deleteStation(stationId);
      limitsChanged('station', stationId);
    },
    /** A utility limit for a site (OpenADR IMPORT_CAPACITY_LIMIT); undefined lifts it. */
    setDsoLimit(siteId: string, limit: { kw: number; until: string; source: string } | undefined) {
      if (!limit) dso.delete(siteId);
      else dso.set(siteId, { kw: limit.kw, untilMs: Date.parse(limit.until), source: limit.source });
    },
    dsoLimits: () => [...dso.entries()].filter(([, d]) => d.untilMs > now()).map(([siteId, d]) => ({ siteId, limitKw: d.kw, until: iso(d.untilMs), source: d.source })),
    requestApproval(by: string, stations: number, reason: string, minutes = 15): Approval {
      if (!Number.isInteger(stations) || stations < 1 || stations > 1_000_000) throw gridErrors.GRID_INPUT_INVALID('stations must be an integer from 1 to 1000000');
      if (!(Number.isFinite(minutes) && minutes > 0 && minutes <= 240)) throw gridErrors.GRID_INPUT_INVALID('minutes must be from 1 to 240');
      if (approvals.size > 1000) for (const [k, a] of approvals) if (a.state !== 'pending' && a.state !== 'approved') approvals.delete(k);
      const a: Approval = { id: randomUUID(), state: 'pending', requestedBy: by, reason: String(reason).slice(0, 500), stations, remaining: stations, createdAt: iso(now()), expiresAt: iso(now() + minutes * 60_000) };
      approvals.set(a.id, a);
      return { ...a };
    },
    approve(id: string, by: string): Approval {
      const a = approvals.get(id);
      if (!a) throw gridErrors.GRID_NOT_FOUND(`No approval ${String(id).slice(0, 64)}`);
      if (Date.parse(a.expiresAt) <= now() && (a.state === 'pending' || a.state === 'approved')) a.state = 'expired';
      if (a.state !== 'pending') throw gridErrors.GRID_APPROVAL_INVALID(`Approval ${id} is ${a.state}`);
      if (a.requestedBy === by) throw gridErrors.GRID_APPROVAL_INVALID('The operator who asked for a mass action cannot approve it; a second operator must');
      a.state = 'approved';
      a.approvedBy = by;
      return { ...a };
    },
    approvals: () => [...approvals.values()].map((a) => ({ ...a })),
    /** Resume profiles sent after power or communication losses, newest last. */
    resumes: (stationId?: string): ResumeRecord[] => resumeLog.filter((r) => !stationId || r.stationId === stationId).map((r) => ({ ...r })),
    resumeSettings: () => ({ enabled: resumeOn, ...resume }),
    /** Commands checked, passed at once, held (and for how long in all) and refused by code. */
    guardStats: () => ({ ...counters, refused: { ...counters.refused } }),
    /** Re-reads sites, feeders and assignments (every STALE_BOUND_MS in a node, in case a change event was lost). */
    reloadLimits: () => store.load(),
    async close() {
      unsubscribe();
      unfollowLimits();
      for (const u of unsubscribeResume) u();
      for (const p of pending.values()) clearTimeout(p.timer);
      pending.clear();
      clearInterval(sampler);
      sampleListeners.clear();
      for (const h of holds) {
        clearTimeout(h.timer);
        h.resolve();
      }
      holds.clear();
    },
  };
}

export type Grid = Awaited<ReturnType<typeof createGrid>>;
