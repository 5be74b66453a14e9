/**
 * Scheduled load changes: what a SetChargingProfile does to a station's draw
 * over time, not only now. A profile that holds stations at 0 W and lets them
 * all go at the same future moment is a synchronised load step the live ramp
 * guard never sees (nothing changes when the command is sent), so the guard
 * books each accepted profile's future step-ups here and judges a new profile
 * by what it adds, at its time, to the steps already booked.
 *
 * Model (worst case, because the CSMS cannot know whether a session will run
 * then): a profile's *contribution* at time t is how far its cap at t is above
 * its cap in force when it was accepted (the base), clamped to the station's
 * maximum. The cap is the schedule's period in force; after `duration` the
 * profile stops governing and the station may draw its maximum. 2.1
 * `randomizedDelay` spreads each later period's start uniformly over the
 * delay, booked as an even rate over it. Pure functions; src/grid/index.ts keeps
 * the book and decides.
 */

const VOLTS = 230;
/** Bounds against hostile payloads (the OCPP schemas bound them too). */
const MAX_SCHEDULES = 8;
const MAX_PERIODS = 1024;

/** One point of a contribution timeline: from `atMs` on, the profile may add `w` W over its base. */
export interface StepPoint { atMs: number; w: number }

export interface ProfileTimeline {
  /** Key that a later profile or a ClearChargingProfile replaces: chargingProfileId and connector / EVSE. */
  profileId?: number;
  /** Cap in force when the profile was accepted, in W (undefined when the profile starts later). */
  capNowW?: number;
  /** Contribution over the base, piecewise constant, sorted by time; only future points. */
  points: StepPoint[];
  /** The rises of the contribution: what the ramp guard books. */
  ups: RampStep[];
}

interface Period { atMs: number; capW: number; spreadMs: number }

function periodW(p: unknown, unit: unknown): number | undefined {
  const limit = Number((p as { limit?: unknown })?.limit);
  if (!Number.isFinite(limit) || limit < 0) return undefined;
  if (unit !== 'A') return limit;
  const phases = Number((p as { numberPhases?: unknown }).numberPhases ?? 3);
  return limit * VOLTS * (Number.isFinite(phases) && phases > 0 ? phases : 3);
}

function profileOf(payload: unknown): Record<string, unknown> | undefined {
  if (!payload || typeof payload !== 'object') return undefined;
  const p = payload as Record<string, unknown>;
  const profile = p.chargingProfile ?? p.csChargingProfiles;
  return profile && typeof profile === 'object' ? (profile as Record<string, unknown>) : undefined;
}

/**
 * The cap a SetChargingProfile sets over time, as periods in absolute time, for
 * one station: 1.6 (`csChargingProfiles`, one schedule) and 2.x
 * (`chargingProfile`, a list of schedules: the station applies one of them,
 * the CSMS cannot tell which, so each is judged). A Relative or Recurring profile is read as starting at
 * its `startSchedule` or now (a recurrence is not expanded).
 */
export function profileSchedules(payload: unknown, nowMs: number, maxPowerW: number): { periods: Period[]; endMs?: number; profileId?: number }[] {
  const profile = profileOf(payload);
  if (!profile) return [];
  const out: { periods: Period[]; endMs?: number; profileId?: number }[] = [];
  const rawId = Number(profile.chargingProfileId ?? profile.id);
  const profileId = Number.isInteger(rawId) ? rawId : undefined;
  const list = Array.isArray(profile.chargingSchedule) ? profile.chargingSchedule : [profile.chargingSchedule];
  for (const s of list.slice(0, MAX_SCHEDULES)) {
    if (!s || typeof s !== 'object') continue;
    const sch = s as Record<string, unknown>;
    if (!Array.isArray(sch.chargingSchedulePeriod)) continue;
    const startParsed = typeof sch.startSchedule === 'string' ? Date.parse(sch.startSchedule) : NaN;
    const startMs = profile.chargingProfileKind === 'Absolute' && Number.isFinite(startParsed) ? startParsed : nowMs;
    const delay = Number(sch.randomizedDelay);
    const spreadMs = Number.isFinite(delay) && delay > 0 ? Math.min(delay, 86_400 * 7) * 1000 : 0;
    const periods: Period[] = [];
    for (const p of sch.chargingSchedulePeriod.slice(0, MAX_PERIODS)) {
      const w = periodW(p, sch.chargingRateUnit);
      const offset = Number((p as { startPeriod?: unknown })?.startPeriod);
      if (w === undefined || !Number.isFinite(offset) || offset < 0) continue;
      periods.push({ atMs: startMs + offset * 1000, capW: Math.min(w, maxPowerW), spreadMs: 0 });
    }
    if (!periods.length) continue;
    periods.sort((a, b) => a.atMs - b.atMs);
    // 2.1 randomizedDelay: the station delays each period's start after the first (a hold must not be shortened).
    for (let i = 1; i < periods.length; i++) periods[i]!.spreadMs = spreadMs;
    const duration = Number(sch.duration);
    const endMs = Number.isFinite(duration) && duration > 0 ? startMs + duration * 1000 : undefined;
    out.push({ periods, endMs, profileId });
  }
  return out;
}

/** The cap of the periods in force at `t` (undefined before the first starts or after the end). */
export function capAt(periods: Period[], endMs: number | undefined, t: number): number | undefined {
  if (endMs !== undefined && t >= endMs) return undefined;
  let cap: number | undefined;
  for (const p of periods) if (p.atMs <= t) cap = p.capW;
  return cap;
}

/** A scheduled step-up: `w` W at `atMs`, or spread evenly over [atMs, atMs + spreadMs] when the station randomises it. */
export interface RampStep { atMs: number; w: number; spreadMs?: number; fresh?: boolean }

