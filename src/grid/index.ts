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
import { Topics, type SecurityEvent, type TransactionChanged } from '../bus/events.js';
import type { StationContext } from '../model/station.js';
import type { Database } from '../store/index.js';
import { GUARDED_ACTIONS } from './commands.js';
import { decideCommand, type GuardPolicy } from './decide.js';
import { GuardState, type Approval } from './guard-state.js';
import { levelsOf, siteOf, type LevelSettings } from './levels.js';
import { startResumeWatch, type ResumeConfig, type ResumeRecord } from './resume-watch.js';
import { gridErrors } from './errors.js';
import { LiveLoad, LoadSeries, type LoadPoint } from './load.js';
import { localLedger, sharedLedger, type Decision, type Ledger } from './ledger.js';
import { createGridStore, type Feeder, type Site, type StationAssignment } from './store.js';
import type { OpenAdrConfig } from './openadr.js';

export { gridErrors } from './errors.js';
export { gridMigrations, type Feeder, type Site, type StationAssignment } from './store.js';
export { commandEffect, scheduleLimitW, GUARDED_ACTIONS } from './commands.js';
export { createOpenAdrVen, type OpenAdrConfig, type OpenAdrVen } from './openadr.js';
export type { LoadPoint } from './load.js';
export { profileTimeline, profileTimelines, rampViolations, pendingUps, contributionAt, type StepPoint, type RampStep, type ProfileTimeline } from './schedule.js';
export { resumePlan, RESUME_DEFAULTS, type ResumePlan, type ResumeSettings } from './resume.js';
export type { Approval } from './guard-state.js';
export type { ResumeRecord } from './resume-watch.js';

/** Levels (levels.ts: the fleet's limit and ramp, the default ramp), resume (resume-watch.ts) and the guard's policy. */
export interface GridConfig extends LevelSettings, ResumeConfig {
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
  openadr?: OpenAdrConfig;
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

interface DsoLimit { kw: number; untilMs: number; source: string }

const ID = /^[A-Za-z0-9._:-]{1,64}$/;

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
  const state = new GuardState((config.rampToleranceS ?? 2) * 1000);
  const series = new LoadSeries(config.seriesPoints ?? 3600);
  const dso = new Map<string, DsoLimit>();
  const sampleListeners = new Set<(s: GridSnapshot) => void>();
  const holds = new Set<{ timer: NodeJS.Timeout; resolve(): void }>();
  const defaultPowerW = config.defaultStationPowerW ?? 22_000;
  const policy: GuardPolicy = {
    maxHoldMs: config.maxHoldMs ?? 15_000,
    jitterMs: config.jitterMs ?? 1000,
    rampToleranceMs: (config.rampToleranceS ?? 2) * 1000,
    massWindowS: config.massWindowS ?? 60,
    massShare: config.massShare ?? 0.2,
    massMinStations: config.massMinStations ?? 10,
    reservationTtlS: config.reservationTtlS ?? 120,
  };
  const iso = (ms: number) => new Date(ms).toISOString();
  const stationMaxW = (stationId: string) => store.stations.get(stationId)?.maxPowerW ?? defaultPowerW;

  // Sites, feeders and assignments are the fleet's: a change on any node is re-read on every node.
  const limitsChanged = (kind: 'feeder' | 'site' | 'station', id: string) => publishChange(deps.bus, 'grid.limits.changed', { kind, id });
  const unfollowLimits = onChange(deps.bus, 'grid.limits.changed', () => void store.load().catch((err) => deps.log?.warn({ err }, 'grid limits not reloaded')));

  const unsubscribe = deps.bus.subscribe(Topics.transactionChanged, (e) => {
    const t: Partial<TransactionChanged> | undefined = e.data;
    const stationId = live.apply(t ?? {});
    // The station now reports what a start or a new limit did; its reservation has served.
    if (t && stationId && (t.eventType === 'Started' || t.powerW !== undefined)) state.settleReservation(stationId, t.eventType === 'Started');
  });

  const resume = startResumeWatch({
    bus: deps.bus, log: deps.log, now, random, commands: deps.commands, versionOf: deps.versionOf, stationMaxW,
    // By the CSMS's records: a station with no sessions has nothing to resume (a driver's next start is no synchronised step).
    async hadSessions(stationId) {
      if (live.charging(stationId)) return true;
      try {
        return await deps.hasOpenTransaction(stationId);
      } catch (err) {
        deps.log?.warn({ err, stationId }, 'open transactions not readable; resume profile sent to be safe');
        return true;
      }
    },
  }, config);

  function dsoLimit(siteId: string): number | undefined {
    const d = dso.get(siteId);
    if (!d) return undefined;
    if (d.untilMs <= now()) {
      dso.delete(siteId);
      return undefined;
    }
    return d.kw;
  }

  function loadW(match: (stationId: string) => boolean): number {
    let w = 0;
    for (const s of live.stations()) if (match(s)) w += live.stationW(s);
    return w;
  }

