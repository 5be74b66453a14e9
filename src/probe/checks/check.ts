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

/**
 * For checks where acceptance is the finding: an HTTP refusal (or the server
 * dropping the upgrade) passes; not reaching the target at all (connection
 * refused, DNS, TLS verification) is no verdict, never a pass.
 */
export async function expectRefused(r: DialResult, what: string): Promise<Verdict> {
  if (r.ok) {
    await r.conn.close();
    return fail(`${what}: ${dialed(r)}`);
  }
  if (r.status !== undefined || /socket hang up|ECONNRESET|closed before the connection|Unexpected server response/i.test(r.error)) return pass(`${what}: ${dialed(r)}`);
  return inconclusive(`${what}: could not reach the target: ${r.error}`);
}
