/**
 * The grid guard's decision on one power-affecting command, as a pipeline:
 * the levels the station sits in (site, feeder, fleet) → the profile's
 * scheduled step-ups against each level's ramp and limit → the load now plus
 * reservations against each limit → the ramp rate (how long to hold) → the
 * mass-action rule → the decision: a hold and the ledger entries that record
 * its effect. A refusal is thrown as the grid's coded error; the caller
 * records it. Nothing here reads a clock, a timer or the database: the
 * inputs say what the time and the load are.
 */
import type { StationContext } from '../model/station.js';
import { commandEffect } from './commands.js';
import { gridErrors } from './errors.js';
import type { GuardState } from './guard-state.js';
import type { Decision, LedgerEntry } from './ledger.js';
import type { Level } from './levels.js';
import type { RampLevel } from './ramp.js';
import { contributionAt, pendingUps, profileTimeline, profileTimelines, rampViolations, type ProfileTimeline, type StepPoint } from './schedule.js';

/** Commands whose charging profile the guard books as scheduled step-ups. */
const PROFILE_ACTIONS = new Set(['SetChargingProfile', 'RequestStartTransaction', 'RemoteStartTransaction']);

export interface GuardPolicy {
  maxHoldMs: number;
  jitterMs: number;
  rampToleranceMs: number;
  massWindowS: number;
  massShare: number;
  massMinStations: number;
  reservationTtlS: number;
}

