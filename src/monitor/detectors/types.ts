/**
 * What every detector is: a pure state machine fed bus events with the
 * monitor's clock, returning findings. Detectors never touch the database,
 * the network or the wall clock, so each attack can be replayed in a test.
 */
import type { BusEvent, Topic } from '../../bus/index.js';

import type { Severity } from '../events.js';

export type { Severity };

export const DETECTOR_NAMES = [
  'bruteForce',
  'duplicateIdentity',
  'downgrade',
  'invalidFlood',
  'replay',
  'clockSkew',
  'meterPlausibility',
  'signedMeter',
  'strandedTransactions',
  'tamper',
  'rebootStorm',
  'flapping',
  'firmwareCertificate',
  'criticalEvent',
  'loadSwing',
  'certificateExpiry',
  'threatIndicator',
] as const;

export type DetectorName = (typeof DETECTOR_NAMES)[number];

export interface Finding {
  readonly detector: DetectorName;
  readonly severity: Severity;
  readonly title: string;
  readonly description?: string;
  readonly stationId?: string;
  /** Findings with the same key aggregate into one alert while it is not resolved. */
  readonly key: string;
  readonly evidence: Record<string, unknown>;
  /** What a lock-out response would lock, absent where locking out would not help: what a lock-out locks: a (station, address) pair, an address, or (mode `slow`) a station's attempts from unfamiliar addresses. */
  readonly target?: { stationId?: string; remoteAddress?: string; mode?: 'refuse' | 'slow' };
}

export interface Detector {
  readonly name: DetectorName;
  readonly topics: readonly Topic[];
  feed(event: BusEvent, now: Date): Finding[] | Promise<Finding[]>;
}

/** Thresholds are plain numbers so operators can tune them in config. */
export type Thresholds = Record<string, number>;

export function withThresholds<T extends Thresholds>(defaults: T, overrides: Thresholds | undefined): T {
  const out: Thresholds = { ...defaults };
  for (const [k, v] of Object.entries(overrides ?? {})) {
    // Unknown names and nonsense values keep the default rather than disabling a detector by accident.
    if (Object.hasOwn(defaults, k) && typeof v === 'number' && Number.isFinite(v) && v >= 0) out[k] = v;
  }
  return Object.freeze(out) as T;
}
