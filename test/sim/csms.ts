/**
 * A minimal CSMS for the simulator tests: a plain ocpp-rpc RPCServer in
 * strict mode (with the simulator's validators, which fix the 2.1 schema ids),
 * so anything the simulator sends that violates the OCA schemas fails the test.
 * It records every CALL it receives and answers with version-correct payloads.
 */
import { EventEmitter, once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { RPCServer } from 'ocpp-rpc';
import { createSimValidators } from '../../src/sim/index.js';

export interface Received {
  identity: string;
  protocol: string;
  method: string;
  params: any;
}

type Answer = (params: any, ctx: { identity: string; protocol: string; client: any }) => unknown;

export interface TestCsms {
  url: string;
  received: Received[];
  /** Schema violations the server saw in either direction; tests assert it stays empty. */
  violations: unknown[];
  clients: Map<string, any>;
  answer(method: string, fn: Answer): void;
  waitFor(predicate: (r: Received) => boolean): Promise<Received>;
  waitForClient(identity: string): Promise<any>;
  close(): Promise<void>;
}

export interface CsmsOptions {
  tls?: { cert: string; key: string; ca: string };
  /** When set, stations must present their password or a client certificate with CN = id. */
  passwords?: Record<string, string>;
}

export async function startCsms(opts: CsmsOptions = {}): Promise<TestCsms> {
  const server = new RPCServer({
    protocols: ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'],
    strictMode: true,
    strictModeValidators: createSimValidators(),
    pingIntervalMs: 0,
  } as never);
  const events = new EventEmitter();
  const received: Received[] = [];
  const violations: unknown[] = [];
  const clients = new Map<string, any>();
  let nextTx = 1;
  const answers = new Map<string, Answer>();
  const v16 = (protocol: string) => protocol === 'ocpp1.6';
  const now = () => new Date().toISOString();
  const defaults: Record<string, Answer> = {
    BootNotification: () => ({ status: 'Accepted', currentTime: now(), interval: 300 }),
    Heartbeat: () => ({ currentTime: now() }),
    StatusNotification: () => ({}),
    MeterValues: () => ({}),
    SecurityEventNotification: () => ({}),
    NotifyReport: () => ({}),
    FirmwareStatusNotification: () => ({}),
    LogStatusNotification: () => ({}),
    DiagnosticsStatusNotification: () => ({}),
    SignCertificate: () => ({ status: 'Accepted' }),
    Authorize: (params, { protocol }) => {
      const token = v16(protocol) ? params.idTag : params.idToken.idToken;
      const status = token === 'BLOCKED' ? 'Blocked' : 'Accepted';
      return v16(protocol) ? { idTagInfo: { status } } : { idTokenInfo: { status } };
    },
    StartTransaction: (params) => ({ transactionId: nextTx++, idTagInfo: { status: params.idTag === 'BLOCKED' ? 'Blocked' : 'Accepted' } }),
    StopTransaction: () => ({}),
    TransactionEvent: (params) => (params.eventType === 'Started'
      ? { idTokenInfo: { status: params.idToken?.idToken === 'BLOCKED' ? 'Blocked' : 'Accepted' } }
      : {}),
  };

  server.auth(((accept: (s?: unknown, p?: string) => void, reject: (code: number, msg: string) => void, handshake: any) => {
    const expected = opts.passwords?.[handshake.identity];
    if (!opts.passwords) return accept();
    if (handshake.password) {
      return expected !== undefined && Buffer.from(expected).equals(handshake.password) ? accept() : reject(401, 'Unauthorized');
    }
    const socket = handshake.request.socket as TLSSocket;
    if (socket.encrypted && socket.authorized && socket.getPeerCertificate().subject?.CN === handshake.identity) return accept();
    return reject(401, 'Unauthorized');
  }) as never);

  server.on('client', (client: any) => {
    clients.set(client.identity, client);
    events.emit('client', client);
    client.on('strictValidationFailure', (failure: unknown) => violations.push(failure));
    client.handle(async ({ method, params }: { method: string; params: any }) => {
      const record = { identity: client.identity, protocol: client.protocol, method, params };
      received.push(record);
      events.emit('received', record);
      const fn = answers.get(method) ?? defaults[method];
      if (!fn) throw new Error(`test CSMS has no answer for ${method}`);
      return fn(params, { identity: client.identity, protocol: client.protocol, client });
    });
  });

  let url: string;
  let https: Server | undefined;
  if (opts.tls) {
    https = createServer({ cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.ca, requestCert: true, rejectUnauthorized: false });
    https.on('upgrade', server.handleUpgrade);
    https.listen(0, '127.0.0.1');
    await once(https, 'listening');
    url = `wss://127.0.0.1:${(https.address() as AddressInfo).port}/ocpp`;
  } else {
    const http = await server.listen(0, '127.0.0.1');
    url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ocpp`;
  }

  return {
    url,
    received,
    violations,
    clients,
    answer: (method, fn) => void answers.set(method, fn),
    waitFor(predicate) {
      const hit = received.find(predicate);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve) => {
        const listener = (r: Received) => {
          if (!predicate(r)) return;
          events.off('received', listener);
          resolve(r);
        };
        events.on('received', listener);
      });
    },
    waitForClient(identity) {
      const known = clients.get(identity);
      if (known && known.state === 1) return Promise.resolve(known);
      return new Promise((resolve) => {
        const listener = (c: any) => {
          if (c.identity !== identity) return;
          events.off('client', listener);
          resolve(c);
        };
        events.on('client', listener);
      });
    },
    async close() {
      await server.close({ force: true });
      if (https) {
        https.closeAllConnections();
        await new Promise((r) => https!.close(r));
      }
    },
  };
}
