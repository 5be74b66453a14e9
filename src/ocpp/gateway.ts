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
import { gatewayErrors } from './errors.js';
import type { OcppVersion } from '../model/ocpp-version.js';
import type { HandshakeDecision, HandshakeFacts } from '../model/handshake.js';
import type { GatewayHooks, Session } from './session.js';

export type { GatewayHooks, HandshakeDecision, HandshakeFacts, Session };
import { createValidator, SUBPROTOCOLS, VERSION_OF_SUBPROTOCOL, type OcppValidator } from './validator.js';
import { parseStationPath, refuseUpgrade } from './handshake.js';
import { StationBudget } from './budget.js';
import { faultOwner } from './faults.js';
import { createKeepAlive } from './keep-alive.js';
import { isCallTimeout, leanCalls } from './lean-call.js';
import { compactListeners, releaseSpentTimeout, sharedClientState, slimClient } from './slim-client.js';
import { attach, Connection, type ConnectionContext } from './connection.js';
// Before any ws socket exists: a failed receiver must read no further chunk (see the module).
import './ws-receiver-guard.js';


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

const UPGRADE_EVENTS = ['end', 'close', 'error'];

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
  const connections: ConnectionContext = {
    hooks,
    config,
    ended({ session }) {
      if (live.get(session.stationId) === session) live.delete(session.stationId);
      releaseBudget(session.stationId);
    },
  };
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
    leanCalls(client);
    forgetUpgrade(client);
    const ws = client._ws;
    attach(client, new Connection(session, ws, takeBudget(session.stationId), keepAlive.add(ws), connections));
    hooks.connected(session);
    // Every listener of the session is in place now.
    for (const emitter of [client, ws, ws._socket, ws._receiver]) compactListeners(emitter);
    releaseSpentTimeout(ws._socket);
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
        if (isCallTimeout(err)) throw gatewayErrors.STATION_CALL_TIMEOUT(`Station ${stationId} did not answer ${action} in time`);
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
