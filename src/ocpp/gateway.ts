/**
 * The OCPP-J gateway: WebSocket upgrade, subprotocol negotiation, station
 * authentication (delegated to a HandshakePolicy), one live session per
 * station, and per-session limits (frame size, message rate, unique message
 * ids, one outstanding CSMS→station CALL, keep-alive). Framing and schema
 * validation are ocpp-rpc's, with our validators and error spellings.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { RPCServer } from 'ocpp-rpc';
import type { OcppConfig } from '../config.js';
import { gatewayErrors, ocppError, toRpcError, wireErrorCode } from './errors.js';
import type { OcppVersion } from '../model/ocpp-version.js';
import type { StationContext } from '../model/station.js';
import type { HandshakeDecision, HandshakeFacts } from '../model/handshake.js';

export type { HandshakeDecision, HandshakeFacts };
import { createValidator, SUBPROTOCOLS, VERSION_OF_SUBPROTOCOL, type OcppValidator } from './validator.js';
import { parseStationPath, refuseUpgrade } from './handshake.js';
import { StationBudget, type Spend } from './budget.js';
import { attributeFault, faultOwner } from './faults.js';
import { SeenIds } from './seen-ids.js';
import { createKeepAlive } from './keep-alive.js';
import { compactListeners, sharedClientState, slimClient } from './slim-client.js';
// Before any ws socket exists: a failed receiver must read no further chunk (see the module).
import './ws-receiver-guard.js';


export interface GatewayHooks {
  authenticate(facts: HandshakeFacts): Promise<HandshakeDecision>;
  /** A second authenticated connection claimed a station whose session is alive. */
  duplicateRefused(facts: HandshakeFacts): void;
  /** Every handshake that got as far as authentication, with how it ended (metrics). */
  handshake?(facts: HandshakeFacts, result: HandshakeDecision): void;
  /** Cluster mode: does another node hold a live session for this station? (It pings it; a dead one there is closed.) */
  heldElsewhere?(stationId: string, probeMs: number): Promise<boolean>;
  /** Dispatches one validated CALL from a station; must throw an RPC or Evguard error to refuse. */
  dispatch(ctx: StationContext, action: string, params: unknown): Promise<unknown>;
  connected(ctx: StationContext): void;
  disconnected(ctx: StationContext, code: number, reason: string): void;
  /** A frame or CALL was malformed, replayed or over the rate; `kind` is a CSMS security-event type. */
  misbehaved(ctx: StationContext, kind: 'InvalidMessage' | 'ReplayedMessageId' | 'RateLimited', detail: string, occurrences?: number): void;
  /**
   * Runs before every CSMS→station CALL, after its payload passed the schema: a
   * guard (e.g. the grid's power limits) may hold the call back a while or throw
   * an Evguard error to refuse it, so nothing reaches the station.
   */
  beforeCall?(ctx: StationContext, action: string, payload: unknown): Promise<void>;
}

export interface Session extends StationContext {
  readonly connectedAt: string;
  readonly client: any;
}

export interface Gateway {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  session(stationId: string): Session | undefined;
  sessions(): IterableIterator<Session>;
  /** Live sessions on this node. */
  count(): number;
  /** Sends a CALL in the station's own vocabulary; validates payload and response against its schemas. */
  call(stationId: string, action: string, payload: unknown, opts?: { timeoutMs?: number }): Promise<unknown>;
  disconnect(stationId: string, code?: number, reason?: string): Promise<void>;
  /** True if the station's session here answers a ping; a dead one is closed so a new connection may take its place. */
  probe(stationId: string, ms?: number): Promise<boolean>;
  validator(version: OcppVersion): OcppValidator;
  /** Takes an unhandled rejection raised on one of this gateway's connections: closes that connection, returns true. */
  containFault(reason: unknown): boolean;
  close(): Promise<void>;
}

const SEEN_IDS_KEPT = 1024;
const UPGRADE_EVENTS = ['end', 'close', 'error'];
/** How long a station that goes on sending after the node's Close keeps its connection, unread, so it can still read the Close. */
const CLOSE_GRACE_MS = 1000;
const BAD_FRAME_ID = Symbol('badFrameId');

