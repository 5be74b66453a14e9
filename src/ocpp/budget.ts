/**
 * What one station may cost the node. Every frame it sends — CALL,
 * CALLRESULT, CALLERROR, malformed or not — takes a token from its frame
 * budget; frames that fail parsing or validation also take one from a
 * smaller invalid budget. A station over its frame budget is read more slowly
 * (its socket is paused until the budget refills: TCP backpressure, nothing
 * buffered by the node); a station a full burst in debt, or over its invalid
 * budget, is closed with 1008.
 */

export interface BudgetSettings {
  /** Sustained frames per second, and the burst above it. */
  readonly ratePerSecond: number;
  readonly rateBurst: number;
  /** Sustained invalid frames per second, and the burst above it. */
  readonly invalidPerSecond: number;
  readonly invalidBurst: number;
}

/** The verdict on one frame. */
export type Spend = 'ok' | 'slow' | 'close';

export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(private readonly rate: number, private readonly burst: number, now = Date.now()) {
    this.tokens = burst;
    this.at = now;
  }

  /** Takes one token; the balance may go negative (debt). */
  take(now = Date.now()): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
    return --this.tokens;
  }

  /** Milliseconds until the bucket is full again. */
  msUntilFull(now = Date.now()): number {
    const tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate);
    return Math.ceil(((this.burst - tokens) / this.rate) * 1000);
  }

  /** Milliseconds until the balance is back to one whole token. */
  msUntilPositive(): number {
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }
}

export class StationBudget {
  private readonly frames: TokenBucket;
  private readonly invalid: TokenBucket;

  constructor(private readonly s: BudgetSettings) {
    this.frames = new TokenBucket(s.ratePerSecond, s.rateBurst);
    this.invalid = new TokenBucket(s.invalidPerSecond, s.invalidBurst);
  }

  /** Every frame received. */
  frame(): Spend {
    const balance = this.frames.take();
    if (balance < -this.s.rateBurst) return 'close';
    return balance < 0 ? 'slow' : 'ok';
  }

  /** A frame that failed parsing or validation, on top of `frame()`. */
  invalidFrame(): Spend {
    return this.invalid.take() < 0 ? 'close' : 'ok';
  }

  /** How long until both budgets are full, as a new one would be. */
  msUntilFull(): number {
    return Math.max(this.frames.msUntilFull(), this.invalid.msUntilFull());
  }

  /** How long to stop reading so the frame budget refills. */
  pauseMs(): number {
    return this.frames.msUntilPositive();
  }

  /** Whether a CALL may run now: one whole token was left when it arrived. */
  get overRate(): boolean {
    return this.frames.msUntilPositive() > 0;
  }
}
