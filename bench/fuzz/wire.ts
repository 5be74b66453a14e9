/**
 * A WebSocket client written against the socket itself (RFC 6455 by hand),
 * for the fuzzer and the flood benchmark: it must be able to send what no
 * well-behaved library would — oversize length headers, invalid UTF-8 in
 * text frames, reserved opcodes and bits, unmasked or fragmented control
 * frames, frames after a Close, and any frame split across TCP writes.
 *
 * It reads what the node sends back only to count it (frames, CALLERRORs,
 * pings, the Close code); it never answers a Close or a ping by itself.
 */
import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';

export const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

export interface FrameSpec {
  opcode: number;
  payload?: Buffer | string;
  /** Default true. */
  fin?: boolean;
  /** RSV1..3 as bits 0b100, 0b010, 0b001; default 0. */
  rsv?: number;
  /** Client frames must be masked; default true. */
  mask?: boolean;
  /** Length written in the header when it should lie about the payload that follows. */
  declaredLength?: bigint | number;
  /** Force the 64-bit length form even for a short payload (non-minimal encoding). */
  longLength?: boolean;
}

/** Encodes one frame exactly as specified, lies included. */
export function encodeFrame(f: FrameSpec): Buffer {
  const payload = typeof f.payload === 'string' ? Buffer.from(f.payload) : (f.payload ?? Buffer.alloc(0));
  const declared = BigInt(f.declaredLength ?? payload.length);
  const mask = f.mask ?? true;
  let header: Buffer;
  if (declared < 126n && !f.longLength) {
    header = Buffer.alloc(2);
    header[1] = Number(declared);
  } else if (declared < 65536n && !f.longLength) {
    header = Buffer.alloc(4);
    header[1] = 126;
    header.writeUInt16BE(Number(declared), 2);
  } else {
    header = Buffer.alloc(10);
    header[1] = 127;
    header.writeBigUInt64BE(BigInt.asUintN(64, declared), 2);
  }
  header[0] = ((f.fin ?? true) ? 0x80 : 0) | (((f.rsv ?? 0) & 7) << 4) | (f.opcode & 0x0f);
  if (!mask) return Buffer.concat([header, payload]);
  header[1]! |= 0x80;
  const key = randomBytes(4);
  const masked = Buffer.allocUnsafe(payload.length);
  for (let i = 0; i < payload.length; i++) masked[i] = payload[i]! ^ key[i & 3]!;
  return Buffer.concat([header, key, masked]);
}

export interface Endpoint {
  host: string;
  port: number;
  /** wss:// (security profile 2): TLS to the node's listener. */
  tls: boolean;
}

export interface ConnectOptions extends Endpoint {
  stationId: string;
  subprotocol: string;
  password?: string;
  timeoutMs?: number;
  /** Loopback source address (127.x.y.z), so stations do not all share one address. */
  localAddress?: string;
}

export interface ReceivedCounts {
  frames: number;
  callErrors: number;
  callResults: number;
  calls: number;
  pings: number;
}

export class UpgradeRefused extends Error {
  constructor(readonly status: number) {
    super(`upgrade refused with HTTP ${status}`);
  }
}

/** One open WebSocket connection over a raw socket. */
export class WireConnection {
  /** Close code the node sent, once it did. */
  peerClose: number | undefined;
  /** The TCP connection is gone (either side). */
  ended = false;
  readonly received: ReceivedCounts = { frames: 0, callErrors: 0, callResults: 0, calls: 0, pings: 0 };
  private buffer: Buffer = Buffer.alloc(0);
  private endWaiters: (() => void)[] = [];