/** The message id of a frame that failed to parse fully, if one can be read. */
function readableId(buffer: Buffer): string | undefined {
  try {
    const frame = JSON.parse(String(buffer));
    return Array.isArray(frame) && typeof frame[1] === 'string' && frame[1].length <= 36 ? frame[1] : undefined;
  } catch {
    return undefined;
  }
}

export function createGateway(hooks: GatewayHooks, config: OcppConfig & { nodeId?: string }): Gateway {
  const validators = (Object.keys(SUBPROTOCOLS) as OcppVersion[]).map(createValidator);
  const byVersion = new Map(validators.map((v) => [v.version, v]));
  const rpc = new RPCServer({
    protocols: validators.map((v) => v.subprotocol),
    strictMode: true,
    strictModeValidators: validators as any,
    callTimeoutMs: config.callTimeoutMs,
    // Keep-alive is ours, one timer for every connection (keep-alive.ts).
    pingIntervalMs: 0,
    callConcurrency: 1,
    maxBadMessages: config.maxBadMessages,
    respondWithDetailedErrors: false,
    // One message per event-loop turn and connection, so a station that writes
    // a thousand frames at once waits its turn like everyone else.
    // ocpp-rpc keeps its own set of clients; ws need not keep a second one.
    wssOptions: { maxPayload: config.maxFrameBytes, perMessageDeflate: false, allowSynchronousEvents: false, clientTracking: false },
  });
  /**
   * The listeners ocpp-rpc puts on a socket for the length of its upgrade
   * ('end', 'close', 'error'); it never takes them off, and they hold the
   * whole upgrade request. Taken off when the session starts (ws has its own).
   */
  const upgradeListeners = new WeakMap<Duplex, [string, (...args: any[]) => void][]>();
  /**
   * A live session needs of its handshake only the station's identity and
   * address: the request, its headers and the password are let go.
   */
  const forgetUpgrade = (client: any) => {
    const socket: Duplex | undefined = client.handshake?.request?.socket;
    if (socket) {
      for (const [event, listener] of upgradeListeners.get(socket) ?? []) socket.off(event, listener);
      upgradeListeners.delete(socket);
    }
    client._handshake = { identity: client.identity, remoteAddress: client.handshake?.remoteAddress };
  };
  const live = new Map<string, Session>();
  const shared = sharedClientState();
  const keepAlive = createKeepAlive(config.pingIntervalMs);
  /**
   * A station's budget outlives its connections until it has refilled, so a
   * station cannot start over with a full one by reconnecting.
   */
  const budgets = new Map<string, { budget: StationBudget; connections: number; forget?: NodeJS.Timeout }>();
  const takeBudget = (stationId: string): StationBudget => {
    let entry = budgets.get(stationId);
    if (!entry) budgets.set(stationId, (entry = { budget: new StationBudget(config), connections: 0 }));
    clearTimeout(entry.forget);
    entry.connections++;
    return entry.budget;
  };
  const releaseBudget = (stationId: string): void => {
    const entry = budgets.get(stationId);
    if (!entry || --entry.connections > 0) return;
    entry.forget = setTimeout(() => budgets.delete(stationId), entry.budget.msUntilFull()).unref();
  };
  const handshakes = inFlightHandshakes(config.maxHandshakes, config.maxHandshakesPerAddress);
  /** Station ids between handshake and session start, so two racing upgrades cannot both win. */
  const upgrading = new Set<string>();

  rpc.auth(async (accept: Function, reject: Function, handshake: any) => {
    const stationId: string = handshake.identity;
    const offered: Set<string> = handshake.protocols;
    const subprotocol = validators.map((v) => v.subprotocol).find((p) => offered.has(p));
    // OCPP-J 1.6 §3.1.2, 2.0.1/2.1 Part 4 §3.1.2: no version agreed → complete the handshake without the header, then close at once.
    if (!subprotocol) return accept({ noSubprotocol: true }, false);
    const socket = handshake.request.socket as TLSSocket;
    const secure = Boolean(socket.encrypted);
    const facts: HandshakeFacts = {
      stationId,
      remoteAddress: handshake.remoteAddress ?? '',
      secure,
      password: handshake.password,
      mismatchedUser: basicUserIfMismatched(handshake.headers.authorization, stationId),
      peerCertificateChain: secure ? peerChain(socket) : undefined,
      version: VERSION_OF_SUBPROTOCOL[subprotocol]!,
    };
    let claimed = false;
    const refuse = (status: 409 | 503, message: string) => {
      hooks.handshake?.(facts, { accept: false, status, message });
      return reject(status, message);
    };
    try {
      // Authenticate first: an attempt that fails (or that the policy slows down) must not hold the station's slot against the real station.
      const decision = await hooks.authenticate(facts);
      if (!decision.accept) {
        hooks.handshake?.(facts, decision);
        return reject(decision.status, decision.message);
      }
      if (upgrading.has(stationId)) return refuse(409, 'Another connection for this station is being established');
      upgrading.add(stationId);
      claimed = true;
      const existing = live.get(stationId);
      if (existing) {
        // Never silently replace an authenticated session: the newcomer wins
        // only if the old socket no longer answers a ping.
        if (await isAlive(existing.client, config.duplicateProbeMs)) {
          hooks.duplicateRefused(facts);
          return refuse(409, 'This station is already connected');
        }
        existing.client.close({ code: 1001, reason: 'Replaced by a new connection', force: true });
        live.delete(stationId);
      } else if (hooks.heldElsewhere && (await hooks.heldElsewhere(stationId, config.duplicateProbeMs))) {
        hooks.duplicateRefused(facts);
        return refuse(409, 'This station is already connected');
      }
      hooks.handshake?.(facts, decision);
      accept({ securityProfile: decision.securityProfile, version: facts.version, admission: decision.admission }, subprotocol);
    } catch {
      refuse(503, 'Authentication is unavailable; try again');
    } finally {
      if (claimed) upgrading.delete(stationId);
      handshakes.release(handshake.request.socket);
    }
  });

  rpc.on('client', (client: any) => {
    if (client.session.noSubprotocol) return void client.close({ code: 1002, reason: 'Offer one of the subprotocols ocpp2.1, ocpp2.0.1, ocpp1.6' }).catch(() => undefined);
    const { securityProfile, version, admission } = client.session as { securityProfile: 1 | 2 | 3; version: OcppVersion; admission?: unknown };
    const session: Session = {
      stationId: client.identity,
      version,
      securityProfile,
      admission,
      remoteAddress: client.handshake.remoteAddress ?? '',
      connectedAt: new Date().toISOString(),
      client,
    };
    live.set(session.stationId, session);
    slimClient(client, shared);
    forgetUpgrade(client);
    rewriteErrorSpelling(client, version);
    containClose(client, session);
    const seen = new SeenIds(SEEN_IDS_KEPT);
    const budget = takeBudget(session.stationId);
    const report = throttledReports(session, hooks);
    let chain: Promise<unknown> = Promise.resolve();
    let closing = false;
    /** Over budget for good: a WebSocket close handshake with 1008, after the refusal already queued is written. */
    const closeForBudget = (why: string) => {
      if (closing) return;
      closing = true;
      report('RateLimited', why);
      setImmediate(() => void client.close({ code: 1008, reason: 'Message rate limit exceeded' }));
    };

    // Every frame is counted before ocpp-rpc parses it (prepended, so it runs first):
    // messages, and pings and pongs, which ws answers and reports without ocpp-rpc.
    const ws = client._ws;
    const heartbeat = keepAlive.add(ws);
    let verdict: Spend = 'ok';
    let paused = false;
    let cutOff = false;
    const onFrame = () => {
      heartbeat.alive();
      if (ws.readyState !== 1) {
        // A frame after the node's Close: the station is not closing. Read nothing more
        // (nothing would refill a budget now) and end the connection once it had time to read the Close.
        if (cutOff) return;
        cutOff = true;
        ws.pause();
        setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
        return;
      }
      verdict = budget.frame();
      if (verdict === 'close') return closeForBudget(`frames over ${config.ratePerSecond}/s beyond the burst of ${config.rateBurst}`);
      if (verdict === 'slow' && !paused && !closing) {
        // Backpressure: stop reading this socket until the budget refills; the kernel holds the rest.
        paused = true;
        ws.pause();
        setTimeout(() => {
          paused = false;
          if (ws.readyState === 1) ws.resume();
        }, budget.pauseMs()).unref();
      }
    };
    for (const event of ['message', 'ping', 'pong']) ws.prependListener(event, onFrame);
    const invalidFrame = (detail: string) => {
      report('InvalidMessage', detail);
      if (budget.invalidFrame() === 'close') closeForBudget(`invalid frames over ${config.invalidPerSecond}/s beyond the burst of ${config.invalidBurst}`);
    };
    client.on('badMessage', ({ error, buffer }: { error: Error; buffer: Buffer }) => {
      // ocpp-rpc sends its CALLERROR right after this event, before it has read the id; keep it for the reply.
      client[BAD_FRAME_ID] = readableId(buffer);
      invalidFrame(error.message.slice(0, 200));
    });
    client.on('strictValidationFailure', ({ outbound, method, error }: any) => {
      if (!outbound) invalidFrame(`${method}: ${String(error?.message).slice(0, 200)}`);
    });
    client.on('socketError', (err: Error) => {
      // Tagged, so a rejection it causes further down is known to be this station's (see faults.ts).
      attributeFault(err, session.stationId);
      report('InvalidMessage', `socket error: ${String((err as any).code ?? err.message).slice(0, 200)}`);
    });
    client.handle(async ({ method, params, messageId }: { method: string; params: unknown; messageId: string }) => {
      if (!seen.add(messageId)) {
        report('ReplayedMessageId', `${method} reused message id ${messageId.slice(0, 64)}`);
        throw ocppError('RpcFrameworkError', 'Message id already used on this connection');
      }
      if (verdict !== 'ok') {
        report('RateLimited', `${method} over ${config.ratePerSecond}/s`);
        throw ocppError('SecurityError', 'Message rate limit exceeded');
      }
      // One CALL at a time per station, so its messages are stored in the order sent.
      const run = chain.then(() => hooks.dispatch(session, method, params));
      chain = run.catch(() => undefined);
      try {
        return await run;
      } catch (err) {
        throw toRpcError(err);
      }
    });
    client.once('close', ({ code, reason }: { code: number; reason: Buffer | string }) => {
      if (live.get(session.stationId) === session) live.delete(session.stationId);
      heartbeat.remove();
      releaseBudget(session.stationId);
      report.flush();
      hooks.disconnected(session, code, String(reason ?? ''));
    });
    hooks.connected(session);
    // Every listener of the session is in place now.
    for (const emitter of [client, ws, ws._socket, ws._receiver]) compactListeners(emitter);
  });

  return {
    handleUpgrade(req, socket, head) {
      const parsed = parseStationPath(req.url ?? '/');
      if (!parsed.ok) return refuseUpgrade(socket, parsed.status, parsed.message);
      // Shed instead of queueing: a storm (or a guesser) past the bound is told when to come back, spread over a window.
      if (!handshakes.take(socket, req.socket.remoteAddress ?? '')) {
        return refuseUpgrade(socket, 503, 'The CSMS is busy authenticating other stations; retry after Retry-After seconds', { 'Retry-After': String(1 + Math.floor(Math.random() * config.shedRetryAfterS)) });
      }
      const listenersBefore = new Map(UPGRADE_EVENTS.map((e) => [e, socket.listeners(e)]));
      rpc.handleUpgrade(req, socket as any, head);
      // ocpp-rpc adds its listeners before its first await, so they are the ones added by this call.
      upgradeListeners.set(socket, UPGRADE_EVENTS.flatMap((e) => socket.listeners(e).filter((l) => !listenersBefore.get(e)!.includes(l)).map((l) => [e, l as (...args: any[]) => void] as [string, (...args: any[]) => void])));
    },
    session: (id) => live.get(id),
    sessions: () => live.values(),
    count: () => live.size,
    async call(stationId, action, payload, opts = {}) {
      const session = live.get(stationId);
      if (!session) throw gatewayErrors.STATION_OFFLINE(`Station ${stationId} is not connected`);
      const v = byVersion.get(session.version)!;
      if (!v.actions.has(action)) throw gatewayErrors.OCPP_ACTION_UNKNOWN(`${action} is not an OCPP ${session.version} action`);
      try {
        v.validate(`urn:${action}.req`, payload);
      } catch (err) {
        throw gatewayErrors.OCPP_PAYLOAD_INVALID(`${action}: ${(err as Error).message} (${(err as any).rpcErrorCode})`);
      }
      await hooks.beforeCall?.(session, action, payload);
      // The guard may have waited; the station may have gone meanwhile.
      if (live.get(stationId) !== session) throw gatewayErrors.STATION_OFFLINE(`Station ${stationId} went away before ${action} was sent`);
      try {
        return await session.client.call(action, payload, { callTimeoutMs: opts.timeoutMs ?? config.callTimeoutMs });
      } catch (err: any) {
        if (err?.name === 'TimeoutError') throw gatewayErrors.STATION_CALL_TIMEOUT(`Station ${stationId} did not answer ${action} in time`);
        if (err?.rpcErrorCode) throw gatewayErrors.STATION_CALL_REJECTED(`Station answered ${action} with ${err.rpcErrorCode}: ${String(err.message).slice(0, 200)}`, { details: { rpcErrorCode: err.rpcErrorCode } });
        throw gatewayErrors.STATION_OFFLINE(`Station ${stationId} went away during ${action}`, { cause: err });
      }
    },
    async disconnect(stationId, code = 1000, reason = 'Closed by the CSMS') {
      await live.get(stationId)?.client.close({ code, reason, force: true });
    },
    async probe(stationId, ms = config.duplicateProbeMs) {
      const s = live.get(stationId);
      if (!s) return false;
      if (await isAlive(s.client, ms)) return true;
      s.client.close({ code: 1001, reason: 'Replaced by a new connection', force: true });
      if (live.get(stationId) === s) live.delete(stationId);
      return false;
    },
    validator: (version) => byVersion.get(version)!,
    containFault(reason) {
      const stationId = faultOwner(reason);
      const session = stationId ? live.get(stationId) : undefined;
      if (!session) return false;
      hooks.misbehaved(session, 'InvalidMessage', `connection fault: ${String((reason as Error)?.message ?? reason).slice(0, 200)}`);
      session.client.close({ code: 1011, reason: 'Connection fault' });
      return true;
    },
    async close() {
      keepAlive.close();
      // ws keeps no client set (clientTracking: false), so rpc.close() does not wait for the
      // connections it ends: wait here until each has closed and its end was reported.
      const clients: any[] = [...(rpc as any)._clients];
      await rpc.close({ code: 1001, reason: 'CSMS shutting down', force: true });
      await Promise.allSettled(clients.map((c) => c.close()));
    },
  };
}