/** What the decision reads of the world at this moment. */
export interface DecisionInput {
  ctx: StationContext;
  action: string;
  payload: unknown;
  nowMs: number;
  /** A value in [0, 1) for the hold's jitter. */
  random: number;
  /** The grid's own resume profile: booked, never refused, no mass action. */
  isResume: boolean;
  levels: Level[];
  stationMaxW: number;
  station: { loadW: number; charging: boolean };
  /** Live load of the stations a level matches, in W. */
  loadW(match: (stationId: string) => boolean): number;
  fleetSize: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function decideCommand(state: GuardState, policy: GuardPolicy, input: DecisionInput): Decision<number> {
  const { ctx, action, payload, nowMs, isResume, levels } = input;
  const stationId = ctx.stationId;
  state.expireReservations(nowMs);
  // A resume profile holds a station that has just come back at 0 W: it adds no load now and is no operator's mass action.
  const effect = isResume ? { kind: 'limit' as const, deltaW: 0 } : commandEffect(action, payload, { maxPowerW: input.stationMaxW, loadW: input.station.loadW, charging: input.station.charging }, nowMs)!;
  const demandW = (l: Level) => input.loadW(l.match) + state.reservedW(l.match);

  // A start may carry a profile (TxProfile, from the session's start) that releases later: its steps are booked too.
  const timeline = PROFILE_ACTIONS.has(action) ? profileTimeline(payload, nowMs, input.stationMaxW) : undefined;
  const profileKey = timeline ? String(timeline.profileId ?? 'none') : '';
  // A resume profile is booked (operators' profiles must fit around the releases) but never refused: power restoration must not be blocked.
  // Each schedule of a 2.x profile is judged (the station applies one, the CSMS cannot tell which); the one with the most step-up is booked.
  if (timeline && !isResume) {
    for (const t of profileTimelines(payload, nowMs, input.stationMaxW)) checkSchedule(state, policy, input, t, profileKey, Math.max(0, effect.deltaW), demandW);
  }

  if (effect.deltaW > 0) {
    for (const l of levels) {
      if (l.limitKw === undefined) continue;
      const projectedKw = (demandW(l) + effect.deltaW) / 1000;
      if (projectedKw > l.limitKw + 1e-9) {
        throw gridErrors.GRID_LIMIT_EXCEEDED(`${action} on ${stationId} would take ${l.label} to ${projectedKw.toFixed(1)} kW, over its limit of ${l.limitKw} kW`, { details: { level: l.key, projectedKw, limitKw: l.limitKw } });
      }
    }
  }

  const rampLevels: RampLevel[] = levels.filter((l) => (l.rampKwPerS ?? 0) > 0).map((l) => ({ key: l.key, rateWPerS: l.rampKwPerS! * 1000 }));
  const start = state.ramp.earliest(rampLevels, effect.deltaW, nowMs);
  if (start - nowMs > policy.maxHoldMs) {
    const retryAfterS = Math.ceil((start - nowMs) / 1000);
    throw gridErrors.GRID_RAMP_EXCEEDED(`${action} on ${stationId} would change load faster than the ramp rate allows; retry in ${retryAfterS} s`, { details: { retryAfterS } });
  }

  const massThreshold = Math.max(policy.massMinStations, policy.massShare * input.fleetSize);
  if (!isResume && !state.massAllowed(stationId, nowMs, policy.massWindowS * 1000, massThreshold)) {
    throw gridErrors.GRID_APPROVAL_REQUIRED(`${action} would reach more than ${Math.max(policy.massMinStations, Math.floor(policy.massShare * input.fleetSize))} stations within ${policy.massWindowS} s; ask a second operator to approve the mass action (POST /api/v1/grid/approvals)`);
  }

  const entries: LedgerEntry[] = [];
  if (!isResume) entries.push({ k: 'mass', stationId, atMs: nowMs });
  if (effect.deltaW !== 0 && rampLevels.length) entries.push({ k: 'ramp', levels: rampLevels, deltaW: effect.deltaW, startMs: start });
  if (timeline) entries.push({ k: 'book', stationId, key: profileKey, points: timeline.points, ups: timeline.ups });
  else if (action === 'ClearChargingProfile') entries.push({ k: 'clear', stationId, id: profileIdOf(payload) });
  const holdMs = start > nowMs ? start - nowMs + input.random * policy.jitterMs : 0;
  if (effect.deltaW > 0) entries.push({ k: 'reserve', stationId, w: effect.deltaW, untilMs: nowMs + holdMs + policy.reservationTtlS * 1000, kind: effect.kind === 'start' ? 'start' : 'limit' });
  return { value: holdMs, entries };
}

/** The profile a ClearChargingProfile names (1.6 `id`, 2.x `chargingProfileId`); undefined clears all of the station's. */
function profileIdOf(payload: unknown): string | undefined {
  const p = payload && typeof payload === 'object' ? (payload as Record<string, unknown>) : {};
  const id = p.chargingProfileId ?? p.id;
  return id === undefined ? undefined : String(id);
}

/**
 * Refuses a profile whose future step-ups, with those already booked at the
 * same level (the profile it replaces left out), would break a level's ramp
 * rate or limit at their time.
 */
function checkSchedule(state: GuardState, policy: GuardPolicy, input: DecisionInput, t: ProfileTimeline, key: string, addedNowW: number, demandW: (l: Level) => number): void {
  if (!t.ups.length) return;
  const { action, nowMs } = input;
  const stationId = input.ctx.stationId;
  for (const l of input.levels) {
    const others = state.bookingsAt(l.match, { stationId, key }, nowMs);
    const rate = (l.rampKwPerS ?? 0) * 1000;
    if (rate > 0) {
      const existing = others.flatMap((b) => pendingUps(b.ups, nowMs));
      const before = rampViolations(existing, rate, policy.rampToleranceMs).length;
      const after = rampViolations([...existing, ...pendingUps(t.ups, nowMs).map((u) => ({ ...u, fresh: true }))], rate, policy.rampToleranceMs);
      const bad = after.find((v) => v.fresh) ?? (after.length > before ? after[after.length - 1] : undefined);
      if (bad) {
        const stepKw = t.ups.reduce((a, u) => a + u.w, 0) / 1000;
        throw gridErrors.GRID_SCHEDULE_RAMP_EXCEEDED(`${action} on ${stationId} schedules ${stepKw.toFixed(1)} kW of step-ups that, with ${existing.length} already scheduled on ${l.label}, would exceed its ramp of ${l.rampKwPerS} kW/s at ${iso(bad.atMs)}; spread the release times (for example with randomizedDelay)`, { details: { level: l.key, at: iso(bad.atMs), rampKwPerS: l.rampKwPerS, scheduledSteps: existing.length } });
      }
    }
    if (l.limitKw !== undefined) {
      // A sweep over every booked change at this level: what each profile adds over its contribution now, plus the new one.
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
      emit(t.points, true);
      events.sort((a, b) => a.atMs - b.atMs);
      let projected = demandW(l) + addedNowW;
      let freshW = 0;
      for (let i = 0; i < events.length; i++) {
        projected += events[i]!.dW;
        if (events[i]!.fresh) freshW += events[i]!.dW;
        if (i + 1 < events.length && events[i + 1]!.atMs === events[i]!.atMs) continue;
        if (freshW > 0 && projected / 1000 > l.limitKw + 1e-9) {
          const at = events[i]!.atMs;
          throw gridErrors.GRID_SCHEDULE_LIMIT_EXCEEDED(`${action} on ${stationId} schedules a step-up that would take ${l.label} to ${(projected / 1000).toFixed(1)} kW at ${iso(at)}, over its limit of ${l.limitKw} kW`, { details: { level: l.key, at: iso(at), projectedKw: projected / 1000, limitKw: l.limitKw } });
        }
      }
    }
  }
}
