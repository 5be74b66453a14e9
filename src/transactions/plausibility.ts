/**
 * Plausibility at the door: readings no meter, connector or clock can
 * produce. A message carrying one is kept in the event log as evidence and
 * flagged, but none of its values reach the record, billing or the grid
 * guard's load. Pure: the caller supplies the rating, the clock and what the
 * record already holds.
 */
import type { MeterSample, TransactionEventIn } from '../model/station.js';
import { transactionErrors } from './errors.js';

export interface PlausibilityLimits {
  /** Highest register any meter shows, in Wh (default 10¹¹ Wh = 100 GWh, decades of a fast charger). */
  maxRegisterWh: number;
  /** Rated power of a station the grid registry does not know, in W (default 350 kW). */
  defaultMaxPowerW: number;
  /** Tolerance above the rated power, in percent (default 10). */
  tolerancePercent: number;
  /** Measurement slack for energy growth, in Wh (default 10). */
  slackWh: number;
  /** A timestamp further ahead of the CSMS clock than this is implausible (default 600 s). */
  maxFutureS: number;
  /** …or further behind (default 366 days: longer than any offline queue is kept). */
  maxPastS: number;
  /** A seqNo further ahead of the transaction's highest than this is implausible (default 1000). */
  maxSeqNoJump: number;
}

export const plausibilityDefaults: PlausibilityLimits = {
  maxRegisterWh: 1e11,
  defaultMaxPowerW: 350_000,
  tolerancePercent: 10,
  slackWh: 10,
  maxFutureS: 600,
  maxPastS: 366 * 86_400,
  maxSeqNoJump: 1000,
};

/** The highest seqNo OCPP's 32-bit integer allows. */
const MAX_SEQ_NO = 2_147_483_647;

export const ENERGY = 'Energy.Active.Import.Register';
export const POWER = 'Power.Active.Import';

/** What the record knows before this message: its register and when, and its highest seqNo. */
export interface PriorReading { energyWh?: number; atMs?: number; maxSeqNo?: number }

/** Register readings of one message: the unphased register samples (a 1.6 SignedData sample has no number) and a 1.6 meterStart / meterStop. */
export function registers(e: Pick<TransactionEventIn, 'meter' | 'energyRegisterWh' | 'timestamp'>): { wh: number; atMs: number }[] {
  const out = e.meter.filter((s) => s.measurand === ENERGY && !s.phase && !(s.signed && Number.isNaN(s.value))).map((s) => ({ wh: s.value, atMs: Date.parse(s.timestamp) }));
  if (e.energyRegisterWh !== undefined) out.push({ wh: e.energyRegisterWh, atMs: Date.parse(e.timestamp) });
  return out;
}

const powers = (meter: MeterSample[]) => meter.filter((s) => s.measurand === POWER && !s.phase && !(s.signed && Number.isNaN(s.value))).map((s) => s.value);

/** Reasons this message is implausible; empty when it is not. */
export function implausibility(e: TransactionEventIn, prior: PriorReading, ratedW: number, nowMs: number, limits: PlausibilityLimits): string[] {
  const reasons = new Set<string>();
  const allowedW = ratedW * (1 + limits.tolerancePercent / 100);
  for (const at of [e.timestamp, ...e.meter.map((s) => s.timestamp)]) {
    const ms = Date.parse(at);
    if (!Number.isFinite(ms)) reasons.add('timestampInvalid');
    else if (ms > nowMs + limits.maxFutureS * 1000) reasons.add('timestampFuture');
    else if (ms < nowMs - limits.maxPastS * 1000) reasons.add('timestampPast');
  }
  for (const r of registers(e)) {
    if (!Number.isFinite(r.wh) || r.wh < 0) reasons.add('registerNegative');
    else if (r.wh > limits.maxRegisterWh) reasons.add('registerTooLarge');
    else if (prior.energyWh !== undefined && prior.atMs !== undefined && Number.isFinite(r.atMs)) {
      // More energy than the rated power can deliver in the time between the two readings.
      const hours = Math.max(0, r.atMs - prior.atMs) / 3_600_000;
      if (r.wh - prior.energyWh > allowedW * hours + limits.slackWh) reasons.add('energyAboveRating');
    }
  }
  for (const w of powers(e.meter)) {
    if (!Number.isFinite(w) || w > allowedW) reasons.add('powerAboveRating');
  }
  if (e.seqNo !== undefined) {
    if (!Number.isInteger(e.seqNo) || e.seqNo < 0 || e.seqNo > MAX_SEQ_NO) reasons.add('seqNoInvalid');
    else if (prior.maxSeqNo !== undefined ? e.seqNo - prior.maxSeqNo > limits.maxSeqNoJump : e.seqNo > MAX_SEQ_NO - limits.maxSeqNoJump) {
      // A first seqNo this close to the top leaves no room for the rest of the transaction.
      reasons.add('seqNoJump');
    }
  }
  return [...reasons];
}

export function validateLimits(input: Partial<PlausibilityLimits> | undefined): PlausibilityLimits {
  const out = { ...plausibilityDefaults };
  for (const [k, v] of Object.entries(input ?? {})) {
    if (!Object.hasOwn(plausibilityDefaults, k)) throw transactionErrors.TRANSACTION_CONFIG_INVALID(`transactions.plausibility.${k} is not a setting`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw transactionErrors.TRANSACTION_CONFIG_INVALID(`transactions.plausibility.${k} must be a non-negative number`);
    out[k as keyof PlausibilityLimits] = v;
  }
  return out;
}
