/**
 * Randomised resume after a power or communication loss. When the power
 * comes back to a whole area, or a network outage ends, every station would
 * otherwise resume charging in the same second: a step the grid sees as one
 * surge (the UK Smart Charge Points Regulations 2021 require a random delay of
 * up to 600 s). The CSMS's part is a default charging profile that holds the
 * station at 0 W and releases it at a per-station random time in a window.
 *
 * - OCPP 1.6 and 2.0.1: the CSMS draws the release time and sends an explicit
 *   TxDefaultProfile: one 0 W period from `startSchedule` (now) for `duration`
 *   seconds; when it ends the profile stops applying and the station's other
 *   profiles (or none) govern again.
 * - OCPP 2.1: the schedule carries `randomizedDelay` (the window) and the
 *   station draws the delay itself: a 0 W period from now, then the station's
 *   maximum from startPeriod 1, whose start the station delays by 0..window s;
 *   `duration` ends the profile just after the latest possible release.
 *
 * Which of the two a station gets depends on what its protocol offers
 * (`features.randomizedDelay`); the version adapters (src/ocpp/commands) spell
 * the profile for the wire.
 *
 * Pure functions; src/grid/index.ts decides when to send and passes the
 * profile through the guard like any other command.
 */
import type { ChargingProfileSpec } from '../model/commands.js';

export interface ResumeSettings {
  /** Release window in seconds (default 600; 0 turns the feature off). */
  windowS: number;
  /** chargingProfileId of the resume profile; a fixed id, so a newer one replaces an older one. */
  profileId: number;
  /** Stack level: above the operator's usual TxDefaultProfile, so the hold wins while it lasts. */
  stackLevel: number;
}

export const RESUME_DEFAULTS: ResumeSettings = { windowS: 600, profileId: 990_001, stackLevel: 9 };

export interface ResumePlan {
  /** The whole-station TxDefaultProfile to send. */
  profile: ChargingProfileSpec;
  /** When the station may draw power again: exact for 1.6 / 2.0.1, the latest possible for 2.1. */
  releaseAt: string;
  /** Seconds from now to the release (1.6 / 2.0.1), or the window the station draws from (2.1). */
  releaseS: number;
  /** Who draws the delay: the CSMS (explicit schedule) or the station (2.1 randomizedDelay). */
  drawnBy: 'csms' | 'station';
}

/**
 * The resume profile for one station. `random` is in [0, 1); the release is
 * 1..windowS seconds from `nowMs` (whole seconds: schedule periods are integers).
 */
export function resumePlan(features: { randomizedDelay: boolean }, s: ResumeSettings, maxPowerW: number, nowMs: number, random: number): ResumePlan {
  const startSchedule = new Date(nowMs).toISOString();
  const base = { id: s.profileId, purpose: 'TxDefaultProfile', kind: 'Absolute', stackLevel: s.stackLevel } as const;
  if (features.randomizedDelay) {
    const schedule = {
      startSchedule, duration: s.windowS + 2, randomizedDelay: s.windowS,
      periods: [{ startPeriod: 0, limit: 0 }, { startPeriod: 1, limit: Math.round(maxPowerW) }],
    };
    return {
      profile: { ...base, schedule },
      releaseAt: new Date(nowMs + (s.windowS + 1) * 1000).toISOString(), releaseS: s.windowS, drawnBy: 'station',
    };
  }
  const releaseS = Math.min(s.windowS, 1 + Math.floor(Math.max(0, Math.min(random, 0.999999)) * s.windowS));
  const profile = { ...base, schedule: { startSchedule, duration: releaseS, periods: [{ startPeriod: 0, limit: 0 }] } };
  return { profile, releaseAt: new Date(nowMs + releaseS * 1000).toISOString(), releaseS, drawnBy: 'csms' };
}
