/**
 * One station's live connection: the per-session limits the gateway keeps
 * (frame budget, unique message ids, one CALL at a time, throttled reports
 * of misbehaviour) on one object. The event listeners are functions shared
 * by every connection, which find theirs on the emitter (`this`), so a
 * session holds no closure per listener: at tens of thousands of stations
 * each closure and its context is memory per station (docs/bench.md).
 */
import type { OcppConfig } from '../config.js';
import type { Session, GatewayHooks } from './session.js';
import type { KeepAliveHandle } from './keep-alive.js';
import type { StationBudget, Spend } from './budget.js';
import { attributeFault } from './faults.js';
import { SeenIds } from './seen-ids.js';
import { ocppError, toRpcError, wireErrorCode } from './errors.js';

const SEEN_IDS_KEPT = 1024;
/** How long a station that goes on sending after the node's Close keeps its connection, unread, so it can still read the Close. */
const CLOSE_GRACE_MS = 1000;
const CONNECTION = Symbol('evguard.connection');
/** The id of a frame ocpp-rpc refused before reading it, for the CALLERROR it sends next. */
const BAD_FRAME_ID = Symbol('evguard.badFrameId');

type Misbehaviour = 'InvalidMessage' | 'ReplayedMessageId' | 'RateLimited';

/** What every connection of one gateway shares. */
export interface ConnectionContext {
  hooks: GatewayHooks;
  config: OcppConfig;
  /** The session ended: the gateway forgets it (live map, budget). */
  ended(connection: Connection): void;
}

export class Connection {
  readonly seen = new SeenIds(SEEN_IDS_KEPT);
  readonly reports: ReportThrottle;
  /** The last frame's budget verdict; a CALL is refused unless 'ok'. */
  verdict: Spend = 'ok';
  paused = false;
  cutOff = false;
  closing = false;
  /** One CALL at a time per station, so its messages are stored in the order sent. */
  chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly session: Session,
    readonly ws: any,
    readonly budget: StationBudget,
    readonly heartbeat: KeepAliveHandle,
    readonly deps: ConnectionContext,
  ) {
    this.reports = new ReportThrottle(session, deps.hooks);
  }

  /** Over budget for good: a WebSocket close handshake with 1008, after the refusal already queued is written. */
  closeForBudget(why: string): void {
    if (this.closing) return;
    this.closing = true;
    this.reports.report('RateLimited', why);
    this.reports.quiet = true;
    setImmediate(() => void this.session.client.close({ code: 1008, reason: 'Message rate limit exceeded' }));
  }

  /** Every frame is counted before ocpp-rpc parses it: messages, and pings and pongs, which ws answers without ocpp-rpc. */
  frame(): void {
    const { ws, budget } = this;
    this.heartbeat.alive();
    if (ws.readyState !== 1) {
      // A frame after the node's Close: the station is not closing. Read nothing more
      // (nothing would refill a budget now) and end the connection once it had time to read the Close.
      this.reports.quiet = true;
      if (this.cutOff) return;
      this.cutOff = true;
      ws.pause();
      setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
      return;
    }
    const { config } = this.deps;
    this.verdict = budget.frame();
    if (this.verdict === 'close') return this.closeForBudget(`frames over ${config.ratePerSecond}/s beyond the burst of ${config.rateBurst}`);
    if (this.verdict === 'slow' && !this.paused && !this.closing) {
      // Backpressure: stop reading this socket until the budget refills; the kernel holds the rest.
      this.paused = true;
      ws.pause();
      setTimeout(() => {
        this.paused = false;
        if (ws.readyState === 1) ws.resume();
      }, budget.pauseMs()).unref();
    }
  }

  invalidFrame(detail: string): void {
    this.reports.report('InvalidMessage', detail);
    const { config } = this.deps;
    if (this.budget.invalidFrame() === 'close') this.closeForBudget(`invalid frames over ${config.invalidPerSecond}/s beyond the burst of ${config.invalidBurst}`);
  }

  /** A validated CALL: refused if its id was used or the station is over its rate, else dispatched after the previous one. */
  async call(method: string, params: unknown, messageId: string): Promise<unknown> {
    if (!this.seen.add(messageId)) {
      this.reports.report('ReplayedMessageId', `${method} reused message id ${messageId.slice(0, 64)}`);
      throw ocppError('RpcFrameworkError', 'Message id already used on this connection');
    }
    if (this.verdict !== 'ok') {
      this.reports.report('RateLimited', `${method} over ${this.deps.config.ratePerSecond}/s`);
      throw ocppError('SecurityError', 'Message rate limit exceeded');
    }
    const run = this.chain.then(() => this.deps.hooks.dispatch(this.session, method, params));
    this.chain = run.catch(() => undefined);
    try {
      return await run;
    } catch (err) {
      throw toRpcError(err);
    }
  }
}

