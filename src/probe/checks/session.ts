/** Sessions and what one station may do: hijack, another station's transactions, replay. */
import type { ProbeContext } from '../context.js';
import { callErrorCode, describe, isCallResult, payloads, type Conn } from '../wire.js';
import { dialed, fail, inconclusive, pass, skip, type Check, type Verdict } from './check.js';

/** After a second connection, is the first still answering? */
async function firstStillAlive(first: Conn): Promise<string> {
  const w = await first.call('Heartbeat', {});
  return isCallResult(w) ? 'alive' : describe(w);
}

async function hijack(ctx: ProbeContext, second: Parameters<ProbeContext['dial']>[0], label: string): Promise<Verdict> {
  const s = await ctx.session();
  if (!s.ok) return inconclusive(`could not open the first, authenticated session: ${s.error}`);
  const evidence = [`first session: BootNotification ${s.bootStatus}`];
  const r = await ctx.dial(second);
  evidence.push(`second connection ${label}: ${dialed(r)}`);
  const first = await firstStillAlive(s.conn);
  evidence.push(`first session afterwards: ${first}`);
  if (r.ok) await r.conn.close();
  await s.conn.close();
  if (first !== 'alive') return fail(...evidence, 'the live session was replaced');
  if (r.ok) return fail(...evidence, 'two sessions for one station are live at once');
  return pass(...evidence);
}

export const sessionChecks: Check[] = [
  {
    spec: {
      id: 'SES-001',
      title: 'Authenticated session replaced by a second connection with valid credentials',
      severity: 'medium',
      basis: 'OCPP 2.0.1 Part 4 §3 (one WebSocket connection per Charging Station identity); NISTIR 8473 (session management); OWASP ASVS V3 (session management)',
      description: 'Opens an authenticated session for the probe station, then a second connection with the same identity and credentials, and checks both.',
      remedy: 'While the existing session still answers (e.g. a WebSocket ping), refuse the newcomer (409) and raise a security event; replace only a dead session.',
    },
    run: (ctx) => hijack(ctx, {}, 'with the same credentials'),
  },
  {
    spec: {
      id: 'SES-002',
      title: 'Authenticated session replaced or joined without valid credentials (session hijack)',
      severity: 'critical',
      basis: `${'OCPP 2.0.1 Part 2 §A00'} (every connection is authenticated); OCPP 2.0.1 Part 4 §3; NISTIR 8473`,
      description: 'Opens an authenticated session for the probe station, then a second connection with the same identity and a wrong password (no certificate).',
      remedy: 'Authenticate before touching any existing session; an unauthenticated newcomer must never close or share the live session.',
    },
    run: (ctx) => hijack(ctx, { user: ctx.opts.user ?? ctx.opts.stationId, password: 'wrong-' + Math.random().toString(36).slice(2), cert: undefined, key: undefined }, 'with a wrong password'),
  },
  {
    spec: {
      id: 'TX-001',
      title: "Another station's transaction stopped or updated",
      severity: 'high',
      basis: 'OCPP 2.0.1 Part 2 §E (transactions belong to the station that started them); ENCS EV charging security requirements (authorisation of every message); NISTIR 8473 (integrity of charging sessions)',
      description: 'Starts a transaction as the probe station, then sends an update (TransactionEvent Updated / MeterValues with its transactionId) and its end (TransactionEvent Ended / StopTransaction) as --other-station.',
      remedy: 'Scope every transaction id to the station that owns it; answer a foreign id with a CALLERROR (e.g. SecurityError) and raise a security event.',
    },
    async run(ctx) {
      if (!ctx.opts.otherStationId) return skip('needs --other-station (and --other-password) of a second registered station');
      const a = await ctx.session();
      if (!a.ok) return inconclusive(`could not open the probe station's session: ${a.error}`);
      const b = await ctx.session({ stationId: ctx.opts.otherStationId, password: ctx.opts.otherPassword });
      if (!b.ok) {
        await a.conn.close();
        return inconclusive(`could not open ${ctx.opts.otherStationId}'s session: ${b.error}`);
      }
      const evidence: string[] = [];
      try {
        let txId = `PRB-${Date.now().toString(36)}`;
        const [startAction, startPayload] = payloads.txStart(a.version, txId);
        const started = await a.conn.call(startAction, startPayload);
        evidence.push(`${ctx.opts.stationId} ${startAction}: ${describe(started)}`);
        if (!isCallResult(started)) return inconclusive(...evidence, 'the target did not accept the transaction start');
        if (a.version === '1.6') txId = String((started.kind === 'frame' && (started.frame.json as any[])[2]?.transactionId) ?? '');
        if (b.version !== a.version) return inconclusive(...evidence, `the two stations speak different OCPP versions (${a.version}, ${b.version})`);
        const accepted: string[] = [];
        let answered = 0;
        for (const [action, payload] of [payloads.txUpdate(b.version, txId), payloads.txEnd(b.version, txId)]) {
          const foreign = await b.conn.call(action, payload);
          evidence.push(`${ctx.opts.otherStationId} ${action}${'eventType' in payload ? ` ${payload.eventType}` : ''} for transaction ${txId}: ${describe(foreign)}`);
          if (callErrorCode(foreign)) answered++;
          if (isCallResult(foreign)) {
            answered++;
            accepted.push(`${action}${'eventType' in payload ? ` ${payload.eventType}` : ''}`);
          }
        }
        // Clean up: the owner ends its own transaction.
        const [ownAction, ownPayload] = payloads.txEnd(a.version, txId);
        await a.conn.call(ownAction, ownPayload);
        if (accepted.length) return fail(...evidence, `processed as if it were ${ctx.opts.otherStationId}'s own: ${accepted.join(', ')}`);
        return answered === 2 ? pass(...evidence) : inconclusive(...evidence);
      } finally {
        await a.conn.close();
        await b.conn.close();
      }
    },
  },
  {
    spec: {
      id: 'MSG-001',
      title: 'Replayed message accepted',
      severity: 'medium',
      basis: 'OCPP-J (OCPP 2.0.1 Part 4 §4.1.1, OCPP 1.6J §4.1.1): a message id is unique per sender and connection; NISTIR 8473 (replay protection)',
      description: 'Sends the same CALL (StatusNotification) twice with one message id on one session.',
      remedy: 'Remember recent message ids per connection and answer a reused one with a CALLERROR instead of processing it again.',
    },
    async run(ctx) {
      const s = await ctx.session();
      if (!s.ok) return inconclusive(`could not open a session: ${s.error}`);
      try {
        const id = s.conn.newId();
        const [action, payload] = payloads.status(s.version);
        const first = await s.conn.call(action, payload, id);
        const second = await s.conn.call(action, payload, id);
        const evidence = [`${action} with id ${id}: ${describe(first)}`, `same frame again: ${describe(second)}`];
        if (!isCallResult(first)) return inconclusive(...evidence, 'the first message was not accepted either');
        return isCallResult(second) ? fail(...evidence) : pass(...evidence);
      } finally {
        await s.conn.close();
      }
    },
  },
];
