/**
 * What ordinary stations do that breaks fragile CSMSs: fast reconnects of one
 * id, counter-style message ids shared by many stations and reused after a
 * reconnect, unknown ids knocking, floods of invalid CALLs and frames that
 * cross the target's Close. Each is bounded; each judges the target by whether
 * it still serves stations afterwards.
 */
import type { ProbeContext } from '../context.js';
import { liveness } from '../liveness.js';
import { rawConnect } from '../raw.js';
import { callErrorCode, describe, isCallResult, payloads, type Conn, type Wait } from '../wire.js';
import { dialed, fail, inconclusive, pass, randomId, skip, type Check, type Verdict } from './check.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const AVAILABILITY = 'NISTIR 8473 (availability); ETSI EN 303 645 provision 5.9-1 (resilience to outages)';
const MESSAGE_ID = 'OCPP-J 1.6 §4.1.4 and OCPP 2.0.1 / 2.1 Part 4 §4.1.4, "The message ID" (the message id is unique per sender on one WebSocket connection and correlates a CALL with its CALLRESULT or CALLERROR on that connection)';

/** After the check's own traffic: does the probe station (and the other one, if given) still get a session that answers? */
async function stillServing(ctx: ProbeContext, label: string): Promise<Verdict | undefined> {
  await sleep(Math.max(ctx.opts.paceMs, 300));
  const own = await liveness(ctx, label);
  const lines = [`${ctx.opts.stationId} afterwards: ${own.detail}`];
  let other: Awaited<ReturnType<typeof liveness>> | undefined;
  if (ctx.opts.otherStationId) {
    other = await liveness(ctx, label, { stationId: ctx.opts.otherStationId, password: ctx.opts.otherPassword });
    lines.push(`${ctx.opts.otherStationId} afterwards: ${other.detail}`);
  }
  if (own.state === 'dead' || other?.state === 'dead') return fail(...lines, 'the target no longer serves stations');
  if (own.state === 'refused' || other?.state === 'refused') return inconclusive(...lines, 'the target answered but refused a station, so whether it still serves them cannot be seen');
  return undefined;
}

/** Reads up to `n` answers from a connection within the timeout. */
async function answers(conn: Conn, n: number, timeoutMs: number): Promise<Wait[]> {
  const out: Wait[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n && Date.now() < deadline) {
    const w = await conn.next(Math.max(1, deadline - Date.now()));
    if (w.kind !== 'frame') break;
    out.push(w);
  }
  return out;
}

const idOf = (w: Wait) => (w.kind === 'frame' && Array.isArray(w.frame.json) ? String(w.frame.json[1]) : '');
const hasTime = (w: Wait) => isCallResult(w) && typeof ((w as any).frame.json[2] ?? {}).currentTime === 'string';

