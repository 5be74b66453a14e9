/**
 * The probe's own OCPP-J client: a thin layer over `ws` that sends exactly
 * the bytes a check means (malformed ones included) and reads back whatever
 * the target answers, with every wait bounded.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { OcppVersion } from './types.js';

export const SUBPROTOCOL_OF: Record<OcppVersion, string> = { '1.6': 'ocpp1.6', '2.0.1': 'ocpp2.0.1', '2.1': 'ocpp2.1' };
const VERSION_OF: Record<string, OcppVersion> = { 'ocpp1.6': '1.6', 'ocpp2.0.1': '2.0.1', 'ocpp2.1': '2.1' };

export interface DialOptions {
  /** Full URL including the station id. */
  url: string;
  /** Subprotocols offered; an empty array offers none. */
  protocols: string[];
  user?: string;
  password?: string;
  cert?: string;
  key?: string;
  ca?: string[];
  rejectUnauthorized: boolean;
  timeoutMs: number;
  /** Headers sent as they are, e.g. a Sec-WebSocket-Protocol the ws library would not send. */
  extraHeaders?: Record<string, string>;
}

export type DialResult =
  | { ok: true; conn: Conn }
  | { ok: false; status?: number; error: string };

/** A frame as received: parsed JSON, or the raw text when it was not JSON. */
export type Frame = { json: unknown; text: string };

export type Wait = { kind: 'frame'; frame: Frame } | { kind: 'timeout' } | { kind: 'closed'; code: number; reason: string };

export function stationUrl(base: string, stationId: string): string {
  return base.replace(/\/+$/, '') + '/' + encodeURIComponent(stationId);
}

const MEANING: Record<number, string> = {
  400: 'the upgrade request was refused',
  401: 'credentials refused',
  403: 'forbidden',
  404: 'no such endpoint or station: is the URL the endpoint without the station id?',
  409: 'the station is already connected',
  429: 'locked out or rate limited',
  503: 'the target is unavailable',
};

/** "HTTP 429 Too Many Requests (locked out or rate limited)": what an upgrade refusal means, for evidence. */
export function httpRefusal(status: number, message?: string): string {
  const m = MEANING[status];
  return `HTTP ${status}${message ? ` ${message}` : ''}${m ? ` (${m})` : ''}`;
}

export function dial(o: DialOptions): Promise<DialResult> {
  const headers: Record<string, string> = { ...o.extraHeaders };
  if (o.user !== undefined || o.password !== undefined) {
    headers.authorization = 'Basic ' + Buffer.from(`${o.user ?? ''}:${o.password ?? ''}`).toString('base64');
  }
  return new Promise((resolve) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(o.url, o.protocols, {
        headers,
        ca: o.ca,
        cert: o.cert,
        key: o.key,
        rejectUnauthorized: o.rejectUnauthorized,
        handshakeTimeout: o.timeoutMs,
        perMessageDeflate: false,
        maxPayload: 16 * 1024 * 1024,
      });
    } catch (err) {
      return resolve({ ok: false, error: (err as Error).message });
    }
    let settled = false;
    const done = (r: DialResult) => {
      if (settled) return;
      settled = true;
      resolve(r);
    };
    const timer = setTimeout(() => {
      ws.terminate();
      done({ ok: false, error: `no answer to the upgrade within ${o.timeoutMs} ms` });
    }, o.timeoutMs + 500);
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      res.resume();
      done({ ok: false, status: res.statusCode, error: httpRefusal(res.statusCode ?? 0, res.statusMessage) });
      ws.terminate();
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      done({ ok: false, error: err.message });
    });
    ws.once('open', () => {
      clearTimeout(timer);
      if (settled) return ws.terminate();
      done({ ok: true, conn: new Conn(ws, o.timeoutMs) });
    });
  });
}

export class Conn {
  readonly ws: WebSocket;
  readonly protocol: string;
  readonly version: OcppVersion | undefined;
  readonly timeoutMs: number;
  /** CALLs the target sent us; answered generically so they never block a check. */
  readonly incoming: unknown[][] = [];
  closed?: { code: number; reason: string };
  #queue: Frame[] = [];
  #waiters: ((w: Wait) => void)[] = [];
  #n = 0;

  constructor(ws: WebSocket, timeoutMs: number) {
    this.ws = ws;
    this.protocol = ws.protocol;
    this.version = VERSION_OF[ws.protocol];
    this.timeoutMs = timeoutMs;
    ws.on('message', (data) => {
      const text = String(data);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (Array.isArray(json) && json[0] === 2 && typeof json[1] === 'string') {
        this.incoming.push(json);
        this.#trySend(JSON.stringify([3, json[1], answerFor(String(json[2]))]));
        return;
      }
      const frame = { json, text };
      const w = this.#waiters.shift();
      if (w) w({ kind: 'frame', frame });
      else this.#queue.push(frame);
    });
    ws.on('error', () => undefined);
    ws.once('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      for (const w of this.#waiters.splice(0)) w({ kind: 'closed', code, reason: String(reason) });
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  newId(): string {
    return `prb-${++this.#n}-${randomUUID().slice(0, 8)}`;
  }

  #trySend(text: string | Buffer, binary = false): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    try {
      this.ws.send(text, { binary });
      return true;
    } catch {
      return false;
    }
  }

