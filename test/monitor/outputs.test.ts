/** Syslog (RFC 5424 over UDP and TCP) and signed webhooks, against real listeners on loopback. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { signWebhook } from '../../src/monitor/index.js';
import { openHarness, station } from './harness.js';

// RFC 5424: <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]
const RFC5424 = /^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z) ([\x21-\x7e]{1,255}) ([\x21-\x7e]{1,48}) ([\x21-\x7e]{1,128}) ([\x21-\x7e]{1,32}) (\[.*\]) \uFEFF(.*)$/s;

test('syslog over UDP: one RFC 5424 datagram per alert with escaped structured data', async () => {
  const server = dgram.createSocket('udp4');
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
  const received = new Promise<string>((resolve) => server.once('message', (m) => resolve(m.toString('utf8'))));
  const h = await openHarness({ syslog: { host: '127.0.0.1', port: (server.address() as AddressInfo).port, protocol: 'udp' } });
  try {
    station(h, 'CS-"evil"]\\').event('TamperDetectionActivated');
    await h.monitor.settled();
    const line = await received;
    const m = RFC5424.exec(line);
    assert.ok(m, line);
    assert.equal(Number(m[1]), 10 * 8 + 2, 'authpriv, critical');
    assert.equal(m[6], 'alert.raised');
    assert.match(m[7]!, /^\[evguard@32473 id="[0-9a-f-]{36}" detector="tamper" severity="critical" state="open" count="1" station="CS-\\"evil\\"\\]\\\\"\]$/);
    assert.match(m[8]!, /^Physical tampering detected: /);
  } finally {
    await h.close();
    server.close();
  }
});

test('syslog over TCP: octet-counted frames, including the later state change', async () => {
  const chunks: Buffer[] = [];
  let gotTwo!: () => void;
  const two = new Promise<void>((r) => (gotTwo = r));
  const server = net.createServer((socket) => socket.on('data', (d: Buffer) => {
    chunks.push(d);
    if (frames(Buffer.concat(chunks)).length >= 2) gotTwo();
  }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const h = await openHarness({ syslog: { host: '127.0.0.1', port: (server.address() as AddressInfo).port, protocol: 'tcp' } });
  try {
    station(h, 'CS-1').event('SecurityLogWasCleared', 'line one\nline two');
    await h.monitor.settled();
    const [alert] = await h.monitor.listAlerts({});
    await h.monitor.acknowledge(alert!.id, 'olga');
    await two;
    const [first, second] = frames(Buffer.concat(chunks));
    assert.ok(RFC5424.test(first!), first);
    assert.match(first!, /^<83>1 /, 'authpriv, error for a high alert');
    assert.match(second!, / alert\.changed \[.*state="acknowledged"/);
  } finally {
    await h.close();
    server.close();
  }
});

function frames(buf: Buffer): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < buf.length) {
    const sp = buf.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number(buf.subarray(i, sp).toString('ascii'));
    if (sp + 1 + len > buf.length) break;
    out.push(buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
    i = sp + 1 + len;
  }
  return out;
}

test('webhooks: signed with HMAC-SHA256 over timestamp and body; low severity only when notify is configured', async () => {
  const deliveries: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body });
      res.writeHead(deliveries.length === 1 ? 503 : 204).end(); // the first delivery is retried
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=abc`;
  const h = await openHarness({ webhooks: [{ url, secret: 's3cret' }] });
  try {
    station(h, 'CS-1').event('MaintenanceLoginAccepted'); // low severity, default responses: not delivered
    station(h, 'CS-1').event('TamperDetectionActivated');
    await h.monitor.settled();
    assert.equal(deliveries.length, 2);
    const { headers, body } = deliveries[1]!;
    assert.equal(headers['x-evguard-signature'], signWebhook('s3cret', String(headers['x-evguard-timestamp']), body));
    const parsed = JSON.parse(body);
    assert.equal(parsed.topic, 'alert.raised');
    assert.equal(parsed.alert.detector, 'tamper');
    assert.notEqual(signWebhook('other', String(headers['x-evguard-timestamp']), body), headers['x-evguard-signature']);
  } finally {
    await h.close();
    server.close();
  }
});