  /** What the guard did with the commands it saw since start: GET /api/v1/grid `guard`. */
  const counters = { checked: 0, passed: 0, held: 0, heldMsTotal: 0, refused: {} as Record<string, number> };

  /**
   * Decides one command (synchronously, so concurrent commands see each
   * other: decide.ts) and returns how long to hold it with the ledger entries
   * that record its effect; throws to refuse. In a cluster it runs under the
   * guard's lock with every node's entries applied (ledger.ts).
   */
  function decide(ctx: StationContext, action: string, payload: unknown): Decision<number> {
    counters.checked++;
    const stationId = ctx.stationId;
    return decideCommand(state, policy, {
      ctx, action, payload, nowMs: now(), random: random(), isResume: resume.isResumePayload(payload),
      levels: levelsOf(store, config, stationId, dsoLimit), stationMaxW: stationMaxW(stationId),
      station: { loadW: live.stationW(stationId), charging: live.charging(stationId) }, loadW, fleetSize: deps.fleetSize(),
    });
  }

  const ledger: Ledger = deps.cluster && deps.db.dialect === 'postgres'
    ? sharedLedger({ database: deps.db, lockKey: `evguard-grid-guard:${deps.cluster.name}`, origin: deps.cluster.origin, apply: (e) => state.apply(e, now()), now })
    : localLedger((e) => state.apply(e, now()));

  /** Decides (see `decide`), then holds the command if the ramp asks for it; a refusal is a security event. */
  async function beforeCall(ctx: StationContext, action: string, payload: unknown): Promise<void> {
    if (!GUARDED_ACTIONS.has(action)) return;
    let holdMs: number;
    try {
      holdMs = await ledger.run(() => decide(ctx, action, payload));
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code?.startsWith('GRID_')) {
        counters.refused[code] = (counters.refused[code] ?? 0) + 1;
        deps.securityEvent({ stationId: ctx.stationId, remoteAddress: ctx.remoteAddress, type: 'GridCommandRefused', techInfo: `${action}: ${code}: ${(err as Error).message}`.slice(0, 255) });
      }
      throw err;
    }
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
    let stations = 0;
    for (const s of store.stations.keys()) if (match(s)) stations++;
    return { id, ...extra, loadKw: loadW(match) / 1000, reservedKw: state.reservedW(match) / 1000, stations };
  }

  function snapshot(): GridSnapshot {
    state.expireReservations(now());
    const sites = [...store.sites.values()].map((s) => {
      const d = dsoLimit(s.id);
      return view(s.id, (x) => store.stations.get(x)?.siteId === s.id, { name: s.name, feederId: s.feederId, configuredLimitKw: s.limitKw, dsoLimitKw: d, limitKw: d === undefined ? s.limitKw : Math.min(s.limitKw, d), rampKwPerS: s.rampKwPerS ?? config.defaultRampKwPerS });
    });
    const feeders = [...store.feeders.values()].map((f) => view(f.id, (x) => siteOf(store, x)?.feederId === f.id, { name: f.name, limitKw: f.limitKw, configuredLimitKw: f.limitKw, rampKwPerS: f.rampKwPerS ?? config.defaultRampKwPerS }));
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
      if (state.approvals.size > 1000) for (const [k, a] of state.approvals) if (a.state !== 'pending' && a.state !== 'approved') state.approvals.delete(k);
      const a: Approval = { id: randomUUID(), state: 'pending', requestedBy: by, reason: String(reason).slice(0, 500), stations, remaining: stations, createdAt: iso(now()), expiresAt: iso(now() + minutes * 60_000) };
      state.approvals.set(a.id, a);
      return { ...a };
    },
    approve(id: string, by: string): Approval {
      const a = state.approvals.get(id);
      if (!a) throw gridErrors.GRID_NOT_FOUND(`No approval ${String(id).slice(0, 64)}`);
      if (Date.parse(a.expiresAt) <= now() && (a.state === 'pending' || a.state === 'approved')) a.state = 'expired';
      if (a.state !== 'pending') throw gridErrors.GRID_APPROVAL_INVALID(`Approval ${id} is ${a.state}`);
      if (a.requestedBy === by) throw gridErrors.GRID_APPROVAL_INVALID('The operator who asked for a mass action cannot approve it; a second operator must');
      a.state = 'approved';
      a.approvedBy = by;
      return { ...a };
    },
    approvals: () => [...state.approvals.values()].map((a) => ({ ...a })),
    /** Resume profiles sent after power or communication losses, newest last. */
    resumes: (stationId?: string): ResumeRecord[] => resume.records(stationId),
    resumeSettings: () => resume.settings(),
    /** Commands checked, passed at once, held (and for how long in all) and refused by code. */
    guardStats: () => ({ ...counters, refused: { ...counters.refused } }),
    /** Re-reads sites, feeders and assignments (every STALE_BOUND_MS in a node, in case a change event was lost). */
    reloadLimits: () => store.load(),
    async close() {
      unsubscribe();
      unfollowLimits();
      resume.close();
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