/**
 * The profile's future contribution timeline. The base is the cap in force
 * now; for a profile that starts later it is 0 (worst case: the station may be
 * idle or held until then). After `duration` the profile no longer limits the
 * station, which may draw its maximum. `points` count a randomised start in
 * full from its earliest moment (for limits: any one station may release
 * first); `ups` keep it spread (for the ramp: many stations' random delays add
 * up to an even rate, not one step).
 */
export function profileTimelines(payload: unknown, nowMs: number, maxPowerW: number): ProfileTimeline[] {
  return profileSchedules(payload, nowMs, maxPowerW).map((parsed) => timelineOf(parsed, nowMs, maxPowerW));
}

/** The timeline of the profile's schedule with the most step-up (what the guard books), or undefined for no usable schedule. */
export function profileTimeline(payload: unknown, nowMs: number, maxPowerW: number): ProfileTimeline | undefined {
  const total = (t: ProfileTimeline) => t.ups.reduce((a, u) => a + u.w, 0);
  return profileTimelines(payload, nowMs, maxPowerW).reduce<ProfileTimeline | undefined>((best, t) => (!best || total(t) > total(best) ? t : best), undefined);
}

function timelineOf(parsed: { periods: Period[]; endMs?: number; profileId?: number }, nowMs: number, maxPowerW: number): ProfileTimeline {
  const { periods, endMs, profileId } = parsed;
  const capNowW = capAt(periods, endMs, nowMs);
  const base = capNowW ?? 0;
  const changes: Period[] = periods.filter((p) => p.atMs > nowMs);
  if (endMs !== undefined && endMs > nowMs) changes.push({ atMs: endMs, capW: maxPowerW, spreadMs: 0 });
  const points: StepPoint[] = [];
  const ups: RampStep[] = [];
  let prev = base;
  for (const c of changes) {
    if (endMs !== undefined && c.atMs >= endMs && c !== changes[changes.length - 1]) continue;
    const target = Math.max(0, c.capW - base);
    const from = Math.max(0, prev - base);
    points.push({ atMs: c.atMs, w: target });
    // A randomised start cannot run past the profile's end, where the station is released anyway.
    const spreadMs = endMs === undefined ? c.spreadMs : Math.max(0, Math.min(c.spreadMs, endMs - c.atMs));
    if (target > from) ups.push(spreadMs > 0 ? { atMs: c.atMs, w: target - from, spreadMs } : { atMs: c.atMs, w: target - from });
    prev = c.capW;
  }
  return { profileId, capNowW, points, ups };
}

/** Contribution of a timeline at `t`: the last point at or before t. */
export function contributionAt(points: readonly StepPoint[], t: number): number {
  let w = 0;
  for (const p of points) {
    if (p.atMs > t) break;
    w = p.w;
  }
  return w;
}

/** Booked step-ups still to come after `nowMs` (the part of a spread one not yet past). */
export function pendingUps(ups: readonly RampStep[], nowMs: number): RampStep[] {
  const out: RampStep[] = [];
  for (const u of ups) {
    const end = u.atMs + (u.spreadMs ?? 0);
    if (end <= nowMs) continue;
    if (u.spreadMs && u.atMs < nowMs) out.push({ atMs: nowMs, w: (u.w * (end - nowMs)) / u.spreadMs, spreadMs: end - nowMs });
    else out.push({ ...u });
  }
  return out;
}

/**
 * Whether a level's scheduled step-ups stay within its ramp rate: the same
 * generic cell rate algorithm as the live guard (ramp.ts) run over the future
 * steps in time order, as a backlog: each step adds w / rate seconds, time
 * drains it, a spread step adds at its even rate while it lasts. A step that
 * finds more backlog than the tolerance does not conform; so does a spread one
 * whose rate, with the others, keeps the backlog above the tolerance. Returns
 * the moments that do not conform and whether a `fresh` step took part.
 */
export function rampViolations(steps: readonly RampStep[], rateWPerS: number, toleranceMs: number): { atMs: number; fresh: boolean }[] {
  const rate = rateWPerS / 1000; // W per ms
  type Ev = { atMs: number; order: number; step: RampStep };
  const evs: Ev[] = [];
  for (const s of steps) {
    if (s.spreadMs && s.spreadMs > 0) {
      evs.push({ atMs: s.atMs, order: 1, step: s }, { atMs: s.atMs + s.spreadMs, order: 0, step: s });
    } else evs.push({ atMs: s.atMs, order: s.fresh ? 3 : 2, step: s });
  }
  evs.sort((a, b) => a.atMs - b.atMs || a.order - b.order);
  const out: { atMs: number; fresh: boolean }[] = [];
  let backlog = 0; // ms
  let fluid = 0; // W per ms of spread steps in progress
  let freshFluid = 0;
  let t = evs.length ? evs[0]!.atMs : 0;
  for (const e of evs) {
    if (e.atMs > t) {
      backlog = Math.max(0, backlog + (fluid / rate - 1) * (e.atMs - t));
      if (fluid > 0 && backlog > toleranceMs + 1e-6) out.push({ atMs: e.atMs, fresh: freshFluid > 0 });
      t = e.atMs;
    }
    const s = e.step;
    if (e.order === 0) {
      fluid -= s.w / s.spreadMs!;
      if (s.fresh) freshFluid--;
    } else if (e.order === 1) {
      fluid += s.w / s.spreadMs!;
      if (s.fresh) freshFluid++;
    } else {
      if (backlog > toleranceMs + 1e-6) out.push({ atMs: e.atMs, fresh: !!s.fresh });
      backlog += s.w / rate;
    }
  }
  return out;
}
