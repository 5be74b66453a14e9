/** Aggressive checks: message bursts and half-open requests, each bounded in count and time. */
import net from 'node:net';
import tls from 'node:tls';
import { isIp } from '../context.js';
import { callErrorCode, isCallResult } from '../wire.js';
import { fail, inconclusive, pass, type Check } from './check.js';

export const loadChecks: Check[] = [
  {
    spec: {
      id: 'DOS-001',
      needs: ['session'],
      title: 'No rate limiting of CALLs',
      severity: 'medium',
      aggressive: true,
      basis: 'NISTIR 8473 (availability and resilience against flooding); ENCS EV charging security requirements (rate limiting of communication); OWASP API Security Top 10 API4:2023',
      description: 'Sends a burst of Heartbeat CALLs (--max-messages, default 300) on one session without waiting, then counts answers.',
      remedy: 'Limit CALLs per station (token bucket); answer the excess with a CALLERROR and close persistent offenders.',
    },
    async run(ctx) {
      const s = await ctx.session();
      if (!s.ok) return inconclusive(`could not open a session: ${s.error}`);
      const n = ctx.opts.maxMessages;
      let results = 0;
      let errors = 0;
      const codes = new Set<string>();
      for (let i = 0; i < n; i++) s.conn.send(JSON.stringify([2, s.conn.newId(), 'Heartbeat', {}]));
      const deadline = Date.now() + Math.max(ctx.opts.timeoutMs * 2, 5000);
      while (results + errors < n && Date.now() < deadline) {
        const w = await s.conn.next(Math.max(1, deadline - Date.now()));
        if (w.kind !== 'frame') break;
        if (isCallResult(w)) results++;
        else if (callErrorCode(w)) {
          errors++;
          codes.add(callErrorCode(w)!);
        }
      }
      const closed = s.conn.closed;
      await s.conn.close();
      const evidence = [`${n} Heartbeats sent back to back: ${results} CALLRESULT, ${errors} CALLERROR${codes.size ? ` (${[...codes].join(', ')})` : ''}${closed ? `, connection closed (${closed.code})` : ''}`];
      if (errors > 0 || closed) return pass(...evidence);
      if (results === n) return fail(...evidence, 'every message was processed');
      return inconclusive(...evidence, 'the burst was neither fully answered nor refused in time');
    },
  },
  {
    spec: {
      id: 'DOS-002',
      title: 'Slow or half-open connection held',
      severity: 'low',
      aggressive: true,
      basis: 'NISTIR 8473 (availability); CWE-400 / slow HTTP headers (Slowloris); RFC 9110 §9 (servers may time out idle requests)',
      description: 'Opens a connection, sends an incomplete HTTP upgrade request and waits (--slow-seconds, default 20) for the target to drop it.',
      remedy: 'Time out incomplete requests and handshakes after a few seconds (HTTP headers timeout, TLS handshake timeout) and cap connections per address.',
    },
    async run(ctx) {
      const seconds = ctx.opts.slowSeconds;
      const started = Date.now();
      const outcome = await new Promise<{ closedAfterMs?: number; error?: string }>((resolve) => {
        const onReady = () => socket.write(`GET ${ctx.path}/${encodeURIComponent(ctx.opts.stationId)} HTTP/1.1\r\nHost: ${ctx.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`);
        const socket: net.Socket = ctx.secure
          ? tls.connect({ host: ctx.host, port: ctx.port, servername: isIp(ctx.host) ? undefined : ctx.host, rejectUnauthorized: false }, onReady)
          : net.connect({ host: ctx.host, port: ctx.port }, onReady);
        const timer = setTimeout(() => {
          socket.destroy();
          resolve({});
        }, seconds * 1000);
        socket.on('data', () => undefined);
        socket.once('error', (err: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          // A reset is the target dropping the request, which is what we want to see.
          resolve(err.code === 'ECONNRESET' || err.code === 'EPIPE' ? { closedAfterMs: Date.now() - started } : { error: err.message });
        });
        socket.once('close', () => {
          clearTimeout(timer);
          resolve({ closedAfterMs: Date.now() - started });
        });
      });
      if (outcome.error && outcome.closedAfterMs === undefined) return inconclusive(`connection failed: ${outcome.error}`);
      if (outcome.closedAfterMs !== undefined) return pass(`incomplete upgrade request dropped by the target after ${(outcome.closedAfterMs / 1000).toFixed(1)} s`);
      return fail(`incomplete upgrade request still held after ${seconds} s (the probe's bound)`);
    },
  },
];
