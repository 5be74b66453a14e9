/**
 * What every check gets: the options, ways to dial the target as the probe
 * station (or as someone else), an authenticated and booted session, and the
 * target's TLS facts, read once.
 */
import tls from 'node:tls';
import type { OcppVersion, ProbeOptions } from './types.js';
import { dial, payloads, stationUrl, SUBPROTOCOL_OF, type Conn, type DialOptions, type DialResult } from './wire.js';

export interface ServerTlsFacts {
  protocol: string | null;
  cipher: string;
  authorized: boolean;
  authorizationError?: string;
  certificate?: tls.PeerCertificate;
}

export type SessionResult = { ok: true; conn: Conn; version: OcppVersion; bootStatus: string } | { ok: false; error: string; status?: number };

/**
 * alive: a fresh session answered a Heartbeat. refused: the target answered
 * the upgrade with an HTTP status (401, 403, 429…): up, but not letting the
 * probe station in. dead: no answer, a reset, or a session that does not answer.
 */
export interface LivenessRecord {
  after: string;
  state: 'alive' | 'refused' | 'dead';
  status?: number;
  detail: string;
}

export interface ProbeContext {
  readonly opts: ProbeOptions;
  readonly secure: boolean;
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly offered: string[];
  url(stationId?: string): string;
  /** Dials as the probe station (its credentials) unless overridden. */
  dial(over?: Partial<DialOptions> & { stationId?: string }): Promise<DialResult>;
  /** Dial as the probe station and send BootNotification; the caller closes it. */
  session(as?: { stationId: string; password?: string }): Promise<SessionResult>;
  serverTls(): Promise<ServerTlsFacts | { error: string }>;
  note(text: string): void;
  /** A malformed, oversized or unexpected frame was sent in this run (what MSG-006 judges after). */
  malformedSent: boolean;
  /** Was the target alive (fresh session and Heartbeat) after each check run so far? */
  readonly liveness: LivenessRecord[];
  /** Connections opened by checks, closed by the runner if a check forgets. */
  track(conn: Conn): Conn;
}

export function createContext(opts: ProbeOptions, notes: string[]): ProbeContext & { closeAll(): Promise<void>; negotiated?: string } {
  const u = new URL(opts.url);
  const secure = u.protocol === 'wss:';
  const port = Number(u.port || (secure ? 443 : 80));
  const offered = opts.ocppVersion ? [SUBPROTOCOL_OF[opts.ocppVersion]] : ['ocpp2.0.1', 'ocpp2.1', 'ocpp1.6'];
  const open = new Set<Conn>();
  let tlsFacts: Promise<ServerTlsFacts | { error: string }> | undefined;

  const ctx = {
    opts,
    secure,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    path: u.pathname,
    offered,
    negotiated: undefined as string | undefined,
    malformedSent: false,
    liveness: [] as LivenessRecord[],
    url: (id = opts.stationId) => stationUrl(opts.url, id),
    async dial(over: Partial<DialOptions> & { stationId?: string } = {}) {
      const { stationId, ...rest } = over;
      const creds = opts.password !== undefined ? { user: opts.user ?? opts.stationId, password: opts.password } : {};
      const r = await dial({
        url: stationUrl(opts.url, stationId ?? opts.stationId),
        protocols: offered,
        ...creds,
        cert: opts.cert,
        key: opts.key,
        ca: opts.ca,
        rejectUnauthorized: !opts.insecure,
        timeoutMs: opts.timeoutMs,
        ...rest,
      });
      if (r.ok) open.add(r.conn);
      return r;
    },
    async session(as?: { stationId: string; password?: string }): Promise<SessionResult> {
      const over = as ? { stationId: as.stationId, user: as.stationId, password: as.password } : {};
      const r = await ctx.dial(over);
      if (!r.ok) return { ok: false as const, error: r.error, status: r.status };
      const version: OcppVersion = r.conn.version ?? opts.ocppVersion ?? '2.0.1';
      ctx.negotiated ??= r.conn.protocol || undefined;
      const [action, payload] = payloads.boot(version);
      const w = await r.conn.call(action, payload);
      let bootStatus = 'no answer';
      if (w.kind === 'frame' && Array.isArray(w.frame.json) && w.frame.json[0] === 3) bootStatus = String((w.frame.json[2] as any)?.status ?? 'unknown');
      else if (w.kind === 'frame') bootStatus = `CALLERROR ${String((w.frame.json as any)?.[2])}`;
      else if (w.kind === 'closed') return { ok: false as const, error: `closed after BootNotification (${w.code})` };
      return { ok: true as const, conn: r.conn, version, bootStatus };
    },
    serverTls() {
      tlsFacts ??= readServerTls(ctx.host, port, opts);
      return tlsFacts;
    },
    note: (text: string) => notes.push(text),
    track(conn: Conn) {
      open.add(conn);
      return conn;
    },
    async closeAll() {
      await Promise.all([...open].map((c) => c.close()));
      open.clear();
    },
  };
  return ctx;
}

function readServerTls(host: string, port: number, opts: ProbeOptions): Promise<ServerTlsFacts | { error: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, servername: isIp(host) ? undefined : host, ca: opts.ca, rejectUnauthorized: false, timeout: opts.timeoutMs });
    const fail = (error: string) => {
      socket.destroy();
      resolve({ error });
    };
    socket.once('timeout', () => fail('TLS handshake timed out'));
    socket.once('error', (err) => fail(err.message));
    socket.once('secureConnect', () => {
      const facts: ServerTlsFacts = {
        protocol: socket.getProtocol(),
        cipher: socket.getCipher()?.name ?? '',
        authorized: socket.authorized,
        authorizationError: socket.authorizationError ? String(socket.authorizationError) : undefined,
        certificate: socket.getPeerCertificate(true),
      };
      socket.destroy();
      resolve(facts);
    });
  });
}

export function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
