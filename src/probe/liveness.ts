/**
 * Is the target alive? A fresh, authenticated session as the probe station
 * and one Heartbeat; without a session, a TCP (and TLS) connection.
 */
import net from 'node:net';
import tls from 'node:tls';
import { isIp, type LivenessRecord, type ProbeContext } from './context.js';
import { callErrorCode, describe, isCallResult, type Wait } from './wire.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long a station's message budget may take to refill after a flood (evguard: a burst of 100 at 20/s). */
const BUDGET_REFILL_MS = 6_000;

/** The target answered, with its message rate limit: a 1008 close or a SecurityError. */
function rateLimited(w: Wait): boolean {
  return (w.kind === 'closed' && w.code === 1008) || callErrorCode(w) === 'SecurityError';
}

/**
 * Liveness: a fresh, authenticated session as the probe station (or `as`,
 * another station) and one Heartbeat. A 409 (the previous session still closing) is retried; so is a
 * failure without an HTTP answer, once the target had a moment. A target that
 * keeps a station's rate budget across reconnects may still limit the probe
 * station after a flood check: that is an answer, so the probe waits for the
 * budget to refill, and a target that still limits is alive.
 */
export async function liveness(ctx: ProbeContext, after: string, as?: { stationId: string; password?: string }): Promise<LivenessRecord> {
  let last: LivenessRecord | undefined;
  for (let attempt = 0; attempt < 4; attempt++) {
    if (attempt) await sleep(last?.state === 'alive' ? BUDGET_REFILL_MS : attempt * 500);
    const s = await ctx.session(as);
    if (s.ok) {
      const hb = await s.conn.call('Heartbeat', {});
      await s.conn.close();
      if (isCallResult(hb)) return { after, state: 'alive', detail: `a fresh session (BootNotification ${s.bootStatus}) answered a Heartbeat` };
      last = rateLimited(hb)
        ? { after, state: 'alive', detail: `a fresh session opened and its Heartbeat was answered with the target's rate limit (${describe(hb)})` }
        : { after, state: 'dead', detail: `a fresh session opened, but its Heartbeat got ${describe(hb)}` };
    } else if (s.status === 409) {
      last = { after, state: 'refused', status: 409, detail: `a fresh session was refused: ${s.error}` };
    } else if (s.status !== undefined) {
      return { after, state: 'refused', status: s.status, detail: `a fresh session was refused: ${s.error}` };
    } else if (TLS_VERIFY.test(s.error)) {
      return { after, state: 'refused', detail: `the target's certificate did not verify (${s.error}): give --ca, or --insecure` };
    } else {
      last = { after, state: 'dead', detail: `a fresh session could not be opened: ${s.error}` };
    }
  }
  return last!;
}

const TLS_VERIFY = /certificate|self[- ]signed|altnames|unable to verify|CERT_/i;

/** Without a session: does the target still accept a TCP (and TLS) connection? */
export function reach(ctx: ProbeContext, after: string): Promise<LivenessRecord> {
  return new Promise((resolve) => {
    const opts = { host: ctx.host, port: ctx.port, timeout: ctx.opts.timeoutMs };
    const socket: net.Socket = ctx.secure ? tls.connect({ ...opts, servername: isIp(ctx.host) ? undefined : ctx.host, rejectUnauthorized: false }) : net.connect(opts);
    const done = (r: LivenessRecord) => {
      socket.destroy();
      resolve(r);
    };
    socket.once(ctx.secure ? 'secureConnect' : 'connect', () => done({ after, state: 'alive', detail: `the target accepts ${ctx.secure ? 'TLS' : 'TCP'} connections (no session: none could be opened)` }));
    socket.once('timeout', () => done({ after, state: 'dead', detail: `no ${ctx.secure ? 'TLS' : 'TCP'} connection within ${ctx.opts.timeoutMs} ms` }));
    socket.once('error', (err) => done({ after, state: 'dead', detail: `${ctx.secure ? 'TLS' : 'TCP'} connection failed: ${err.message}` }));
  });
}
