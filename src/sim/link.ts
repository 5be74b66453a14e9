/**
 * The station's WebSocket link: one ocpp-rpc RPCClient per connection, in
 * strict mode with our validators, with automatic reconnects off because the
 * simulator decides itself when a station goes offline and comes back.
 */
import { createHash, randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { connect as connectTls, createSecureContext, type ConnectionOptions, type SecureContext } from 'node:tls';
import { RPCClient, type IHandlersOption } from 'ocpp-rpc';
import type { EvguardError } from '../errors.js';
import { isCallTimeout, leanCalls } from '../ocpp/lean-call.js';
import { simErrors } from './errors.js';
import type { SimValidator } from './schemas.js';
import type { CertificateAndKey, SimTlsOptions } from './types.js';

const CONNECT_TIMEOUT_MS = 30_000;

export interface LinkOptions {
  url: string;
  id: string;
  subprotocol: string;
  password?: string;
  wsOptions: Record<string, unknown>;
  callTimeoutMs: number;
  pingIntervalMs: number;
  validators: readonly SimValidator[];
  /** Answers a CSMS→station CALL; a thrown RPC error becomes the CALLERROR. */
  onCall: (action: string, params: unknown) => Promise<unknown>;
}

export interface TransportInput {
  id: string;
  url: string;
  profile: 1 | 2 | 3;
  tls?: SimTlsOptions;
  localAddress?: string;
  /** CSMS roots installed with InstallCertificate; trusted next to tls.ca. */
  roots: string[];
  /** The certificate received in CertificateSigned; preferred over tls.cert for profile 3. */
  certificate?: CertificateAndKey;
  /** Where the station keeps its TLS session between connections (unless tls.resume is false). */
  sessionCache?: { session?: Buffer; credentials?: string };
}

/** Socket and TLS options for ws (passed through to net/tls connect). */
export function transportOptions(input: TransportInput): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (input.localAddress) o.localAddress = input.localAddress;
  if (!input.url.startsWith('wss:')) {
    if (input.profile > 1) throw simErrors.SIM_BAD_OPTIONS(`security profile ${input.profile} needs a wss:// url`);
    return o;
  }
  const tls = input.tls ?? {};
  const ca = [...(tls.ca === undefined ? [] : [tls.ca].flat()), ...input.roots];
  if (tls.rejectUnauthorized !== undefined) o.rejectUnauthorized = tls.rejectUnauthorized;
  if (tls.servername) o.servername = tls.servername;
  let pair: CertificateAndKey | undefined;
  if (input.profile === 3) {
    pair = input.certificate ?? (tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : undefined);
    if (!pair) throw simErrors.SIM_NO_CLIENT_CERTIFICATE(`station ${input.id} has no client certificate for security profile 3`);
  }
  let trust: TrustContext;
  try {
    trust = secureContextFor(ca, pair);
    o.secureContext = trust.context;
  } catch (err) {
    // Unreadable PEM or a key that does not match its certificate: the same
    // coded error as when tls.connect made the context for each connection.
    throw connectFailure(input.id, err);
  }
  const cache = input.sessionCache;
  if (cache && tls.resume !== false) {
    // A resumed session keeps the credentials and the trust it was made with: a station that
    // moved to profile 3 or got a new certificate must show it in a full handshake, and one
    // whose trust anchors changed (a CSMS root installed or deleted) verifies the server again.
    const credentials = `${input.profile}:${trust.id}`;
    const session = cache.credentials === credentials ? cache.session : undefined;
    // ws opens the socket through this hook; the session travels in tls.connect's
    // options, and a new ticket (sent after the handshake in TLS 1.3) replaces it.
    o.createConnection = (options: ConnectionOptions & { host?: string }) => {
      const socket = connectTls({ ...options, path: undefined, servername: options.servername ?? (isIP(options.host ?? '') ? '' : options.host), session });
      socket.on('session', (next: Buffer) => Object.assign(cache, { session: next, credentials }));
      return socket;
    };
  }
  return o;
}

/**
 * TLS settings made into a secure context once and shared by every
 * connection with the same trust anchors and client certificate. Given `ca`
 * or a key, each tls.connect parses them into a context of its own: in a
 * fleet reconnecting at once that parsing was nearly half of the
 * simulator's time. Bounded: stations with a certificate each (profile 3)
 * keep the most recent.
 */
const CONTEXTS_KEPT = 256;
const contexts = new Map<string, TrustContext>();

/** A shared secure context, and a digest naming its anchors and certificate (what a saved TLS session was made under). */
interface TrustContext {
  context: SecureContext;
  id: string;
}

function secureContextFor(ca: string[], pair: CertificateAndKey | undefined): TrustContext {
  // JSON, not a join: a separator can occur inside a PEM string, and two different lists of anchors must not meet in one key.
  const key = JSON.stringify([ca, pair?.cert ?? null, pair?.key ?? null]);
  const known = contexts.get(key);
  if (known) return known;
  const made = {
    context: createSecureContext({ ...(ca.length > 0 ? { ca } : {}), ...(pair ? { cert: pair.cert, key: pair.key } : {}) }),
    id: createHash('sha256').update(key).digest('base64url'),
  };
  if (contexts.size >= CONTEXTS_KEPT) contexts.delete(contexts.keys().next().value!);
  contexts.set(key, made);
  return made;
}

