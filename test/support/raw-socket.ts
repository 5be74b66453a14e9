/**
 * A WebSocket peer below the `ws` library: the HTTP upgrade and every frame
 * written by hand over a plain TCP socket, so a test can send what no
 * well-behaved client would (frames after a Close, lying length headers,
 * invalid UTF-8, frames split across TCP writes) and see what the node does.
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';

export interface ServerFrame {
  opcode: number;
  payload: Buffer;
}

export interface RawSocket {
  socket: net.Socket;
  /** Frames received from the server, in order. */
  frames: ServerFrame[];
  /** Resolves with the next server frame of the opcode (any opcode when omitted). */
  nextFrame(opcode?: number, ms?: number): Promise<ServerFrame>;
  /** Writes a masked client frame; `declaredLength` lies about the payload length. */
  writeFrame(opcode: number, payload: Buffer | string, o?: { fin?: boolean; declaredLength?: number }): void;
  sendText(text: string): void;
  /** Resolves when the TCP connection has ended, with whether the server ended it. */
  closed: Promise<void>;
}

export const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** Encodes one client→server frame (always masked, as RFC 6455 §5.3 requires of clients). */
export function encodeFrame(opcode: number, payload: Buffer, o: { fin?: boolean; declaredLength?: number } = {}): Buffer {
  const len = o.declaredLength ?? payload.length;
  const head: number[] = [(o.fin === false ? 0 : 0x80) | opcode];
  if (len < 126) head.push(0x80 | len);
  else if (len < 65536) head.push(0x80 | 126, len >> 8, len & 0xff);
  else {
    head.push(0x80 | 127);
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(len));
    head.push(...b);
  }
  const mask = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= mask[i % 4]!;
  return Buffer.concat([Buffer.from(head), mask, body]);
}

export async function openRawSocket(url: string, o: { protocol?: string; user?: string; password?: string } = {}): Promise<RawSocket> {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const auth = o.user !== undefined ? `Authorization: Basic ${Buffer.from(`${o.user}:${o.password ?? ''}`).toString('base64')}\r\n` : '';
  socket.write(
    `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
      `Sec-WebSocket-Protocol: ${o.protocol ?? 'ocpp1.6'}\r\n${auth}\r\n`,
  );
  let buf = Buffer.alloc(0);
  const head = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const text = buf.subarray(0, end).toString('latin1');
      buf = buf.subarray(end + 4);
      resolve(text);
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('end', () => reject(new Error('connection ended during the upgrade')));
  });
  if (!/^HTTP\/1\.1 101/.test(head)) {
    socket.destroy();
    throw Object.assign(new Error(`upgrade refused: ${head.split('\r\n')[0]}`), { status: Number(head.split(' ')[1]) });
  }

  const frames: ServerFrame[] = [];
  const waiters: { opcode?: number; resolve: (f: ServerFrame) => void }[] = [];
  const deliver = (f: ServerFrame) => {
    const i = waiters.findIndex((w) => w.opcode === undefined || w.opcode === f.opcode);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(f);
    else frames.push(f);
  };
  const parse = () => {
    for (;;) {
      if (buf.length < 2) return;
      const opcode = buf[0]! & 0x0f;
      let len = buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      if (buf.length < off + len) return;
      deliver({ opcode, payload: buf.subarray(off, off + len) });
      buf = buf.subarray(off + len);
    }
  };
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    parse();
  });
  parse();
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));

  const raw: RawSocket = {
    socket,
    frames,
    closed,
    nextFrame(opcode, ms = 5000) {
      const i = frames.findIndex((f) => opcode === undefined || f.opcode === opcode);
      if (i >= 0) return Promise.resolve(frames.splice(i, 1)[0]!);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no frame (opcode ${opcode ?? 'any'}) within ${ms} ms`)), ms);
        waiters.push({ opcode, resolve: (f) => (clearTimeout(t), resolve(f)) });
      });
    },
    writeFrame(opcode, payload, fo) {
      if (!socket.destroyed) socket.write(encodeFrame(opcode, Buffer.from(payload), fo));
    },
    sendText(text) {
      raw.writeFrame(OP.text, text);
    },
  };
  return raw;
}
