/**
 * A deliberately weak OCPP-J server for the probe's tests: it accepts any
 * credentials and any id, plain ws:// and TLS 1.0 with weak suites behind an
 * expired self-signed certificate for the wrong host, lets a newcomer replace
 * a live session, processes replays and unvalidated payloads, has no frame or
 * rate limits, treats stray CALLRESULTs as calls, and (optionally) has the
 * weaknesses real CSMSs showed: a crash on broken JSON, on a fast reconnect or
 * on a frame after its Close, transactions keyed by id alone, answers cached by
 * message id across stations or connections, a message channel that stalls
 * under invalid CALLs, and a station table that records unknown ids.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { webcrypto, createPrivateKey } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import * as x509 from '../../src/trust/x509.js';
import type { TargetObserver } from '../../src/probe/index.js';

export interface WeakServer {
  ws: string;
  wss: string;
  crashed(): boolean;
  /** Its own state read directly: the side channel a real target's API would be. */
  observer: TargetObserver;
  close(): Promise<void>;
}

export interface Weaknesses {
  /** "Crashes" (stops serving) on the first frame that is not JSON. */
  crashOnMalformed?: boolean;
  /** Transactions keyed by id alone (a foreign station ends the owner's), or by station and id as OCPP 2.0.1 intends. */
  transactions?: 'by-id' | 'by-station';
  /** Answers cached by message id across connections: by the id alone, or per station. */
  answerCache?: 'global' | 'per-station';
  /** Dies when one id reconnects within half a second (an unhandled rejection in its replacement path). */
  crashOnFastReconnect?: boolean;
  /**
   * From its first schema-invalid CALL its message channel stalls: nothing is answered any more, for
   * anyone. (At a later threshold the probe's Heartbeat, sent on another socket right behind the
   * flood, could be read before the threshold was reached, and the weakness would hide by chance.)
   */
  stallOnInvalidFlood?: boolean;
  /** Closes a connection after 3 broken frames, and dies when a frame arrives after that Close. */
  crashOnFrameAfterClose?: boolean;
  /** Refuses unknown ids (401) but writes each into its station table first. */
  recordUnknown?: boolean;
  /** Requires this Basic-auth password (401 otherwise) … */
  password?: string;
  /** … and answers 429 to everyone after this many failed logins (a per-address lock-out). */
  lockOutAfter?: number;
  /** Refuses every 1.6 StartTransaction (idTagInfo Invalid, transactionId 0). */
  refuseStart?: boolean;
}

async function expiredSelfSigned(): Promise<{ cert: string; key: string }> {
  x509.cryptoProvider.set(webcrypto as any);
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '0badc0de',
    name: 'CN=weak.example',
    notBefore: new Date('2020-01-01T00:00:00Z'),
    notAfter: new Date('2021-01-01T00:00:00Z'),
    keys,
    signingAlgorithm: alg,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { cert: cert.toString('pem'), key: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString() };
}

function answer(action: string): unknown {
  switch (action) {
    case 'BootNotification':
      return { status: 'Accepted', currentTime: new Date().toISOString(), interval: 300 };
    case 'Heartbeat':
      return { currentTime: new Date().toISOString() };
    case 'StartTransaction':
      return { transactionId: 4242, idTagInfo: { status: 'Accepted' } };
    case 'StopTransaction':
      return { idTagInfo: { status: 'Accepted' } };
    default:
      return {};
  }
}