export const resilienceChecks: Record<'storm' | 'sharedIds' | 'reusedIds' | 'unknownState' | 'invalidFlood' | 'afterClose', Check> = {
  storm: {
    spec: {
      id: 'SES-003',
      needs: ['session'],
      title: 'Fast reconnects of one station id break the target',
      severity: 'high',
      basis: `OCPP 2.0.1 Part 4 §5.3 and OCPP-J 1.6 §5.3 (stations reconnect after a lost connection; a newer connection for an identity replaces a dead one); ${AVAILABILITY}`,
      description: 'Opens five connections of the probe station in a row within about a second, each sending BootNotification and then dropped (terminated or closed) without waiting, then checks that the probe station (and --other-station) still get sessions that answer.',
      remedy: 'Handle a new connection for an identity that is still being set up or torn down without throwing (await and catch every step of the replacement), and keep the message channel of the process independent of any one connection.',
    },
    async run(ctx) {
      const evidence: string[] = [];
      const t0 = Date.now();
      for (let i = 0; i < 5; i++) {
        const r = await ctx.dial();
        if (r.ok) {
          const [action, payload] = payloads.boot(r.conn.version ?? '2.0.1');
          r.conn.send(JSON.stringify([2, r.conn.newId(), action, payload]));
          // Half vanish like a station losing power, half close properly.
          if (i % 2 === 0) r.conn.ws.terminate();
          else void r.conn.close();
        }
        evidence.push(`connection ${i + 1}: ${dialed(r)}`);
      }
      evidence.push(`5 connections in ${Date.now() - t0} ms`);
      const down = await stillServing(ctx, 'SES-003');
      if (down) return { outcome: down.outcome, evidence: [...evidence, ...down.evidence] };
      return pass(...evidence, 'the target still serves stations');
    },
  },

  sharedIds: {
    spec: {
      id: 'MSG-007',
      needs: ['session', 'otherStation'],
      title: 'Answers crossed between stations that use the same message ids',
      severity: 'high',
      basis: MESSAGE_ID,
      description: 'Two stations send CALLs with the same counter-style message ids (m1…m5) at the same time, each waiting for every answer as OCPP-J asks, one Heartbeats and the other StatusNotifications; each must get its own answers.',
      remedy: 'Key every message id by its connection (or at least its station) when matching answers, deduplicating or caching; never by the id alone.',
    },
    async run(ctx) {
      const a = await ctx.session();
      if (!a.ok) return inconclusive(`could not open the probe station's session: ${a.error}`);
      const b = await ctx.session({ stationId: ctx.opts.otherStationId!, password: ctx.opts.otherPassword });
      if (!b.ok) return inconclusive(`could not open ${ctx.opts.otherStationId}'s session: ${b.error}`);
      const ids = ['m1', 'm2', 'm3', 'm4', 'm5'];
      const [status, statusPayload] = payloads.status(b.version);
      // Each station waits for each answer (OCPP-J synchronicity, one CALL outstanding), the two run at once, so equal ids are in flight together.
      const run = async (conn: Conn, frame: (id: string) => string) => {
        const got: Wait[] = [];
        for (const id of ids) {
          const w = await conn.exchange(frame(id));
          if (w.kind !== 'frame') break;
          got.push(w);
        }
        return got;
      };
      const [gotA, gotB] = await Promise.all([run(a.conn, (id) => JSON.stringify([2, id, 'Heartbeat', {}])), run(b.conn, (id) => JSON.stringify([2, id, status, statusPayload]))]);
      const wrong: string[] = [];
      const judge = (who: string, got: Wait[], own: (w: Wait) => boolean) => {
        if (got.length < ids.length) wrong.push(`${who} got ${got.length} of ${ids.length} answers`);
        for (const w of got) if (!ids.includes(idOf(w)) || !own(w)) wrong.push(`${who}: ${describe(w)}`);
      };
      judge(`${ctx.opts.stationId} (Heartbeat)`, gotA, hasTime);
      judge(`${ctx.opts.otherStationId} (${status})`, gotB, (w) => isCallResult(w) && !hasTime(w));
      const evidence = [`${ctx.opts.stationId}: ${gotA.map(describe).join('; ') || 'no answer'}`, `${ctx.opts.otherStationId}: ${gotB.map(describe).join('; ') || 'no answer'}`];
      return wrong.length ? fail(...evidence, `not its own answer: ${wrong.join('; ')}`) : pass(...evidence, 'each station got its own answers');
    },
  },

  reusedIds: {
    spec: {
      id: 'MSG-008',
      needs: ['session'],
      title: 'Message id reused after a reconnect refused or answered from before',
      severity: 'medium',
      basis: MESSAGE_ID,
      description: 'Sends a Heartbeat with id m1, reconnects, and sends a StatusNotification with the same id m1 on the new connection (as a station that restarts its counter does); it must get its own answer.',
      remedy: 'Remember message ids per connection only: a new connection starts afresh, so restarted stations are served and never handed an answer from before.',
    },
    async run(ctx) {
      const first = await ctx.session();
      if (!first.ok) return inconclusive(`could not open the first session: ${first.error}`);
      const hb = await first.conn.exchange(JSON.stringify([2, 'm1', 'Heartbeat', {}]));
      await first.conn.close();
      await sleep(Math.max(ctx.opts.paceMs, 300));
      const second = await ctx.session();
      if (!second.ok) return inconclusive(`Heartbeat m1 on the first connection: ${describe(hb)}`, `could not open the second session: ${second.error}`);
      const [status, statusPayload] = payloads.status(second.version);
      const again = await second.conn.exchange(JSON.stringify([2, 'm1', status, statusPayload]));
      await second.conn.close();
      const evidence = [`first connection, Heartbeat m1: ${describe(hb)}`, `second connection, ${status} m1: ${describe(again)}`];
      if (!isCallResult(hb)) return inconclusive(...evidence, 'the first Heartbeat was not answered');
      if (isCallResult(again) && !hasTime(again)) return pass(...evidence);
      return fail(...evidence, hasTime(again) ? 'answered with the first connection\'s Heartbeat answer' : 'the reused id was not served on the new connection');
    },
  },

  unknownState: {
    spec: {
      id: 'STATE-001',
      needs: ['session'],
      failedLogins: { own: 0, total: 2 },
      title: 'Unknown station ids leave state behind',
      severity: 'medium',
      basis: 'OCPP 2.0.1 Part 2 §A00 (a station is authenticated before it is served); OWASP ASVS V2.2 (no state for unauthenticated parties); NISTIR 8473 (resource exhaustion)',
      description: 'Connects twice with the same fresh, unregistered station id and compares the answers; with a side channel (--api) it reads whether the target now holds a record of that id. Without one only what the answers show is judged, and the evidence says so.',
      remedy: 'Authenticate before writing anything: no station row, record or cache entry for an id that has not proven itself (registration is an operator act).',
    },
    async run(ctx) {
      const id = randomId('PRBNEW');
      const first = await ctx.dial({ stationId: id, user: id });
      if (first.ok) await first.conn.close();
      await sleep(Math.max(ctx.opts.paceMs, 300));
      const second = await ctx.dial({ stationId: id, user: id });
      if (second.ok) await second.conn.close();
      const evidence = [`unknown station ${id}, first connection: ${dialed(first)}`, `second connection: ${dialed(second)}`];
      const observer = ctx.opts.observer;
      if (observer?.stationKnown) {
        const known = await observer.stationKnown(id);
        evidence.push(`${observer.name}: ${known ? 'holds a record of' : 'has no record of'} ${id}`);
        return known ? fail(...evidence, 'an unauthenticated id was written into the target') : pass(...evidence);
      }
      if (first.ok) return skip(...evidence, 'the unknown id was accepted (see AUTH-003); whether a record remains cannot be seen over OCPP: give --api for an evguard target');
      if (second.ok || first.status !== second.status) return fail(...evidence, 'the target answered the same unknown id differently the second time: it kept something of the first');
      return pass(...evidence, 'refused alike both times (judged by the answers only: a record that changes no answer cannot be seen over OCPP)');
    },
  },

  invalidFlood: {
    spec: {
      id: 'DOS-003',
      needs: ['session', 'otherStation'],
      aggressive: true,
      title: 'A flood of schema-invalid CALLs starves other stations',
      severity: 'high',
      basis: `OCPP 2.0.1 Part 4 §4.2 and OCPP-J 1.6 §4.2.3 (a CALL that fails validation is answered with a CALLERROR); ${AVAILABILITY}`,
      description: 'Sends schema-invalid BootNotifications back to back on one session (--max-messages, at most 200), then a Heartbeat from --other-station, which must be answered.',
      remedy: 'Validate cheaply and per connection, bound the work one connection may cause (rate limit, close persistent offenders) so that other stations are served meanwhile.',
    },
    async run(ctx) {
      const a = await ctx.session();
      if (!a.ok) return inconclusive(`could not open the probe station's session: ${a.error}`);
      const b = await ctx.session({ stationId: ctx.opts.otherStationId!, password: ctx.opts.otherPassword });
      if (!b.ok) return inconclusive(`could not open ${ctx.opts.otherStationId}'s session: ${b.error}`);
      const n = Math.min(ctx.opts.maxMessages, 200);
      const bad = a.version === '1.6' ? { chargePointVendor: 42, chargePointModel: true } : { reason: 7, chargingStation: { vendorName: 42, model: true } };
      ctx.malformedSent = true;
      for (let i = 0; i < n; i++) a.conn.send(JSON.stringify([2, a.conn.newId(), 'BootNotification', bad]));
      const hb = await b.conn.call('Heartbeat', {});
      const got = await answers(a.conn, n, Math.min(ctx.opts.timeoutMs, 3000));
      const errors = got.filter((w) => callErrorCode(w)).length;
      const evidence = [
        `${n} invalid BootNotifications from ${ctx.opts.stationId}: ${errors} CALLERROR, ${got.filter(isCallResult).length} CALLRESULT${a.conn.closed ? `, connection closed (${a.conn.closed.code})` : ''}`,
        `${ctx.opts.otherStationId} Heartbeat meanwhile: ${describe(hb)}`,
      ];
      if (!isCallResult(hb)) return fail(...evidence, `${ctx.opts.otherStationId} was not served during the flood`);
      await a.conn.close();
      await b.conn.close();
      const down = await stillServing(ctx, 'DOS-003');
      if (down) return { outcome: down.outcome, evidence: [...evidence, ...down.evidence] };
      return pass(...evidence);
    },
  },

  afterClose: {
    spec: {
      id: 'WS-003',
      needs: ['session'],
      title: 'A frame sent after the target closed the connection breaks it',
      severity: 'high',
      basis: `RFC 6455 §5.5.1 and §7.1 (after sending a Close frame an endpoint sends no more data and ignores what still arrives); ${AVAILABILITY}`,
      description: 'Makes the target close the probe station\'s connection (malformed frames until it gives up on them, else invalid UTF-8), then sends a CALL and a broken frame after its Close frame, and checks that stations are still served.',
      remedy: 'Ignore data that arrives on a connection after its Close frame was sent; never hand it to a session that is gone.',
    },
    async run(ctx) {
      const auth = ctx.opts.password !== undefined ? 'Basic ' + Buffer.from(`${ctx.opts.user ?? ctx.opts.stationId}:${ctx.opts.password}`).toString('base64') : undefined;
      const r = await rawConnect({
        host: ctx.host, port: ctx.port, secure: ctx.secure, path: new URL(ctx.url()).pathname, protocols: ctx.offered, authorization: auth,
        ca: ctx.opts.ca, cert: ctx.opts.cert, key: ctx.opts.key, rejectUnauthorized: !ctx.opts.insecure, timeoutMs: ctx.opts.timeoutMs,
      });
      if (!r.ok) return inconclusive(`could not open the probe station's connection: ${r.error}`);
      const raw = r.socket;
      try {
        ctx.malformedSent = true;
        const evidence: string[] = [];
        let close: { opcode: number; payload: Buffer } | undefined;
        const waitClose = async (ms: number) => {
          for (let f = await raw.next(ms); f; f = await raw.next(ms)) if (f.opcode === 8) return f;
          return undefined;
        };
        for (let i = 0; i < 20 && !close && !raw.ended; i++) {
          raw.send(1, `[2,"bad-${i}","Heartbeat",{`);
          close = await waitClose(100);
        }
        evidence.push(close ? 'malformed frames: the target sent its Close' : 'malformed frames: no Close from the target');
        if (!close && !raw.ended) {
          raw.send(1, Buffer.from([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d]));
          close = await waitClose(ctx.opts.timeoutMs);
          evidence.push(close ? 'invalid UTF-8: the target sent its Close' : 'invalid UTF-8: no Close from the target');
        }
        if (!close) return skip(...evidence, raw.ended ? 'the target dropped the connection without a Close frame' : 'the target did not close the connection, so nothing could be sent after its Close');
        evidence.push(`Close ${close.payload.length >= 2 ? close.payload.readUInt16BE(0) : ''}`.trim());
        const sent = [raw.send(1, JSON.stringify([2, 'after-close-1', 'Heartbeat', {}])), raw.send(1, '[2,"after-close-2",'), raw.send(8, Buffer.from([0x03, 0xe8]))];
        evidence.push(`after it: a Heartbeat CALL, a broken frame and our Close (${sent.filter(Boolean).length} of 3 written)`);
        await sleep(200);
        raw.destroy();
        const down = await stillServing(ctx, 'WS-003');
        if (down) return { outcome: down.outcome, evidence: [...evidence, ...down.evidence] };
        return pass(...evidence, 'the target still serves stations');
      } finally {
        raw.destroy();
      }
    },
  },
};