/** Starts a connection's session: its listeners, its CALL handler, its close. */
export function attach(client: any, connection: Connection): void {
  const ws = connection.ws;
  client[CONNECTION] = connection;
  ws[CONNECTION] = connection;
  // ocpp-rpc's own methods, wrapped by shared functions (see below).
  client.close = containedClose;
  client.sendRaw = sendRawRespelled;
  // Prepended, so the frame is counted before ocpp-rpc parses it.
  for (const event of ['message', 'ping', 'pong']) ws.prependListener(event, onFrame);
  client.on('badMessage', onBadMessage);
  client.on('strictValidationFailure', onStrictValidationFailure);
  client.on('socketError', onSocketError);
  // The gateway answers every CALL itself (answerCall); ocpp-rpc's handler table stays empty.
  client._onCall = answerCall;
  client.once('close', onClose);
}

/** ocpp-rpc's state for an open connection (its states are ws's ready states). */
const OPEN = 1;
/** ocpp-rpc keeps a handler's abort for a disconnect; the gateway's handler has nothing to abort. */
const noAbort = () => undefined;

/**
 * A CALL from the station, validated and answered: ocpp-rpc's own `_onCall`
 * with what the gateway never uses left out. ocpp-rpc makes an
 * AbortController and its signal, a bound function, two promises and up to
 * three event objects for every CALL, whether or not anything listens
 * (about a tenth of a message's allocations at saturation); here a CALL is
 * the validation, the gateway's `call`, and the reply. What it keeps:
 * - a CALL while not open closes the connection, as ocpp-rpc's does;
 * - a message id already in flight is an RpcFrameworkError (the seen-ids
 *   window refuses reuse too, with its own report);
 * - strict validation of the request and of the answer, each failure
 *   emitted as `strictValidationFailure` (the gateway counts inbound ones as
 *   invalid frames); an answer that fails its schema is an InternalError;
 * - the call in flight is in `_pendingResponses` (ocpp-rpc waits for it on
 *   a graceful close);
 * - `callResult`, `callError` and `response` are emitted only when someone listens;
 * - 1.6's two misspelt error codes (OCPP-J 1.6 errata §5) are sent as 1.6 spells them.
 */
async function answerCall(this: any, messageId: string, method: string, params: unknown): Promise<void> {
  let payload: unknown[];
  try {
    if (this._state !== OPEN) throw new Error('Call received while client state not OPEN');
    try {
      if (this._pendingResponses.has(messageId)) throw ocppError('RpcFrameworkError', `Already processing a call with message ID: ${messageId}`);
      const validator = this._strictProtocols.includes(this._protocol) ? this._strictValidators.get(this._protocol) : undefined;
      if (validator) strictly(this, validator, `urn:${method}.req`, messageId, method, params, null, false);
      const answer = (this[CONNECTION] as Connection).call(method, params, messageId);
      this._pendingResponses.set(messageId, { abort: noAbort, promise: answer });
      const result = await answer;
      if (this.listenerCount('callResult') > 0) this.emit('callResult', { outbound: false, messageId, method, params, result });
      payload = [3, messageId, result];
      if (validator) {
        try {
          strictly(this, validator, `urn:${method}.conf`, messageId, method, params, result, true);
        } catch {
          throw ocppError('InternalError', '');
        }
      }
    } catch (err: any) {
      let code: string = err?.rpcErrorCode ?? 'GenericError';
      if (this._protocol === 'ocpp1.6') code = code === 'FormatViolation' ? 'FormationViolation' : code === 'OccurenceConstraintViolation' ? 'OccurrenceConstraintViolation' : code;
      payload = [4, messageId, code, err?.message || err?.rpcErrorMessage || '', err?.details || {}];
      if (this.listenerCount('callError') > 0) this.emit('callError', { outbound: false, messageId, method, params, error: err });
    } finally {
      this._pendingResponses.delete(messageId);
    }
    if (this.listenerCount('response') > 0) this.emit('response', { outbound: true, payload });
    this.sendRaw(JSON.stringify(payload));
  } catch {
    this.close({ code: 1000, reason: 'Unable to send call result' });
  }
}

/** Validates against the schema `urn`; a failure is emitted as ocpp-rpc does and thrown. */
function strictly(client: any, validator: { validate(urn: string, value: unknown): void }, urn: string, messageId: string, method: string, params: unknown, result: unknown, outbound: boolean): void {
  try {
    validator.validate(urn, outbound ? result : params);
  } catch (error) {
    client.emit('strictValidationFailure', { messageId, method, params, result, error, outbound, isCall: !outbound });
    throw error;
  }
}

function onFrame(this: any): void {
  (this[CONNECTION] as Connection).frame();
}

function onBadMessage(this: any, { error, buffer }: { error: Error; buffer: Buffer }): void {
  // ocpp-rpc sends its CALLERROR right after this event, before it has read the id; keep it for the reply.
  this[BAD_FRAME_ID] = readableId(buffer);
  (this[CONNECTION] as Connection).invalidFrame(error.message.slice(0, 200));
}

function onStrictValidationFailure(this: any, { outbound, method, error }: any): void {
  if (!outbound) (this[CONNECTION] as Connection).invalidFrame(`${method}: ${String(error?.message).slice(0, 200)}`);
}