export async function startWeakServer(o: Weaknesses = {}): Promise<WeakServer> {
  const { cert, key } = await expiredSelfSigned();
  const http: Server = createServer();
  const https: HttpsServer = createHttpsServer({ cert, key, minVersion: 'TLSv1', ciphers: 'ALL:@SECLEVEL=0' });
  // Picks whatever the client offered first, known or not.
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => [...offered][0] ?? false });
  const sessions = new Map<string, WebSocket>();
  let crashed = false;
  let stalled = false;
  let invalid = 0;
  const lastConnect = new Map<string, number>();
  const transactions = new Map<string, { owner: string; open: boolean; meter: number; events: number }>();
  const stations = new Set<string>(['EVGPROBE01', 'OTHER01']);
  const cache = new Map<string, unknown>();
  let failures = 0;
  const txKey = (station: string, id: string) => (o.transactions === 'by-station' ? `${station}/${id}` : id);

  /** What the weak server "does" with a CALL, weaknesses included. */
  function handle(station: string, action: string, payload: any): unknown {
    if (action === 'BootNotification' && typeof (payload?.chargingStation ?? payload)?.vendorName !== 'string' && typeof payload?.chargePointVendor !== 'string') {
      if (o.stallOnInvalidFlood && ++invalid >= 1) stalled = true;
    }
    const txId = String(payload?.transactionInfo?.transactionId ?? payload?.transactionId ?? '');
    if (action === 'StartTransaction' || (action === 'TransactionEvent' && payload?.eventType === 'Started')) {
      const id = action === 'StartTransaction' ? '4242' : txId;
      transactions.set(txKey(station, id), { owner: station, open: true, meter: 0, events: 1 });
    } else if (txId && (action === 'TransactionEvent' || action === 'StopTransaction' || action === 'MeterValues')) {
      const key = txKey(station, txId);
      const t = transactions.get(key) ?? { owner: station, open: true, meter: 0, events: 0 };
      t.events++;
      if (action === 'StopTransaction' || payload?.eventType === 'Ended') t.open = false;
      else t.meter++;
      transactions.set(key, t);
    }
    if (action === 'StartTransaction' && o.refuseStart) {
      transactions.delete(txKey(station, '4242'));
      return { transactionId: 0, idTagInfo: { status: 'Invalid' } };
    }
    return answer(action);
  }

  const crash = () => {
    crashed = true;
    for (const c of wss.clients) c.terminate();
    http.close();
    https.close();
    http.closeAllConnections();
    https.closeAllConnections();
  };

  wss.on('connection', (ws, req) => {
    const id = decodeURIComponent((req.url ?? '/').split('/').pop() ?? '');
    const now = Date.now();
    if (o.crashOnFastReconnect && now - (lastConnect.get(id) ?? 0) < 500) return crash();
    lastConnect.set(id, now);
    stations.add(id);
    sessions.get(id)?.close(1000, 'replaced');
    sessions.set(id, ws);
    let broken = 0;
    ws.on('message', (data) => {
      if (o.crashOnFrameAfterClose && ws.readyState === ws.CLOSING) return crash();
      if (stalled) return;
      let frame: any;
      try {
        frame = JSON.parse(String(data));
      } catch {
        if (o.crashOnMalformed) return crash();
        if (o.crashOnFrameAfterClose && ++broken >= 3) ws.close(1008, 'too many broken frames');
        return;
      }
      if (!Array.isArray(frame)) return;
      const key = o.answerCache === 'global' ? String(frame[1]) : `${id}/${frame[1]}`;
      if (frame[0] === 2 && o.answerCache && cache.has(key)) return ws.send(JSON.stringify([3, frame[1], cache.get(key)]));
      if (frame[0] === 2) {
        const result = handle(id, String(frame[2]), frame[3]);
        if (o.answerCache) cache.set(key, result);
        ws.send(JSON.stringify([3, frame[1], result]));
      } else ws.send(JSON.stringify([3, frame[1], {}]));
    });
    ws.on('error', () => undefined);
  });
  const upgrade = (req: any, socket: any, head: Buffer) => {
    const id = decodeURIComponent(String(req.url ?? '/').split('/').pop() ?? '');
    const refuse = (status: string) => socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    if (o.lockOutAfter !== undefined && failures >= o.lockOutAfter) return refuse('429 Too Many Requests');
    const given = Buffer.from(String(req.headers.authorization ?? '').replace(/^Basic /i, ''), 'base64').toString().split(':').slice(1).join(':');
    if (o.password !== undefined && given !== o.password) {
      failures++;
      return refuse('401 Unauthorized');
    }
    if (o.recordUnknown && !stations.has(id)) {
      stations.add(id);
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  };
  http.on('upgrade', upgrade);
  https.on('upgrade', upgrade);
  https.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', () => r()));
  return {
    ws: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ocpp`,
    wss: `wss://localhost:${(https.address() as AddressInfo).port}/ocpp`,
    crashed: () => crashed,
    observer: {
      name: 'the weak server\'s own state',
      async transactions(stationId) {
        return [...transactions.entries()]
          .filter(([, t]) => t.owner === stationId)
          .map(([key, t]) => ({ id: key.split('/').pop()!, stationId: t.owner, open: t.open, fingerprint: `${t.open ? 'open' : 'ended'}, meter ${t.meter}, ${t.events} event(s)` }))
          .reverse();
      },
      async stationKnown(stationId) {
        return stations.has(stationId);
      },
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      http.closeAllConnections();
      https.closeAllConnections();
      await Promise.all([new Promise((r) => http.close(r)), new Promise((r) => https.close(r))]);
    },
  };
}
