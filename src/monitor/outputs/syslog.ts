/**
 * Alerts to a SIEM as RFC 5424 syslog messages, over UDP (RFC 5426, one
 * message per datagram) or TCP (RFC 6587 octet counting, so a message may
 * carry any character without breaking framing).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import type { Alert } from '../alerts.js';

export interface SyslogConfig { host: string; port: number; protocol: 'udp' | 'tcp'; facility?: number; hostname?: string; appName?: string }

// RFC 5424 severities: 2 critical, 3 error, 4 warning, 5 notice.
const SEVERITY: Record<Alert['severity'], number> = { critical: 2, high: 3, medium: 4, low: 5 };
/** RFC 5612's enterprise number for documentation; replace with your own PEN if you have one. */
const SD_ID = 'evguard@32473';
const MAX_UDP = 2048;
const MAX_QUEUE = 1000;

/** Header fields are printable US-ASCII without spaces (RFC 5424 section 6); '-' is the nil value. */
function headerField(s: string | undefined, max: number): string {
  const clean = (s ?? '').replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return clean.length > 0 ? clean : '-';
}

/** SD-PARAM values escape '"', '\' and ']' (RFC 5424 section 6.3.3). */
function paramValue(v: unknown): string {
  return String(v).replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/["\\\]]/g, (c) => `\\${c}`).slice(0, 256);
}

export function formatSyslog(alert: Alert, topic: string, cfg: Pick<SyslogConfig, 'facility' | 'hostname' | 'appName'> = {}): string {
  const pri = (cfg.facility ?? 10) * 8 + SEVERITY[alert.severity];
  const params: [string, unknown][] = [['id', alert.id], ['detector', alert.detector], ['severity', alert.severity], ['state', alert.state], ['count', alert.count]];
  if (alert.stationId) params.push(['station', alert.stationId]);
  const sd = `[${SD_ID} ${params.map(([k, v]) => `${k}="${paramValue(v)}"`).join(' ')}]`;
  const text = `${alert.title}${alert.description ? `: ${alert.description}` : ''}`.replace(/[\u0000-\u001f\u007f]/g, ' ');
  const header = [`<${pri}>1`, alert.updatedAt, headerField(cfg.hostname ?? os.hostname(), 255), headerField(cfg.appName ?? 'evguard', 48), headerField(String(process.pid), 128), headerField(topic, 32)].join(' ');
  return `${header} ${sd} \uFEFF${text}`;
}

export interface SyslogSender { send(alert: Alert, topic: string): void; close(): Promise<void> }

export function createSyslogSender(cfg: SyslogConfig, log?: { warn(o: unknown, m: string): void }): SyslogSender {
  let udp: dgram.Socket | undefined;
  let tcp: net.Socket | undefined;
  let connected = false;
  let closed = false;
  const queue: Buffer[] = [];
  const warn = (err: unknown) => log?.warn({ err, host: cfg.host, port: cfg.port }, 'syslog delivery failed');

  function connect() {
    connected = false;
    const socket = net.connect({ host: cfg.host, port: cfg.port });
    tcp = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      connected = true;
      while (queue.length > 0) socket.write(queue.shift()!);
    });
    socket.on('error', warn);
    socket.on('close', () => {
      if (tcp === socket) tcp = undefined;
      connected = false;
    });
  }

  return {
    send(alert, topic) {
      if (closed) return;
      const message = Buffer.from(formatSyslog(alert, topic, cfg), 'utf8');
      if (cfg.protocol === 'udp') {
        udp ??= dgram.createSocket(net.isIPv6(cfg.host) ? 'udp6' : 'udp4').on('error', warn);
        const datagram = message.length > MAX_UDP ? message.subarray(0, MAX_UDP) : message;
        udp.send(datagram, cfg.port, cfg.host, (err) => err && warn(err));
        return;
      }
      const frame = Buffer.concat([Buffer.from(`${message.length} `, 'ascii'), message]);
      if (!tcp) connect();
      if (connected) tcp!.write(frame);
      else if (queue.length < MAX_QUEUE) queue.push(frame);
    },
    async close() {
      closed = true;
      udp?.close();
      udp = undefined;
      const socket = tcp;
      tcp = undefined;
      if (socket) await new Promise<void>((resolve) => socket.end(resolve));
    },
  };
}
