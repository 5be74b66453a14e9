/**
 * The rate-of-change guard: a generic cell rate algorithm (virtual
 * scheduling) per level (site, feeder, fleet). Each level has a ramp rate in
 * W/s and a burst tolerance in seconds; a change of |ΔP| occupies the level for
 * |ΔP| / rate seconds. A command goes at once while the level is within its
 * tolerance, is held until it is, or is refused when that would take longer
 * than the guard may hold a command. Over any interval T the commands sent at
 * one level change its load by at most rate × (T + tolerance) plus one command.
 */

export interface RampLevel {
  key: string;
  rateWPerS: number;
}

export class RampScheduler {
  /** Theoretical arrival time per level, in ms since the epoch. */
  readonly #tat = new Map<string, number>();

  constructor(private readonly toleranceMs: number) {}

  /** When a change of `deltaW` may start at every level, without committing it. */
  earliest(levels: readonly RampLevel[], deltaW: number, nowMs: number): number {
    if (deltaW === 0) return nowMs;
    let start = nowMs;
    for (const l of levels) {
      if (!(l.rateWPerS > 0)) continue;
      const tat = this.#tat.get(l.key) ?? nowMs;
      start = Math.max(start, tat - this.toleranceMs);
    }
    return start;
  }

  /** Books a change of `deltaW` starting at `startMs` on every level. */
  commit(levels: readonly RampLevel[], deltaW: number, startMs: number): void {
    const size = Math.abs(deltaW);
    if (size === 0) return;
    for (const l of levels) {
      if (!(l.rateWPerS > 0)) continue;
      const tat = Math.max(this.#tat.get(l.key) ?? startMs, startMs);
      this.#tat.set(l.key, tat + (size / l.rateWPerS) * 1000);
    }
  }

  /** Forgets idle levels so hostile ids cannot grow the map. */
  prune(nowMs: number): void {
    for (const [k, t] of this.#tat) if (t < nowMs - this.toleranceMs) this.#tat.delete(k);
  }
}