function onSocketError(this: any, err: Error): void {
  const connection: Connection = this[CONNECTION];
  // Tagged, so a rejection it causes further down is known to be this station's (see faults.ts).
  attributeFault(err, connection.session.stationId);
  connection.reports.report('InvalidMessage', `socket error: ${String((err as any).code ?? err.message).slice(0, 200)}`);
}

function onClose(this: any, { code, reason }: { code: number; reason: Buffer | string }): void {
  const connection: Connection = this[CONNECTION];
  connection.heartbeat.remove();
  connection.deps.ended(connection);
  connection.reports.flush();
  connection.deps.hooks.disconnected(connection.session, code, String(reason ?? ''));
}

/**
 * ocpp-rpc starts close handshakes of its own (past maxBadMessages, after a
 * failed send) and leaves the promise `close()` returns unhandled. A peer
 * that errors its socket before answering the Close (invalid UTF-8, an
 * oversized frame header) rejects that promise, and Node would end the
 * process. Every close promise of the client is given a handler here; callers
 * that await it still see the rejection.
 */
function containedClose(this: any, opts?: unknown): Promise<unknown> {
  const closed: Promise<unknown> = Object.getPrototypeOf(this).close.call(this, opts);
  closed.catch((err) => attributeFault(err, (this[CONNECTION] as Connection).session.stationId));
  return closed;
}

/**
 * ocpp-rpc answers frame-level faults (bad JSON, unknown message type) with
 * 2.x codes; 1.6 has neither RpcFrameworkError nor MessageTypeNotSupported.
 * A frame whose id could not be read gets "-1" (OCPP-J 2.0.1 §4.2.3).
 */
function sendRawRespelled(this: any, text: string): void {
  if (text.startsWith('[4,')) {
    try {
      const frame = JSON.parse(text);
      // ocpp-rpc uses "-1" until it has read the id; a frame rejected for its type still has a readable id.
      if (typeof frame[1] !== 'string' || frame[1] === '-1') frame[1] = this[BAD_FRAME_ID] ?? '-1';
      this[BAD_FRAME_ID] = undefined;
      frame[2] = wireErrorCode((this[CONNECTION] as Connection).session.version, frame[2]);
      text = JSON.stringify(frame);
    } catch {
      // leave it as ocpp-rpc built it
    }
  }
  Object.getPrototypeOf(this).sendRaw.call(this, text);
}

/** The message id of a frame that failed to parse fully, if one can be read. */
function readableId(buffer: Buffer): string | undefined {
  try {
    const frame = JSON.parse(String(buffer));
    return Array.isArray(frame) && typeof frame[1] === 'string' && frame[1].length <= 36 ? frame[1] : undefined;
  } catch {
    return undefined;
  }
}

const REPORTS_PER_WINDOW = 5;
const REPORT_WINDOW_MS = 10_000;
/** Suppressed reports go out as one event standing for this many, so detectors still count every one. */
const SUMMARY_EVERY = 50;

/**
 * A flooding station must not turn into a flood of stored security events:
 * per kind, the first few of each window are reported one by one; the rest
 * are stored as one event per SUMMARY_EVERY with `occurrences` set, and what
 * is left goes out with the next report or when the session ends.
 */
class ReportThrottle {
  // Made on the first report: most stations never have one.
  private windows: Map<Misbehaviour, { start: number; count: number; suppressed: number }> | undefined;
  /**
   * The connection is closing: what the station still sends (frames it had
   * already written, up to a socket's worth) is only counted, and told once
   * when the session ends.
   */
  quiet = false;

  constructor(private readonly session: Session, private readonly hooks: GatewayHooks) {}

  report(kind: Misbehaviour, detail: string): void {
    const now = Date.now();
    this.windows ??= new Map();
    let w = this.windows.get(kind);
    if (this.quiet) {
      if (!w) this.windows.set(kind, (w = { start: now, count: REPORTS_PER_WINDOW, suppressed: 0 }));
      w.suppressed++;
      return;
    }
    let carried = 0;
    if (!w || now - w.start > REPORT_WINDOW_MS) {
      carried = w?.suppressed ?? 0;
      w = { start: now, count: 0, suppressed: 0 };
      this.windows.set(kind, w);
    }
    if (++w.count > REPORTS_PER_WINDOW) {
      if (++w.suppressed >= SUMMARY_EVERY) {
        this.summary(kind, w.suppressed);
        w.suppressed = 0;
      }
      return;
    }
    this.hooks.misbehaved(this.session, kind, carried ? `${detail} (and ${carried} more like it before)` : detail, 1 + carried);
  }

  flush(): void {
    for (const [kind, w] of this.windows ?? []) if (w.suppressed) this.summary(kind, w.suppressed);
    this.windows = undefined;
  }

  private summary(kind: Misbehaviour, n: number): void {
    this.hooks.misbehaved(this.session, kind, `${n} more ${kind} not reported one by one`, n);
  }
}
