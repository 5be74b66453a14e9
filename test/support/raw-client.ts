/**
 * A deliberately thin OCPP-J client over `ws` for tests that need to send
 * exactly the bytes they mean, malformed ones included.
 */
import WebSocket from 'ws';

export interface RawOptions {
  protocol?: string | string[];
  user?: string;
  password?: string;
  ca?: string | string[];
  cert?: string;
  key?: string;
  servername?: string;
  /** The raw answer to a CALL from the CSMS, or undefined to leave it unanswered (default: the generic answer below). */
  answer?: (call: any[]) => string | undefined;
}

export interface RawClient {
  ws: WebSocket;
  /** CALLs the CSMS sent to this client, answered with an empty (or Accepted) result. */
  incoming: any[][];
  /** Resolves with the next CALL of `action` from the CSMS. */
  waitForCall(action: string, timeoutMs?: number): Promise<any[]>;
  protocol: string;
  /** Sends a text frame and resolves with the next frame received. */
  send(text: string): Promise<any[]>;
  call(action: string, payload: unknown, id?: string): Promise<any[]>;
  next(): Promise<any[]>;
  close(): Promise<void>;
}

export function connectRaw(url: string, o: RawOptions = {}): Promise<RawClient> {
  const headers: Record<string, string> = {};
  if (o.user !== undefined) headers.authorization = 'Basic ' + Buffer.from(`${o.user}:${o.password ?? ''}`).toString('base64');
  const ws = new WebSocket(url, o.protocol ?? 'ocpp2.0.1', { headers, ca: o.ca, cert: o.cert, key: o.key, handshakeTimeout: 5000, ...(o.servername ? { servername: o.servername } : {}) } as WebSocket.ClientOptions);
  const queue: any[][] = [];
  const incoming: any[][] = [];
  const callWaiters: { action: string; resolve: (f: any[]) => void }[] = [];
  const waiters: ((f: any[]) => void)[] = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data));
    // Answer the CSMS's own CALLs generically so they never block a test.
    if (frame[0] === 2) {
      incoming.push(frame);
      const answer = o.answer ? o.answer(frame) : JSON.stringify([3, frame[1], ['CertificateSigned', 'ChangeAvailability', 'Reset', 'TriggerMessage', 'ExtendedTriggerMessage'].includes(frame[2]) ? { status: 'Accepted' } : {}]);
      if (answer !== undefined) ws.send(answer);
      const i = callWaiters.findIndex((w) => w.action === frame[2]);
      if (i >= 0) callWaiters.splice(i, 1)[0]!.resolve(frame);
      return;
    }
    const w = waiters.shift();
    if (w) w(frame);
    else queue.push(frame);
  });
  const next = () =>
    new Promise<any[]>((resolve, reject) => {
      const f = queue.shift();
      if (f) return resolve(f);
      const t = setTimeout(() => reject(new Error('no frame within 5 s')), 5000);
      waiters.push((frame) => {
        clearTimeout(t);
        resolve(frame);
      });
    });
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
    ws.once('open', () => {
      let n = 0;
      resolve({
        ws,
        incoming,
        waitForCall(action, timeoutMs = 5000) {
          const seen = incoming.find((f) => f[2] === action);
          if (seen) return Promise.resolve(seen);
          return new Promise((res, rej) => {
            const t = setTimeout(() => rej(new Error(`no ${action} from the CSMS within ${timeoutMs} ms`)), timeoutMs);
            callWaiters.push({ action, resolve: (f) => (clearTimeout(t), res(f)) });
          });
        },
        protocol: ws.protocol,
        next,
        send(text) {
          ws.send(text);
          return next();
        },
        call(action, payload, id = `t${++n}-${Math.random().toString(36).slice(2)}`) {
          ws.send(JSON.stringify([2, id, action, payload]));
          return next();
        },
        close: () =>
          new Promise((r) => {
            if (ws.readyState === WebSocket.CLOSED) return r();
            ws.once('close', () => r());
            ws.close();
          }),
      });
    });
  });
}

/** Expects the upgrade to be refused and returns the HTTP status. */
export async function refusedStatus(url: string, o: RawOptions = {}): Promise<number> {
  try {
    const c = await connectRaw(url, o);
    await c.close();
    return 101;
  } catch (err) {
    return (err as { status?: number }).status ?? -1;
  }
}

export const boot = {
  '1.6': { chargePointVendor: 'Acme', chargePointModel: 'AC-22', firmwareVersion: '1.0.0' },
  '2.0.1': { reason: 'PowerUp', chargingStation: { vendorName: 'Acme', model: 'AC-22', firmwareVersion: '1.0.0' } },
  '2.1': { reason: 'PowerUp', chargingStation: { vendorName: 'Acme', model: 'AC-22', firmwareVersion: '1.0.0' } },
} as const;
