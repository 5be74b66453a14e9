import type { ProbeContext } from '../context.js';
import type { CheckSpec, Outcome } from '../types.js';
import type { DialResult } from '../wire.js';

export interface Verdict {
  outcome: Outcome;
  evidence: string[];
}

export interface Check {
  spec: CheckSpec;
  run(ctx: ProbeContext): Promise<Verdict>;
}

export const pass = (...evidence: string[]): Verdict => ({ outcome: 'pass', evidence });
export const fail = (...evidence: string[]): Verdict => ({ outcome: 'fail', evidence });
export const skip = (...evidence: string[]): Verdict => ({ outcome: 'skip', evidence });
export const inconclusive = (...evidence: string[]): Verdict => ({ outcome: 'error', evidence });

/** "HTTP 401" or "accepted (subprotocol ocpp2.0.1)" for evidence lines. */
export function dialed(r: DialResult): string {
  return r.ok ? `upgrade accepted (subprotocol ${r.conn.protocol || 'none'})` : `refused: ${r.error}`;
}

export function randomId(prefix = 'PRB'): string {
  return `${prefix}${Math.random().toString(36).slice(2, 10).toUpperCase()}`;
}
