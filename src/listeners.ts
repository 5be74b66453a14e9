/**
 * The node's listeners: plain HTTP (API, console, ws:// stations) and, unless
 * `tlsPort` is 0, HTTPS (wss:// stations with client certificates, TLS
 * session tickets from the store, OCSP stapling). Both hand WebSocket
 * upgrades to the gateway and requests to the API.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Trust } from './trust/index.js';
import { tlsOptions } from './tls.js';
import { refreshEvery } from './refresh.js';

/**
 * A connection that never finishes its request headers (or its WebSocket
 * upgrade request) is dropped after 10 s instead of Node's 60–90 s: slow or
 * half-open connections must not pile up. Node checks these every
 * `connectionsCheckingInterval`. A whole request gets 2 min: a 64 MiB firmware
 * image at 5 Mbit/s; a JSON body is at most 1 MiB, and an upload streams to
 * disk, so a slow sender holds a socket, not memory.
 */
const SERVER_TIMEOUTS = { headersTimeout: 10_000, requestTimeout: 120_000, connectionsCheckingInterval: 1_000 } as const;

/** The plain HTTP server; the API is built on it before it listens. */
export function createPlainServer(): Server {
  return createHttpServer({ noDelay: true, ...SERVER_TIMEOUTS });
}

export interface ListenDeps {
  config: Pick<Config, 'port' | 'tlsPort' | 'host'>;
  /** Bind to ephemeral ports (tests). */
  ephemeralPorts?: boolean;
  plain: Server;
  routing(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  trust: Pick<Trust, 'ticketKeys' | 'serverCredentials' | 'stationTrustAnchors' | 'stapledOcsp'>;
  log: Pick<Logger, 'warn'>;
  /** Each finished TLS handshake: whether the client resumed an earlier session (a ticket) or made a full one. */
  onTlsHandshake?(resumed: boolean): void;
}

export interface Listeners {
  readonly ports: { http: number; https?: number };
  /** Drops every connection and closes both servers. */
  close(): Promise<void>;
}

export async function listenAll(deps: ListenDeps): Promise<Listeners> {
  const { config, trust, log } = deps;
  deps.plain.on('upgrade', deps.upgrade);
  await listen(deps.plain, deps.ephemeralPorts ? 0 : config.port, config.host);

  let https: HttpsServer | undefined;
  let stopTicketRotation = () => {};
  if (config.tlsPort !== 0) {
    // Ticket keys from the store: a station resumes its TLS session across restarts and nodes.
    const tickets = { ticketKeys: await trust.ticketKeys.current(), sessionTimeout: trust.ticketKeys.lifetimeS };
    const server = createHttpsServer({ ...tlsOptions(trust.serverCredentials(), trust.stationTrustAnchors()), ...tickets, ...SERVER_TIMEOUTS, handshakeTimeout: 10_000 });
    https = server;
    stopTicketRotation = refreshEvery(60_000, log, { ticketKeys: async () => server.setTicketKeys(await trust.ticketKeys.current()) });
    server.on('request', deps.routing);
    server.on('upgrade', deps.upgrade);
    server.on('tlsClientError', () => undefined);
    server.on('secureConnection', (socket: TLSSocket) => deps.onTlsHandshake?.(socket.isSessionReused()));
    // OCSP stapling: clients that ask get the node's own signed status for its certificate in the handshake.
    server.on('OCSPRequest', (cert: Buffer, issuer: Buffer, done: (err: Error | null, response?: Buffer) => void) => {
      if (!issuer) return done(null);
      trust.stapledOcsp(cert, issuer).then((der) => done(null, der), (err) => {
        log.warn({ err }, 'OCSP stapling failed');
        done(null);
      });
    });
    await listen(server, deps.ephemeralPorts ? 0 : config.tlsPort, config.host);
  }

  return {
    ports: { http: (deps.plain.address() as AddressInfo).port, https: https ? (https.address() as AddressInfo).port : undefined },
    async close() {
      stopTicketRotation();
      // Fastify only closes servers it listened on itself; these two are ours.
      for (const server of [deps.plain, https]) {
        if (!server) continue;
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      }
    },
  };
}

/** The host name this node is reached under: its first configured name, else the bind address (localhost for a wildcard). */
export function hostOf(config: Pick<Config, 'hostnames' | 'host'>): string {
  return config.hostnames[0] ?? (config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host);
}

/** Where relying parties fetch CRLs and OCSP: the configured public URL, else the plain port under the node's first name. */
export function publicUrlOf(config: Pick<Config, 'publicUrl' | 'hostnames' | 'host' | 'port'>): string {
  if (config.publicUrl) return config.publicUrl;
  const host = hostOf(config);
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}

function listen(server: Server | HttpsServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
