/**
 * Live load: what each station draws now, from the power its transactions
 * report on the bus, plus a bounded time series per level for the console.
 * Only values the transactions module applied count (a flagged message —
 * late, after the end, implausible — is evidence, not load), and a station
 * counts at most at its rated power, whatever it claims.
 */
import type { TransactionChanged } from '../bus/events.js';

const MAX_STATIONS = 100_000;

export class LiveLoad {
  /** stationId → transactionId → W */
  readonly #byStation = new Map<string, Map<string, number>>();
  /** @param ratedW the station's rated power in W (its site assignment, else the configured default). */
  constructor(private readonly ratedW: (stationId: string) => number = () => Infinity) {}

  /** Applies one transaction change; returns the station id it touched, if any. */
  apply(t: Partial<TransactionChanged>): string | undefined {
    if (typeof t.stationId !== 'string' || typeof t.transactionId !== 'string') return undefined;
    let tx = this.#byStation.get(t.stationId);
    if (t.eventType === 'Ended' || t.state === 'Ended' || t.state === 'Abandoned') {
      tx?.delete(t.transactionId);
      if (tx && tx.size === 0) this.#byStation.delete(t.stationId);
      return t.stationId;
    }
    if (!tx) {
      if (this.#byStation.size >= MAX_STATIONS) return undefined;
      tx = new Map();
      this.#byStation.set(t.stationId, tx);
    }
    const applied = !Array.isArray(t.flags) || t.flags.length === 0;
    const w = applied && typeof t.powerW === 'number' && Number.isFinite(t.powerW) && t.powerW >= 0 ? t.powerW : tx.get(t.transactionId) ?? 0;
    if (tx.has(t.transactionId) || tx.size < 64) tx.set(t.transactionId.slice(0, 128), w);
    return t.stationId;
  }

  stationW(stationId: string): number {
    let sum = 0;
    for (const w of this.#byStation.get(stationId)?.values() ?? []) sum += w;
    return Math.min(sum, this.ratedW(stationId));
  }

  charging(stationId: string): boolean {
    return (this.#byStation.get(stationId)?.size ?? 0) > 0;
  }

  stations(): IterableIterator<string> {
    return this.#byStation.keys();
  }
}

export interface LoadPoint { t: string; kw: number }

/** A ring buffer of samples per level key ("fleet", "feeder:F1", "site:S1"). */
export class LoadSeries {
  readonly #points = new Map<string, LoadPoint[]>();
  constructor(private readonly keep: number) {}

  add(key: string, point: LoadPoint): void {
    let list = this.#points.get(key);
    if (!list) this.#points.set(key, (list = []));
    list.push(point);
    if (list.length > this.keep) list.splice(0, list.length - this.keep);
  }

  get(key: string, sinceIso?: string): LoadPoint[] {
    const list = this.#points.get(key) ?? [];
    return sinceIso ? list.filter((p) => p.t >= sinceIso) : [...list];
  }

  drop(key: string): void {
    this.#points.delete(key);
  }
}