/**
 * ocpp-rpc starts close handshakes of its own (past maxBadMessages, after a
 * failed send) and leaves the promise `close()` returns unhandled. A peer
 * that errors its socket before answering the Close (invalid UTF-8, an
 * oversized frame header) rejects that promise, and Node would end the
 * process. Every close promise of the client is given a handler here; callers
 * that await it still see the rejection.
 */
function containClose(client: any, session: Session): void {
  const close = client.close.bind(client);
  client.close = (opts?: unknown) => {
    const closed: Promise<unknown> = close(opts);
    closed.catch((err) => attributeFault(err, session.stationId));
    return closed;
  };
}

/**
 * Upgrades between the request and the authentication decision (password
 * hashing, certificate checks, the duplicate probe), bounded in all and per
 * source address. A slot is released when the decision is made or the socket
 * closes, whichever comes first.
 */
function inFlightHandshakes(max: number, perAddress: number) {
  const held = new Map<Duplex, { address: string; onClose: () => void }>();
  const byAddress = new Map<string, number>();
  const release = (socket: Duplex) => {
    const slot = held.get(socket);
    if (slot === undefined) return;
    held.delete(socket);
    // A live session's socket would otherwise keep this listener as long as it is open.
    socket.off('close', slot.onClose);
    const n = (byAddress.get(slot.address) ?? 1) - 1;
    if (n > 0) byAddress.set(slot.address, n);
    else byAddress.delete(slot.address);
  };
  return {
    take(socket: Duplex, address: string): boolean {
      if (held.size >= max || (byAddress.get(address) ?? 0) >= perAddress) return false;
      const onClose = () => release(socket);
      held.set(socket, { address, onClose });
      byAddress.set(address, (byAddress.get(address) ?? 0) + 1);
      socket.on('close', onClose);
      return true;
    },
    release,
  };
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
function throttledReports(session: Session, hooks: GatewayHooks) {
  type Kind = 'InvalidMessage' | 'ReplayedMessageId' | 'RateLimited';
  // Made on the first report: most stations never have one.
  let windows: Map<Kind, { start: number; count: number; suppressed: number }> | undefined;
  const summary = (kind: Kind, n: number) => hooks.misbehaved(session, kind, `${n} more ${kind} not reported one by one`, n);
  const report = (kind: Kind, detail: string) => {
    const now = Date.now();
    windows ??= new Map();
    let w = windows.get(kind);
    let carried = 0;
    if (!w || now - w.start > REPORT_WINDOW_MS) {
      carried = w?.suppressed ?? 0;
      w = { start: now, count: 0, suppressed: 0 };
      windows.set(kind, w);
    }
    if (++w.count > REPORTS_PER_WINDOW) {
      if (++w.suppressed >= SUMMARY_EVERY) {
        summary(kind, w.suppressed);
        w.suppressed = 0;
      }
      return;
    }
    hooks.misbehaved(session, kind, carried ? `${detail} (and ${carried} more like it before)` : detail, 1 + carried);
  };
  report.flush = () => {
    for (const [kind, w] of windows ?? []) if (w.suppressed) summary(kind, w.suppressed);
    windows = undefined;
  };
  return report;
}

function peerChain(socket: TLSSocket): Buffer[] | undefined {
  const leaf = socket.getPeerCertificate?.(true) as any;
  if (!leaf || !leaf.raw) return undefined;
  const chain: Buffer[] = [];
  for (let c = leaf; c && c.raw && chain.length < 8; c = c.issuerCertificate === c ? undefined : c.issuerCertificate) chain.push(c.raw);
  return chain;
}

function basicUserIfMismatched(header: string | undefined, stationId: string): string | undefined {
  const m = header && /^\s*basic\s+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const user = text.slice(0, Math.max(0, text.indexOf(':')));
  return user && user !== stationId ? user.slice(0, 64) : undefined;
}

/** Resolves true if the old socket answers a WebSocket ping within `ms`. */
function isAlive(client: any, ms: number): Promise<boolean> {
  const ws = client._ws; // ocpp-rpc exposes no ping API; the ws instance is stable across 2.x.
  if (!ws || ws.readyState !== 1) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(false), ms);
    const onPong = () => done(true);
    function done(v: boolean) {
      clearTimeout(timer);
      ws.off('pong', onPong);
      resolve(v);
    }
    ws.on('pong', onPong);
    try {
      ws.ping();
    } catch {
      done(false);
    }
  });
}

/**
 * ocpp-rpc answers frame-level faults (bad JSON, unknown message type) with
 * 2.x codes; 1.6 has neither RpcFrameworkError nor MessageTypeNotSupported.
 * A frame whose id could not be read gets "-1" (OCPP-J 2.0.1 §4.2.3).
 */
function rewriteErrorSpelling(client: any, version: OcppVersion): void {
  const send = client.sendRaw.bind(client);
  client.sendRaw = (text: string) => {
    if (text.startsWith('[4,')) {
      try {
        const frame = JSON.parse(text);
        // ocpp-rpc uses "-1" until it has read the id; a frame rejected for its type still has a readable id.
        if (typeof frame[1] !== 'string' || frame[1] === '-1') frame[1] = client[BAD_FRAME_ID] ?? '-1';
        client[BAD_FRAME_ID] = undefined;
        frame[2] = wireErrorCode(version, frame[2]);
        text = JSON.stringify(frame);
      } catch {
        // leave it as ocpp-rpc built it
      }
    }
    send(text);
  };
}
