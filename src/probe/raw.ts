/**
 * A bare WebSocket client over net/tls for what the ws library will not do:
 * keep sending after the peer's Close frame. It speaks just enough RFC 6455
 * (client frames masked, server frames read whole) for one check.
 */
import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';

export interface RawSocket {
  /** Sends one frame: text (1), binary (2), close (8); masked as a client must. */
  send(opcode: number, payload: Buffer | string): boolean;
  /** The next frame from the target, or undefined when the socket ended or the wait ran out. */
  next(timeoutMs: number): Promise<{ opcode: number; payload: Buffer } | undefined>;
  readonly ended: boolean;
  destroy(): void;
}

export interface RawUpgrade {
  host: string;
  port: number;
  secure: boolean;
  path: string;
  protocols: string[];
  authorization?: string;
  ca?: string[];
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
  timeoutMs: number;
}

export function rawConnect(o: RawUpgrade): Promise<{ ok: true; socket: RawSocket } | { ok: false; error: string; status?: number }> {
  return new Promise((resolve) => {
    const socket: net.Socket = o.secure
      ? tls.connect({ host: o.host, port: o.port, servername: net.isIP(o.host) ? undefined : o.host, ca: o.ca, cert: o.cert, key: o.key, rejectUnauthorized: o.rejectUnauthorized })
      : net.connect({ host: o.host, port: o.port });
    let buf = Buffer.alloc(0);
    let upgraded = false;
    let ended = false;
    const frames: { opcode: number; payload: Buffer }[] = [];
    const waiters: (() => void)[] = [];
    const wake = () => waiters.splice(0).forEach((w) => w());
    const timer = setTimeout(() => finish({ ok: false, error: `no answer to the upgrade within ${o.timeoutMs} ms` }), o.timeoutMs);
    let settled = false;
    function finish(r: Awaited<ReturnType<typeof rawConnect>>) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!r.ok) socket.destroy();
      resolve(r);
    }
    socket.once(o.secure ? 'secureConnect' : 'connect', () => {
      const headers = [
        `GET ${o.path} HTTP/1.1`,
        `Host: ${o.host}:${o.port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13',
        ...(o.protocols.length ? [`Sec-WebSocket-Protocol: ${o.protocols.join(', ')}`] : []),
        ...(o.authorization ? [`Authorization: ${o.authorization}`] : []),
      ];
      socket.write(headers.join('\r\n') + '\r\n\r\n');
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(buf.subarray(0, end).toString('latin1'))?.[1] ?? 0);
        if (status !== 101) return finish({ ok: false, status, error: `HTTP ${status}` });
        upgraded = true;
        buf = buf.subarray(end + 4);
        finish({ ok: true, socket: raw });
      }
      // Server frames are unmasked: FIN/opcode, length (7, 16 or 64 bits), payload.
      for (;;) {
        if (buf.length < 2) break;
        let len = buf[1]! & 0x7f;
        let at = 2;
        if (len === 126) {
          if (buf.length < 4) break;
          len = buf.readUInt16BE(2);
          at = 4;
        } else if (len === 127) {
          if (buf.length < 10) break;
          len = Number(buf.readBigUInt64BE(2));
          at = 10;
        }
        if (buf.length < at + len) break;
        frames.push({ opcode: buf[0]! & 0x0f, payload: buf.subarray(at, at + len) });
        buf = buf.subarray(at + len);
      }
      wake();
    });
    const onEnd = () => {
      ended = true;
      wake();
      finish({ ok: false, error: 'the connection closed during the upgrade' });
    };
    socket.once('close', onEnd);
    socket.once('error', (err) => {
      ended = true;
      wake();
      finish({ ok: false, error: err.message });
    });
    const raw: RawSocket = {
      get ended() {
        return ended;
      },
      send(opcode, payload) {
        if (ended || socket.destroyed) return false;
        const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
        const mask = randomBytes(4);
        const head = data.length < 126 ? Buffer.from([0x80 | opcode, 0x80 | data.length]) : Buffer.from([0x80 | opcode, 0x80 | 126, data.length >> 8, data.length & 0xff]);
        const body = Buffer.from(data.map((b, i) => b ^ mask[i % 4]!));
        try {
          socket.write(Buffer.concat([head, mask, body]));
          return true;
        } catch {
          return false;
        }
      },
      async next(timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        while (!frames.length && !ended && Date.now() < deadline) {
          await new Promise<void>((r) => {
            const t = setTimeout(r, Math.max(1, deadline - Date.now()));
            waiters.push(() => {
              clearTimeout(t);
              r();
            });
          });
        }
        return frames.shift();
      },
      destroy: () => socket.destroy(),
    };
  });
}
