/**
 * Transport defaults as a remote peer sees them (a client in its own network
 * namespace): on the plain port only /healthz, CRL/OCSP and ws:// OCPP; the
 * API, console and metrics answer loopback clients only unless --plain-api;
 * HSTS and no-store over HTTPS; the node's own certificates carry CRL and
 * OCSP locations, the ECDSA one no keyEncipherment, and OCSP is stapled.
 */
import assert from 'node:assert/strict';
import { connect, type PeerCertificate } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as ocsp from '@peculiar/asn1-ocsp';
import * as x509 from '../../src/trust/x509.js';
import { startTestNode, type TestNode } from '../support/node.js';
import { createRemoteHost, type RemoteHost } from '../support/netns.js';

describe('transport defaults', { timeout: 120_000 }, () => {
  let node: TestNode;
  let remote: RemoteHost;
  let plainUrl: string;
  let ca: string[];

  before(async () => {
    remote = createRemoteHost();
    node = await startTestNode({ db: 'sqlite', config: { host: '0.0.0.0' } });
    plainUrl = `http://${remote.hostAddress}:${node.app.ports.http}`;
    ca = node.app.trust.listCas().map((c) => c.pem);
  });
  after(async () => {
    await node?.stop();
    remote?.close();
  });

  const auth = () => ({ authorization: `Bearer ${node.adminToken}` });

  test('a remote client gets no API, console, TAXII or metrics on the plain port', async () => {
    const api = await remote.fetch(`${plainUrl}/api/v1/stations`, { headers: auth() });
    assert.equal(api.status, 403, api.body);
    assert.equal(JSON.parse(api.body).error.code, 'HTTPS_REQUIRED');
    assert.match(JSON.parse(api.body).error.message, new RegExp(`https://${remote.hostAddress.replace(/\./g, '\\.')}:${node.app.ports.https}`));
    const post = await remote.fetch(`${plainUrl}/api/v1/tokens`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x', role: 'admin' }) });
    assert.equal(post.status, 403);
    for (const p of ['/metrics', '/taxii2/', '/api/v1/openapi.json']) assert.equal((await remote.fetch(plainUrl + p, { headers: auth() })).status, 403, p);
    // A browser asking for the console is sent to HTTPS.
    const console = await remote.fetch(`${plainUrl}/`);
    assert.equal(console.status, 308);
    assert.equal(console.headers.location, `https://${remote.hostAddress}:${node.app.ports.https}/`);
  });

  test('a remote client still gets /healthz, CRLs and OCSP, and ws:// OCPP (profile 1)', async () => {
    assert.equal((await remote.fetch(`${plainUrl}/healthz`)).status, 200);
    const crl = await remote.fetch(`${plainUrl}/pki/crl/server-ca.crl`);
    assert.equal(crl.status, 200);
    const created = await node.api('POST', '/api/v1/stations', { id: 'REMOTE1', securityProfile: 1, password: 'remote-station-password-1' });
    assert.equal(created.status, 201);
    const opened = await remote.run(`import WebSocket from 'ws';
      const ws = new WebSocket('ws://${remote.hostAddress}:${node.app.ports.http}/ocpp/REMOTE1', ['ocpp2.0.1'], { headers: { authorization: 'Basic ' + Buffer.from('REMOTE1:remote-station-password-1').toString('base64') } });
      ws.on('open', () => { console.log('open'); ws.close(); });
      ws.on('unexpected-response', (_q, r) => { console.log('refused ' + r.statusCode); process.exit(0); });
      ws.on('error', (e) => { console.log('error ' + e.message); });`);
    assert.match(opened, /open/);
  });

  test('loopback clients keep the README flows on the plain port; API answers are never cached', async () => {
    const res = await fetch(`${node.http}/api/v1/stations`, { headers: auth() });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('strict-transport-security'), null, 'HSTS is meaningless on plain HTTP');
    assert.equal((await fetch(`${node.http}/`)).status, 200);
  });

  test('HTTPS answers carry HSTS; a new token and a new station password come with no-store', async () => {
    const base = `https://localhost:${node.app.ports.https}`;
    const get = (p: string, method = 'GET', body?: unknown) => httpsRequest(`${base}${p}`, ca, method, { ...auth(), ...(body ? { 'content-type': 'application/json' } : {}) }, body);
    const me = await get('/api/v1/me');
    assert.equal(me.status, 200);
    assert.match(me.headers['strict-transport-security'] ?? '', /^max-age=31536000/);
    const token = await get('/api/v1/tokens', 'POST', { name: 'ops', role: 'operator' });
    assert.equal(token.status, 201);
    assert.equal(token.headers['cache-control'], 'no-store');
    const station = await get('/api/v1/stations', 'POST', { id: 'HTTPS1', securityProfile: 2 });
    assert.equal(station.status, 201);
    assert.ok(JSON.parse(station.body).password, 'a generated password is returned once');
    assert.equal(station.headers['cache-control'], 'no-store');
  });

  test('the ECDSA server certificate: no keyEncipherment, CRL and OCSP locations, OCSP stapled', async () => {
    const { cert, staple } = await handshake(node.app.ports.https!, ca);
    const parsed = new x509.X509Certificate(cert.raw);
    assert.equal(parsed.publicKey.algorithm.name, 'ECDSA');
    const usages = parsed.getExtension(x509.KeyUsagesExtension)!.usages;
    assert.equal(usages & x509.KeyUsageFlags.keyEncipherment, 0);
    assert.ok(usages & x509.KeyUsageFlags.digitalSignature);
    const crl = parsed.getExtension(x509.CRLDistributionPointsExtension);
    assert.match(JSON.stringify(crl?.distributionPoints), /\/pki\/crl\/server-ca\.crl/);
    const aia = parsed.getExtension(x509.AuthorityInfoAccessExtension);
    assert.match(aia!.ocsp.map((g) => g.value).join(), /\/pki\/ocsp$/);
    assert.ok(staple, 'the server staples an OCSP response');
    const response = AsnConvert.parse(staple, ocsp.OCSPResponse);
    assert.equal(response.responseStatus, ocsp.OCSPResponseStatus.successful);
    const basic = AsnConvert.parse(response.responseBytes!.response.buffer, ocsp.BasicOCSPResponse);
    const serialOf = (b: ArrayBuffer) => Buffer.from(b).toString('hex').replace(/^0+/, '');
    const single = basic.tbsResponseData.responses.find((r) => serialOf(r.certID.serialNumber) === parsed.serialNumber.toLowerCase().replace(/^0+/, ''));
    assert.ok(single, 'the stapled response covers the certificate the handshake used');
    assert.ok(single.certStatus.good !== undefined, 'status good');
    // The RSA certificate is covered as well.
    const rsa = await handshake(node.app.ports.https!, ca, 'ECDHE-RSA-AES128-GCM-SHA256');
    assert.ok(rsa.staple);
  });

  test('--plain-api serves the API to remote clients on the plain port (behind a TLS proxy)', async () => {
    const proxied = await startTestNode({ db: 'sqlite', config: { host: '0.0.0.0', plainApi: true } });
    try {
      const res = await remote.fetch(`http://${remote.hostAddress}:${proxied.app.ports.http}/api/v1/stations`, { headers: { authorization: `Bearer ${proxied.adminToken}` } });
      assert.equal(res.status, 200, res.body);
    } finally {
      await proxied.stop();
    }
  });
});

function httpsRequest(url: string, ca: string[], method: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return import('node:https').then(({ request }) => new Promise((resolve, reject) => {
    const req = request(url, { method, headers, ca }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers as Record<string, string>, body: text }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  }));
}

function handshake(port: number, ca: string[], ciphers = 'ECDHE-ECDSA-AES128-GCM-SHA256'): Promise<{ cert: PeerCertificate; staple?: Buffer }> {
  return new Promise((resolve, reject) => {
    let staple: Buffer | undefined;
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca, requestOCSP: true, maxVersion: 'TLSv1.2', ciphers });
    socket.on('OCSPResponse', (r) => (staple = r));
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve({ cert, staple });
    });
    socket.once('error', reject);
  });
}
