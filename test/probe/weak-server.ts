/**
 * A deliberately weak OCPP-J server for the probe's tests: it accepts any
 * credentials and any id, plain ws:// and TLS 1.0 with weak suites behind an
 * expired self-signed certificate for the wrong host, lets a newcomer replace
 * a live session, processes replays and unvalidated payloads, has no frame or
 * rate limits, treats stray CALLRESULTs as calls, and (optionally) "crashes"
 * (stops serving) on the first frame that is not JSON.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { webcrypto, createPrivateKey } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import * as x509 from '../../src/trust/x509.js';

export interface WeakServer {
  ws: string;
  wss: string;
  crashed(): boolean;
  close(): Promise<void>;
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

export async function startWeakServer(o: { crashOnMalformed?: boolean } = {}): Promise<WeakServer> {
  const { cert, key } = await expiredSelfSigned();
  const http: Server = createServer();
  const https: HttpsServer = createHttpsServer({ cert, key, minVersion: 'TLSv1', ciphers: 'ALL:@SECLEVEL=0' });
  // Picks whatever the client offered first, known or not.
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => [...offered][0] ?? false });
  const sessions = new Map<string, WebSocket>();
  let crashed = false;

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
    sessions.get(id)?.close(1000, 'replaced');
    sessions.set(id, ws);
    ws.on('message', (data) => {
      let frame: any;
      try {
        frame = JSON.parse(String(data));
      } catch {
        if (o.crashOnMalformed) return crash();
        return;
      }
      if (!Array.isArray(frame)) return;
      if (frame[0] === 2) ws.send(JSON.stringify([3, frame[1], answer(String(frame[2]))]));
      else ws.send(JSON.stringify([3, frame[1], {}]));
    });
    ws.on('error', () => undefined);
  });
  const upgrade = (req: any, socket: any, head: Buffer) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  http.on('upgrade', upgrade);
  https.on('upgrade', upgrade);
  https.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', () => r()));
  return {
    ws: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ocpp`,
    wss: `wss://localhost:${(https.address() as AddressInfo).port}/ocpp`,
    crashed: () => crashed,
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      http.closeAllConnections();
      https.closeAllConnections();
      await Promise.all([new Promise((r) => http.close(r)), new Promise((r) => https.close(r))]);
    },
  };
}
