/**
 * Malformed and unexpected frames: each must get the CALLERROR OCPP-J
 * prescribes (or, for frames that break the WebSocket layer, a close), and
 * the target must stay alive.
 */
import type { ProbeContext } from '../context.js';
import type { OcppVersion } from '../types.js';
import { callErrorCode, describe, isCallResult, payloads, type Conn, type Wait } from '../wire.js';
import { fail, inconclusive, pass, skip, type Check } from './check.js';

/** The checks that send malformed, oversized or unexpected frames; MSG-006 judges the target's liveness after them. */
export const MALFORMED_CHECKS = ['MSG-002', 'MSG-003', 'MSG-004', 'MSG-005'];

const RPC = 'OCPP-J RPC framework (OCPP 2.0.1 Part 4 §4.2–4.3 CALLERROR and its error codes; OCPP 1.6J §4.2.3)';

interface Case {
  name: string;
  /** The frame, given a fresh message id. */
  frame(id: string, v: OcppVersion): string | Buffer;
  binary?: boolean;
  /** Error codes that are right for 2.x and for 1.6; none: any CALLERROR, CALLRESULT or close is fine (liveness only). */
  codes?: { v2: string[]; v16: string[] };
  /** Must be refused (CALLERROR or close) even though no one code is prescribed. */
  refuse?: boolean;
  /** A WebSocket-level close is the right answer (the frame is not OCPP at all). */
  closeOk?: boolean;
}

const FORMAT_V16 = ['FormationViolation', 'FormatViolation', 'ProtocolError', 'GenericError'];
const nest = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

