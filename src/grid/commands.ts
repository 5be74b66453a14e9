/**
 * What a CSMS→station command may do to the load, estimated before it is sent.
 * Pure functions over the OCPP payload (1.6 and 2.x spellings) and what the
 * guard knows about the station; the guard itself decides what to allow.
 */
import { capAt, profileSchedules } from './schedule.js';

/** Actions the guard looks at; every other CALL passes untouched. */
export const GUARDED_ACTIONS = new Set([
  'RequestStartTransaction', 'RemoteStartTransaction',
  'RequestStopTransaction', 'RemoteStopTransaction',
  'SetChargingProfile', 'ClearChargingProfile',
  'ChangeAvailability', 'Reset',
]);

export interface StationLoad {
  /** Largest power one charging session on this station may draw, in W. */
  maxPowerW: number;
  /** Power the station reports now, in W. */
  loadW: number;
  /** A transaction is running on the station. */
  charging: boolean;
}

export interface CommandEffect {
  /** Expected change of the station's draw in W: positive adds load, negative sheds it. */
  deltaW: number;
  /** Short name for messages and events. */
  kind: 'start' | 'stop' | 'limit' | 'clear-limit' | 'availability' | 'reset';
}

const VOLTS = 230;

/** The highest limit in a charging schedule, in W (A converted at 230 V per phase, 3 phases unless stated). */
export function scheduleLimitW(schedule: unknown): number | undefined {
  const list = Array.isArray(schedule) ? schedule : [schedule];
  let best: number | undefined;
  for (const s of list.slice(0, 8)) {
    if (!s || typeof s !== 'object') continue;
    const unit = (s as { chargingRateUnit?: unknown }).chargingRateUnit;
    const periods = (s as { chargingSchedulePeriod?: unknown }).chargingSchedulePeriod;
    if (!Array.isArray(periods)) continue;
    for (const p of periods.slice(0, 1024)) {
      const limit = Number((p as { limit?: unknown })?.limit);
      if (!Number.isFinite(limit) || limit < 0) continue;
      const phases = Number((p as { numberPhases?: unknown }).numberPhases ?? 3);
      const w = unit === 'A' ? limit * VOLTS * (Number.isFinite(phases) && phases > 0 ? phases : 3) : limit;
      best = best === undefined ? w : Math.max(best, w);
    }
  }
  return best;
}

function profileOf(payload: Record<string, unknown>): unknown {
  return payload.chargingProfile ?? payload.csChargingProfiles;
}

function profileLimitW(profile: unknown): number | undefined {
  if (!profile || typeof profile !== 'object') return undefined;
  return scheduleLimitW((profile as { chargingSchedule?: unknown }).chargingSchedule);
}

/** The effect of one guarded command, or undefined for an action the guard does not look at. */
export function commandEffect(action: string, payload: unknown, s: StationLoad, nowMs = Date.now()): CommandEffect | undefined {
  if (!GUARDED_ACTIONS.has(action)) return undefined;
  const p = payload && typeof payload === 'object' ? (payload as Record<string, unknown>) : {};
  switch (action) {
    case 'RequestStartTransaction':
    case 'RemoteStartTransaction': {
      const limit = profileLimitW(profileOf(p));
      return { kind: 'start', deltaW: Math.min(limit ?? s.maxPowerW, s.maxPowerW) };
    }
    case 'RequestStopTransaction':
    case 'RemoteStopTransaction':
      return { kind: 'stop', deltaW: -s.loadW };
    case 'SetChargingProfile': {
      // The cap in force now (the highest of the schedules, any of which the station may apply);
      // later periods are scheduled steps, judged at their time (schedule.ts). A profile whose
      // schedules all start later changes nothing now.
      const parsed = profileSchedules(p, nowMs, s.maxPowerW);
      if (parsed.length && parsed.every((x) => x.periods[0]!.atMs > nowMs)) return { kind: 'limit', deltaW: 0 };
      let limit = parsed.length ? undefined : profileLimitW(profileOf(p));
      for (const x of parsed) {
        const c = x.periods[0]!.atMs > nowMs ? undefined : capAt(x.periods, x.endMs, nowMs) ?? s.maxPowerW;
        if (c !== undefined) limit = Math.max(limit ?? 0, c);
      }
      const cap = Math.min(limit ?? s.maxPowerW, s.maxPowerW);
      // A limit only changes the draw of a session that is running (or will run up to it).
      return { kind: 'limit', deltaW: s.charging ? cap - s.loadW : 0 };
    }
    case 'ClearChargingProfile':
      return { kind: 'clear-limit', deltaW: s.charging ? Math.max(0, s.maxPowerW - s.loadW) : 0 };
    case 'ChangeAvailability': {
      const status = p.operationalStatus ?? p.type;
      return { kind: 'availability', deltaW: status === 'Inoperative' ? -s.loadW : 0 };
    }
    default:
      return { kind: 'reset', deltaW: -s.loadW };
  }
}