  /** The next non-CALL frame, or a timeout, or the close. */
  next(timeoutMs = this.timeoutMs): Promise<Wait> {
    const f = this.#queue.shift();
    if (f) return Promise.resolve({ kind: 'frame', frame: f });
    if (this.closed) return Promise.resolve({ kind: 'closed', ...this.closed });
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve({ kind: 'timeout' });
      }, timeoutMs);
      const waiter = (w: Wait) => {
        clearTimeout(t);
        resolve(w);
      };
      this.#waiters.push(waiter);
    });
  }

  /** Sends text (or bytes as a binary frame) and waits for the next answer. */
  async exchange(data: string | Buffer, opts: { binary?: boolean; timeoutMs?: number } = {}): Promise<Wait> {
    if (!this.#trySend(data, opts.binary)) return { kind: 'closed', ...(this.closed ?? { code: 1006, reason: 'not open' }) };
    return this.next(opts.timeoutMs);
  }

  send(data: string): boolean {
    return this.#trySend(data);
  }

  call(action: string, payload: unknown, id = this.newId()): Promise<Wait> {
    return this.exchange(JSON.stringify([2, id, action, payload]));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      const t = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, 1000);
      this.ws.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      this.ws.close(1000);
    });
  }
}

function answerFor(action: string): unknown {
  return ['CertificateSigned', 'ChangeAvailability', 'Reset', 'TriggerMessage', 'ExtendedTriggerMessage', 'ChangeConfiguration', 'SetVariables'].includes(action)
    ? { status: 'Accepted' }
    : {};
}

/** Classifies an answer for evidence and verdicts. */
export function describe(w: Wait): string {
  if (w.kind === 'timeout') return 'no answer';
  if (w.kind === 'closed') return `connection closed (${w.code}${w.reason ? ' ' + w.reason.slice(0, 80) : ''})`;
  const j = w.frame.json;
  if (Array.isArray(j) && j[0] === 3) return `CALLRESULT ${JSON.stringify(j[2]).slice(0, 120)}`;
  if (Array.isArray(j) && j[0] === 4) return `CALLERROR ${String(j[2])} (id ${JSON.stringify(j[1]).slice(0, 40)})`;
  return `unexpected frame ${w.frame.text.slice(0, 120)}`;
}

export function isCallResult(w: Wait): boolean {
  return w.kind === 'frame' && Array.isArray(w.frame.json) && w.frame.json[0] === 3;
}

export function callErrorCode(w: Wait): string | undefined {
  if (w.kind !== 'frame' || !Array.isArray(w.frame.json) || w.frame.json[0] !== 4) return undefined;
  return String(w.frame.json[2]);
}

/** Payloads in each version's own vocabulary. */
export const payloads = {
  boot(v: OcppVersion) {
    return v === '1.6'
      ? ['BootNotification', { chargePointVendor: 'evguard', chargePointModel: 'probe', firmwareVersion: '0.1.0' }] as const
      : ['BootNotification', { reason: 'PowerUp', chargingStation: { vendorName: 'evguard', model: 'probe', firmwareVersion: '0.1.0' } }] as const;
  },
  status(v: OcppVersion) {
    return v === '1.6'
      ? ['StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' }] as const
      : ['StatusNotification', { timestamp: new Date().toISOString(), connectorStatus: 'Available', evseId: 1, connectorId: 1 }] as const;
  },
  txStart(v: OcppVersion, transactionId: string, idTag = 'PROBE0001') {
    const now = new Date().toISOString();
    return v === '1.6'
      ? ['StartTransaction', { connectorId: 1, idTag, meterStart: 0, timestamp: now }] as const
      : ['TransactionEvent', { eventType: 'Started', timestamp: now, triggerReason: 'Authorized', seqNo: 0, transactionInfo: { transactionId }, evse: { id: 1, connectorId: 1 } }] as const;
  },
  txUpdate(v: OcppVersion, transactionId: string) {
    const now = new Date().toISOString();
    return v === '1.6'
      ? ['MeterValues', { connectorId: 1, transactionId: Number(transactionId), meterValue: [{ timestamp: now, sampledValue: [{ value: '1' }] }] }] as const
      : ['TransactionEvent', { eventType: 'Updated', timestamp: now, triggerReason: 'MeterValuePeriodic', seqNo: 1, transactionInfo: { transactionId }, meterValue: [{ timestamp: now, sampledValue: [{ value: 1 }] }] }] as const;
  },
  txEnd(v: OcppVersion, transactionId: string) {
    const now = new Date().toISOString();
    return v === '1.6'
      ? ['StopTransaction', { transactionId: Number(transactionId), meterStop: 1, timestamp: now, reason: 'Other' }] as const
      : ['TransactionEvent', { eventType: 'Ended', timestamp: now, triggerReason: 'StopAuthorized', seqNo: 2, transactionInfo: { transactionId, stoppedReason: 'Other' } }] as const;
  },
};
