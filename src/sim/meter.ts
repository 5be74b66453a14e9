/**
 * A connector's energy meter. The register integrates power over time, so it
 * only ever grows, and a power change (a new charging limit, a stop) is
 * applied at the moment it happens rather than retroactively.
 */
export interface MeterReading {
  /** Energy.Active.Import.Register, Wh. */
  energyWh: number;
  /** Power.Active.Import, W. */
  powerW: number;
}

export class EnergyMeter {
  #registerWh: number;
  #powerW = 0;
  #atMs: number;

  constructor(startWh: number, nowMs: number) {
    this.#registerWh = startWh;
    this.#atMs = nowMs;
  }

  /** Integrates up to `nowMs`; a clock that steps back adds nothing. */
  #advance(nowMs: number): void {
    if (nowMs > this.#atMs) {
      this.#registerWh += (this.#powerW * (nowMs - this.#atMs)) / 3_600_000;
      this.#atMs = nowMs;
    }
  }

  setPower(nowMs: number, powerW: number): void {
    this.#advance(nowMs);
    this.#powerW = Math.max(0, powerW);
  }

  read(nowMs: number): MeterReading {
    this.#advance(nowMs);
    // Whole Wh, like a billing meter; flooring keeps the sequence monotonic.
    return { energyWh: Math.floor(this.#registerWh), powerW: Math.round(this.#powerW) };
  }
}