const CASES: Case[] = [
  { name: 'broken JSON', frame: (id) => `[2,"${id}","Heartbeat",{`, codes: { v2: ['RpcFrameworkError', 'FormatViolation', 'ProtocolError'], v16: FORMAT_V16 } },
  { name: 'JSON object instead of an array', frame: () => '{"messageTypeId":2,"action":"Heartbeat"}', codes: { v2: ['RpcFrameworkError', 'FormatViolation', 'ProtocolError'], v16: FORMAT_V16 } },
  { name: 'unknown message type id 7', frame: (id) => `[7,"${id}","Heartbeat",{}]`, codes: { v2: ['MessageTypeNotSupported'], v16: [...FORMAT_V16, 'NotSupported', 'NotImplemented'] } },
  {
    name: 'wrong field types',
    frame: (id, v) => JSON.stringify([2, id, 'BootNotification', v === '1.6' ? { chargePointVendor: 42, chargePointModel: true } : { reason: 7, chargingStation: { vendorName: 42, model: true } }]),
    codes: { v2: ['TypeConstraintViolation', 'FormatViolation'], v16: ['TypeConstraintViolation', 'FormationViolation', 'FormatViolation'] },
  },
  {
    name: 'missing required fields',
    frame: (id) => JSON.stringify([2, id, 'BootNotification', {}]),
    codes: { v2: ['OccurrenceConstraintViolation', 'FormatViolation'], v16: ['OccurenceConstraintViolation', 'OccurrenceConstraintViolation', 'FormationViolation', 'FormatViolation'] },
  },
  {
    name: 'extra field the schema forbids',
    frame: (id, v) => JSON.stringify([2, id, 'StatusNotification', { ...payloads.status(v)[1], probeExtra: 'x' }]),
    codes: { v2: ['FormatViolation', 'PropertyConstraintViolation', 'OccurrenceConstraintViolation'], v16: ['FormationViolation', 'FormatViolation', 'PropertyConstraintViolation', 'OccurenceConstraintViolation'] },
  },
  { name: 'unknown action', frame: (id) => JSON.stringify([2, id, 'ProbeUnknownAction', {}]), codes: { v2: ['NotImplemented'], v16: ['NotImplemented'] } },
  // Nested inside a forbidden property: any refusal is right, the point is surviving the parse.
  { name: 'deep nesting (10 000 levels)', frame: (id) => `[2,"${id}","Heartbeat",{"x":${nest(10_000)}}]`, refuse: true, closeOk: true },
  { name: 'odd Unicode (lone surrogate, NUL, bidi override) in strings', frame: (id, v) => JSON.stringify([2, id, 'Authorize', v === '1.6' ? { idTag: '\ud800\u0000\u202e' } : { idToken: { idToken: '\ud800\u0000\u202e', type: 'Central' } }]) },
  { name: 'invalid UTF-8 in a text frame', frame: (id) => Buffer.concat([Buffer.from(`[2,"${id}","Heartbeat",{"x":"`), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}]')]), refuse: true, closeOk: true },
];

interface CaseResult {
  c: Case;
  version: OcppVersion;
  answer: Wait;
}

const memo = new WeakMap<ProbeContext, Promise<CaseResult[] | { error: string }>>();

/** Runs every case once per probe run, each on a session (a fresh one when the previous was closed). */
function runCases(ctx: ProbeContext): Promise<CaseResult[] | { error: string }> {
  let p = memo.get(ctx);
  if (!p) {
    p = (async () => {
      const out: CaseResult[] = [];
      let s: { conn: Conn; version: OcppVersion } | undefined;
      for (const c of CASES) {
        if (!s || !s.conn.open) {
          const opened = await ctx.session();
          if (!opened.ok) return out.length ? out : { error: opened.error };
          s = opened;
        }
        const text = c.frame(s.conn.newId(), s.version);
        ctx.malformedSent = true;
        const answer = await s.conn.exchange(text, { binary: false });
        out.push({ c, version: s.version, answer });
      }
      await s?.conn.close();
      return out;
    })();
    memo.set(ctx, p);
  }
  return p;
}

const line = (r: CaseResult) => `${r.c.name}: ${describe(r.answer)}`;

export const frameChecks: Check[] = [
  {
    spec: {
      id: 'MSG-002',
      needs: ['session'],
      title: 'Malformed frames not refused with a CALLERROR',
      severity: 'medium',
      basis: RPC,
      description: 'Sends broken JSON, a non-array, an unknown message type, wrong types, missing and forbidden extra fields, an unknown action, deep nesting, odd Unicode and invalid UTF-8, each on an authenticated session.',
      remedy: 'Validate every frame and CALL payload against the OCPP-J framing and the official JSON schemas, and answer each fault with a CALLERROR instead of ignoring or processing it.',
    },
    async run(ctx) {
      const results = await runCases(ctx);
      if (!Array.isArray(results)) return inconclusive(`could not open a session: ${results.error}`);
      const bad = results.filter((r) => {
        if (!r.c.codes && !r.c.refuse && !r.c.closeOk) return false;
        if (callErrorCode(r.answer)) return false;
        if (r.answer.kind === 'closed' && (r.c.closeOk || [1002, 1003, 1007, 1008, 1009].includes(r.answer.code))) return false;
        return true;
      });
      const evidence = results.map(line);
      return bad.length ? fail(...evidence, `not refused: ${bad.map((r) => r.c.name).join(', ')}`) : pass(...evidence);
    },
  },
  {
    spec: {
      id: 'MSG-003',
      needs: ['session'],
      title: 'CALLERROR codes differ from those OCPP-J prescribes',
      severity: 'low',
      basis: RPC,
      description: 'Compares the error codes answered to the malformed frames of MSG-002 with those OCPP-J defines for each fault (per OCPP version).',
      remedy: 'Map each validation fault to its OCPP-J code (e.g. NotImplemented for an unknown action, MessageTypeNotSupported for an unknown message type in 2.x).',
    },
    async run(ctx) {
      const results = await runCases(ctx);
      if (!Array.isArray(results)) return inconclusive(`could not open a session: ${results.error}`);
      const wrong: string[] = [];
      for (const r of results) {
        const code = callErrorCode(r.answer);
        if (!code || !r.c.codes) continue;
        const allowed = r.version === '1.6' ? r.c.codes.v16 : r.c.codes.v2;
        if (!allowed.includes(code)) wrong.push(`${r.c.name}: ${code}, expected ${allowed.join(' or ')}`);
      }
      const answered = results.filter((r) => callErrorCode(r.answer) && r.c.codes);
      if (wrong.length) return fail(...wrong);
      return answered.length ? pass(...answered.map(line)) : skip('no malformed frame was answered with a CALLERROR (see MSG-002)');
    },
  },
  {
    spec: {
      id: 'MSG-004',
      needs: ['session'],
      title: 'Oversized frame read and processed',
      severity: 'low',
      basis: 'OCPP 2.0.1 Part 4 §5 (frame size is bounded by the implementation); RFC 6455 §10.4 (limits on frame size); NISTIR 8473 (resource exhaustion)',
      description: 'Sends a syntactically valid DataTransfer CALL padded to the configured size (default 2 MiB).',
      remedy: 'Limit WebSocket frame size (e.g. 256 KiB) and close with 1009 above it.',
    },
    async run(ctx) {
      const s = await ctx.session();
      if (!s.ok) return inconclusive(`could not open a session: ${s.error}`);
      try {
        const pad = 'A'.repeat(ctx.opts.hugeFrameBytes);
        const text = JSON.stringify([2, s.conn.newId(), 'DataTransfer', { vendorId: 'org.evguard.probe', data: pad }]);
        ctx.malformedSent = true;
        const w = await s.conn.exchange(text);
        const evidence = `${(text.length / 1024 / 1024).toFixed(2)} MiB DataTransfer: ${describe(w)}`;
        return w.kind === 'frame' ? fail(evidence, 'the whole frame was read and answered') : pass(evidence);
      } finally {
        await s.conn.close();
      }
    },
  },
  {
    spec: {
      id: 'MSG-005',
      needs: ['session'],
      title: 'Unexpected CALLRESULT or CALLERROR mishandled',
      severity: 'medium',
      basis: 'OCPP-J (OCPP 2.0.1 Part 4 §4.2): a CALLRESULT or CALLERROR whose id matches no outstanding CALL is ignored',
      description: 'Sends a CALLRESULT and a CALLERROR for message ids the target never used, then a Heartbeat on the same session.',
      remedy: 'Drop responses that match no outstanding CALL (log them); never treat them as CALLs or let them break the session.',
    },
    async run(ctx) {
      const s = await ctx.session();
      if (!s.ok) return inconclusive(`could not open a session: ${s.error}`);
      try {
        const evidence: string[] = [];
        const short = Math.min(ctx.opts.timeoutMs, 1500);
        ctx.malformedSent = true;
        const r1 = await s.conn.exchange(JSON.stringify([3, 'prb-never-sent-1', { status: 'Accepted' }]), { timeoutMs: short });
        evidence.push(`stray CALLRESULT: ${describe(r1)}`);
        const r2 = await s.conn.exchange(JSON.stringify([4, 'prb-never-sent-2', 'GenericError', 'probe', {}]), { timeoutMs: short });
        evidence.push(`stray CALLERROR: ${describe(r2)}`);
        const hb = await s.conn.call('Heartbeat', {});
        evidence.push(`Heartbeat afterwards: ${describe(hb)}`);
        if (isCallResult(r1) || isCallResult(r2)) return fail(...evidence, 'a response was treated as a CALL');
        if (!isCallResult(hb)) return fail(...evidence, 'the session no longer works');
        return pass(...evidence);
      } finally {
        await s.conn.close();
      }
    },
  },
  {
    spec: {
      id: 'MSG-006',
      needs: ['session'],
      title: 'Target not alive after malformed input',
      severity: 'high',
      basis: 'OCPP 2.0.1 Part 4 §4.2 (errors are answered, not fatal); NISTIR 8473 (availability); ETSI EN 303 645 provision 5.13-1 (validate input)',
      description: 'Judged from the liveness checks (a fresh session and a Heartbeat) after each check that sent malformed, oversized or unexpected frames (MSG-002…005); no verdict when none was sent.',
      judgesRecords: true,
      remedy: 'Contain every parsing and validation failure to the one message (and at most the one connection); never let it stop the server.',
    },
    async run(ctx) {
      const earlier = ctx.liveness.find((r) => r.state === 'dead');
      if (!ctx.malformedSent && earlier) return inconclusive(`not judged: the target stopped answering during ${earlier.after}, before any malformed frame was sent`);
      if (!ctx.malformedSent) return inconclusive('no malformed, oversized or unexpected frame was sent in this run (MSG-002, MSG-004 and MSG-005 did not run or had no session): nothing to judge');
      const after = ctx.liveness.filter((r) => MALFORMED_CHECKS.includes(r.after));
      const down = after.find((r) => r.state === 'dead');
      if (down) return fail(`the target stopped answering during ${down.after}: ${down.detail}`);
      const refused = after.find((r) => r.state === 'refused');
      if (refused) return inconclusive(`after ${refused.after} the target answered, but refused the probe station (${refused.detail}): it is up, but whether it still serves stations cannot be seen`);
      if (!after.length) return inconclusive('no liveness check followed the malformed frames');
      return pass(...after.map((r) => `after ${r.after}: ${r.detail}`));
    }
  },
];
