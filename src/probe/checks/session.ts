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
      needs: ['session'],
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
      needs: ['session'],
      failedLogins: { own: 1, total: 1 },
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
      needs: ['session', 'otherStation'],
      title: "Another station's transaction stopped or updated",
      severity: 'high',
      basis: 'OCPP 2.0.1 Part 2 §E (a transaction is identified by the station that started it and its transactionId; E01–E15); OCPP 1.6 §4.8 and §4.10 (the Central System assigns the transactionId in StartTransaction.conf and answers every StopTransaction); ENCS EV charging security requirements (authorisation of every message); NISTIR 8473 (integrity of charging sessions)',
      description: "Starts a transaction as the probe station (never carrying on after a refused start), sends an update and an end with its transactionId as --other-station, then judges the owner's transaction as the target holds it (open, unchanged) through a side channel where one is given; without one, only refusals are judged.",
      remedy: 'Scope every transaction id to the station that owns it; answer a foreign id with a CALLERROR (e.g. SecurityError) and raise a security event.',
    },
    async run(ctx) {
      const other = ctx.opts.otherStationId!;
      const a = await ctx.session();
      if (!a.ok) return inconclusive(`could not open the probe station's session: ${a.error}`);
      const b = await ctx.session({ stationId: other, password: ctx.opts.otherPassword });
      if (!b.ok) return inconclusive(`could not open ${other}'s session: ${b.error}`);
      if (b.version !== a.version) return inconclusive(`the two stations speak different OCPP versions (${a.version}, ${b.version})`);
      const evidence: string[] = [];
      let txId = `PRB-${Date.now().toString(36)}`;
      const [startAction, startPayload] = payloads.txStart(a.version, txId, ctx.opts.idToken ?? 'PROBE0001');
      const started = await a.conn.call(startAction, startPayload);
      evidence.push(`${ctx.opts.stationId} ${startAction}: ${describe(started)}`);
      if (!isCallResult(started)) return inconclusive(...evidence, 'the target did not accept the transaction start');
      const answer = (started as { frame: { json: any[] } }).frame.json[2] ?? {};
      const status = String((a.version === '1.6' ? answer.idTagInfo?.status : answer.idTokenInfo?.status) ?? 'Accepted');
      if (a.version === '1.6') txId = String(answer.transactionId ?? '');
      const end = async () => {
        const [ownAction, ownPayload] = payloads.txEnd(a.version, txId);
        await a.conn.call(ownAction, ownPayload);
      };
      // A refused start (1.6: idTagInfo not Accepted, transactionId 0) leaves no transaction to protect.
      if (status !== 'Accepted' || !txId || txId === '0') {
        if (a.version !== '1.6') await end();
        return inconclusive(...evidence, `the target refused the transaction start (authorization ${status}${a.version === '1.6' ? `, transactionId ${txId || 'none'}` : ''}); give --id-token of a token it accepts`);
      }
      const observe = ctx.opts.observer?.transactions ? async () => {
        const list = await ctx.opts.observer!.transactions!(ctx.opts.stationId);
        return list.find((t) => t.id === txId) ?? list.find((t) => t.open);
      } : undefined;
      const before = await observe?.();
      const refused: string[] = [];
      const answered: string[] = [];
      for (const [action, payload] of [payloads.txUpdate(b.version, txId), payloads.txEnd(b.version, txId)]) {
        const label = `${action}${'eventType' in payload ? ` ${payload.eventType}` : ''}`;
        const foreign = await b.conn.call(action, payload);
        evidence.push(`${other} ${label} for transaction ${txId}: ${describe(foreign)}`);
        if (callErrorCode(foreign)) refused.push(label);
        if (isCallResult(foreign)) answered.push(label);
      }
      const afterwards = await observe?.();
      await end();
      if (observe) {
        // Judged by what the target holds for the owner's transaction, not by the answers.
        const where = ctx.opts.observer!.name;
        if (!before) return inconclusive(...evidence, `${where} shows no transaction ${txId} of ${ctx.opts.stationId} after its start`);
        evidence.push(`${where}: before ${before.fingerprint}, after ${afterwards ? afterwards.fingerprint : 'gone'}`);
        if (!afterwards || !afterwards.open || afterwards.fingerprint !== before.fingerprint || afterwards.stationId !== ctx.opts.stationId) {
          return fail(...evidence, `${ctx.opts.stationId}'s transaction was changed by ${other}'s messages`);
        }
        return pass(...evidence, `${ctx.opts.stationId}'s transaction is still open and unchanged`);
      }
      if (refused.length === 2) return pass(...evidence, 'both foreign messages were refused');
      if (answered.length) {
        return skip(
          ...evidence,
          `the target answered ${answered.join(' and ')}; whether it applied them to ${ctx.opts.stationId}'s transaction cannot be seen over OCPP (OCPP 2.0.1 keys a transaction by station and id, and 1.6 answers StopTransaction in any case), so an answer alone is no finding; judging it needs a side channel into the target (the evguard API)`,
        );
      }
      return inconclusive(...evidence, 'the foreign messages were neither refused nor answered');
    },
  },
  {
    spec: {
      id: 'MSG-001',
      needs: ['session'],
      title: 'Replayed message accepted',
      severity: 'medium',
      basis: 'OCPP-J 1.6 §4.1.4 and OCPP 2.0.1 / 2.1 Part 4 §4.1.4, "The message ID" (a CALL id differs from every id the sender used before on the same connection); NISTIR 8473 (replay protection)',
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