  constructor(readonly socket: net.Socket, rest: Buffer) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.feed(d));
    const end = () => {
      if (this.ended) return;
      this.ended = true;
      for (const w of this.endWaiters.splice(0)) w();
    };
    socket.on('close', end);
    socket.on('error', end);
    if (rest.length) this.feed(rest);
  }

  get open(): boolean {
    return !this.ended && this.peerClose === undefined && !this.socket.destroyed;
  }

  /** Writes bytes; resolves false if the socket is gone. Waits for drain, at most `drainMs`, so a reader that stopped reading (backpressure) stalls us instead of filling our memory. */
  async write(bytes: Buffer, drainMs = 10_000): Promise<boolean> {
    if (this.ended || this.socket.destroyed || !this.socket.writable) return false;
    const ok = this.socket.write(bytes);
    if (ok) return true;
    return this.drained(drainMs);
  }

  /** Waits until the socket's write buffer has drained; false (and the socket destroyed) if not within `ms`. */
  drained(ms: number): Promise<boolean> {
    if (this.socket.writableLength === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (v: boolean) => {
        clearTimeout(timer);
        this.socket.off('drain', onDrain);
        this.socket.off('close', onClose);
        resolve(v);
      };
      const onDrain = () => done(true);
      const onClose = () => done(false);
      const timer = setTimeout(() => {
        this.socket.destroy();
        done(false);
      }, ms);
      this.socket.once('drain', onDrain);
      this.socket.once('close', onClose);
    });
  }

  /** Resolves once the TCP connection is gone, or after `ms`. */
  closed(ms: number): Promise<boolean> {
    if (this.ended) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.endWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private feed(d: Buffer) {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, d]) : d;
    for (;;) {
      const b = this.buffer;
      if (b.length < 2) return;
      const opcode = b[0]! & 0x0f;
      let len = b[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      if (b[1]! & 0x80) off += 4; // a server must not mask, but skip the key if it does
      if (b.length < off + len) return;
      const payload = b.subarray(off, off + len);
      this.buffer = b.subarray(off + len);
      this.received.frames++;
      if (opcode === OP.close) this.peerClose = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      else if (opcode === OP.ping) this.received.pings++;
      else if (opcode === OP.text) {
        const text = payload.toString('utf8');
        // Cheap classification by prefix: the node writes `[4,`, `[3,` or `[2,` without spaces.
        if (text.startsWith('[4,')) this.received.callErrors++;
        else if (text.startsWith('[3,')) this.received.callResults++;
        else if (text.startsWith('[2,')) this.received.calls++;
      }
    }
  }
}

/** Opens a TCP (or TLS) connection and performs the WebSocket upgrade by hand. */
export function connectWire(o: ConnectOptions): Promise<WireConnection> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    // The node's certificate is generated by the node under test on first start; the fuzzer attacks the node, not the TLS trust path.
    const socket: net.Socket = o.tls
      ? tls.connect({ host: o.host, port: o.port, servername: 'localhost', rejectUnauthorized: false, ...(o.localAddress ? { localAddress: o.localAddress } : {}) } as tls.ConnectionOptions)
      : net.connect({ host: o.host, port: o.port, ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
    let head: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new Error('upgrade timed out')), timeoutMs);
    function fail(err: Error) {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.destroy();
      reject(err);
    }
    socket.once('error', fail);
    socket.once('close', () => fail(new Error('connection closed during the upgrade')));
    socket.once(o.tls ? 'secureConnect' : 'connect', () => {
      const auth = o.password !== undefined ? `Authorization: Basic ${Buffer.from(`${o.stationId}:${o.password}`).toString('base64')}\r\n` : '';
      socket.write(
        `GET /ocpp/${encodeURIComponent(o.stationId)} HTTP/1.1\r\nHost: ${o.host}:${o.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${o.subprotocol}\r\n${auth}\r\n`,
      );
    });
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 16_384) fail(new Error('upgrade response headers too long'));
        return;
      }
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      if (status !== 101) return fail(new UpgradeRefused(status));
      clearTimeout(timer);
      socket.off('data', onData);
      socket.removeAllListeners('error');
      socket.removeAllListeners('close');
      resolve(new WireConnection(socket, head.subarray(end + 4)));
    };
    socket.on('data', onData);
  });
}