/** Opens a connection; rejects with SIM_CONNECT_FAILED saying why (HTTP status, TLS failure…). */
export async function openLink(opts: LinkOptions): Promise<RPCClient> {
  const client = new RPCClient({
    identity: opts.id,
    endpoint: opts.url,
    protocols: [opts.subprotocol],
    password: opts.password ?? null,
    strictMode: true,
    strictModeValidators: [...opts.validators],
    reconnect: false,
    callTimeoutMs: opts.callTimeoutMs,
    pingIntervalMs: opts.pingIntervalMs,
    // A station gives up on a handshake that does not finish, as real ones do, and tries again later.
    wsOpts: { handshakeTimeout: CONNECT_TIMEOUT_MS, ...opts.wsOptions },
    // A CSMS that keeps sending garbage gets the socket closed, as a real station would.
    maxBadMessages: 50,
  } as unknown as ConstructorParameters<typeof RPCClient>[0]);
  // Thousands of simulated stations on one machine: each CALL without ocpp-rpc's per-call timers and errors.
  leanCalls(client);
  client.handle(((call: IHandlersOption) => opts.onCall(call.method ?? '', call.params)) as never);
  try {
    await client.connect();
  } catch (err) {
    throw connectFailure(opts.id, err);
  }
  if (client.protocol !== opts.subprotocol) {
    await client.close({ force: true });
    throw simErrors.SIM_CONNECT_FAILED(`station ${opts.id}: the CSMS did not accept subprotocol ${opts.subprotocol}`);
  }
  return client;
}

/** A connection that could not be made, saying why: the HTTP status that refused the upgrade, or the TLS or socket code. */
function connectFailure(stationId: string, err: unknown): EvguardError {
  const e = err as { code?: unknown; message?: string };
  const httpStatus = typeof e.code === 'number' ? e.code : undefined;
  const why = httpStatus ? `HTTP ${httpStatus} ${e.message ?? ''}`.trim() : (e.message ?? String(err));
  return simErrors.SIM_CONNECT_FAILED(`station ${stationId} could not connect: ${why}`, {
    cause: err,
    details: { httpStatus, tlsCode: typeof e.code === 'string' ? e.code : undefined },
  });
}

/** True for a failure caused by the socket going away rather than by an answer. */
export function isLinkLoss(err: unknown): boolean {
  return !isCallTimeout(err) && typeof (err as { rpcErrorCode?: unknown })?.rpcErrorCode !== 'string';
}

/** A CALLERROR, a timeout or a lost link, as one coded error. */
export function callFailure(action: string, err: unknown, timeoutMs: number): EvguardError {
  const rpc = err as { rpcErrorCode?: string; message?: string; details?: unknown };
  if (isCallTimeout(err)) {
    return simErrors.SIM_CALL_FAILED(`${action}: no answer within ${timeoutMs} ms`, { cause: err, details: { rpcErrorCode: 'Timeout' } });
  }
  if (typeof rpc?.rpcErrorCode === 'string') {
    return simErrors.SIM_CALL_FAILED(`${action}: ${rpc.rpcErrorCode} ${rpc.message ?? ''}`.trim(), {
      cause: err,
      details: { rpcErrorCode: rpc.rpcErrorCode, errorDetails: rpc.details },
    });
  }
  return simErrors.SIM_OFFLINE(`${action}: the connection was lost`, { cause: err });
}

/**
 * Sends a CALL without schema checks and waits for its answer, for probes
 * that must put invalid OCPP on the wire. ocpp-rpc does not know the message
 * id, so the answer is matched here from the raw inbound frames.
 */
export function callUnchecked(client: RPCClient, action: string, payload: unknown, timeoutMs: number): Promise<unknown> {
  const messageId = randomUUID();
  return new Promise((resolve, reject) => {
    const onMessage = ({ message, outbound }: { message: string; outbound: boolean }) => {
      if (outbound) return;
      let frame: unknown;
      try {
        frame = JSON.parse(message);
      } catch {
        return;
      }
      if (!Array.isArray(frame) || frame[1] !== messageId) return;
      finish();
      if (frame[0] === 3) resolve(frame[2]);
      else if (frame[0] === 4) {
        reject(simErrors.SIM_CALL_FAILED(`${action}: ${String(frame[2])} ${String(frame[3] ?? '')}`.trim(), {
          details: { rpcErrorCode: String(frame[2]), errorDetails: frame[4] },
        }));
      }
    };
    const onClose = () => {
      finish();
      reject(simErrors.SIM_OFFLINE(`${action}: the connection was lost`));
    };
    const timer = setTimeout(() => {
      finish();
      reject(simErrors.SIM_CALL_FAILED(`${action}: no answer within ${timeoutMs} ms`, { details: { rpcErrorCode: 'Timeout' } }));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      client.off('message', onMessage);
      client.off('close', onClose);
    };
    client.on('message', onMessage);
    client.once('close', onClose);
    try {
      client.sendRaw(JSON.stringify([2, messageId, action, payload]));
    } catch (err) {
      finish();
      reject(simErrors.SIM_OFFLINE(`${action}: the connection is not open`, { cause: err }));
    }
  });
}
