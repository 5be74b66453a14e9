/**
 * OCPP security profiles 1–3 over real sockets and real TLS: accepted and
 * refused cases, downgrade, cipher suites, client certificates issued through
 * SignCertificate, and duplicate station ids.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { eventually, startTestNode, type TestNode } from '../support/node.js';
import { boot, connectRaw, refusedStatus } from '../support/raw-client.js';
import { stationCsr } from '../support/pki.js';

const PW = 'profile-password-00001';
let node: TestNode;
let ca: string[];

before(async () => {
  node = await startTestNode({ db: 'sqlite' });
  ca = node.app.trust.listCas().map((c) => c.pem);
  for (const [id, securityProfile] of [['P1', 1], ['P2', 2], ['DUP', 1], ['HALF', 1]] as const) {
    assert.equal((await node.api('POST', '/api/v1/stations', { id, securityProfile, password: PW })).status, 201);
  }
});
after(() => node.stop());

const events = async (id: string) => (await node.api('GET', `/api/v1/security-events?stationId=${id}`)).body as { type: string }[];
const port = () => node.app.ports.https!;
/** Security events are stored right after the refusal is answered. */
const sawEvent = (id: string, type: string) => eventually(`${type} for ${id}`, async () => (await events(id)).some((e) => e.type === type));

describe('security profile 1 (Basic auth over ws://)', () => {
  test('the right password is accepted', async () => {
    const c = await connectRaw(`${node.ws}/P1`, { user: 'P1', password: PW });
    assert.equal((await c.call('BootNotification', boot['2.0.1']))[2].status, 'Accepted');
    await c.close();
  });
  test('a wrong password, no credentials, another username and an unknown id are all 401', async () => {
    assert.equal(await refusedStatus(`${node.ws}/P1`, { user: 'P1', password: 'wrong-password-000000' }), 401);
    assert.equal(await refusedStatus(`${node.ws}/P1`), 401);
    assert.equal(await refusedStatus(`${node.ws}/P1`, { user: 'P2', password: PW }), 401);
    assert.equal(await refusedStatus(`${node.ws}/NOBODY`, { user: 'NOBODY', password: PW }), 401);
    await eventually('three InvalidStationCredentials for P1', async () => (await events('P1')).filter((e) => e.type === 'InvalidStationCredentials').length >= 3);
    await sawEvent('NOBODY', 'UnknownStation');
  });
  test('a malformed station id is refused before authentication', async () => {
    assert.equal(await refusedStatus(`${node.ws}/bad%3Aid`, { user: 'x', password: PW }), 400);
    assert.equal(await refusedStatus(`${node.ws}/${'A'.repeat(49)}`, { user: 'x', password: PW }), 400);
    assert.equal(await refusedStatus(`${node.ws}/%E0%A4%A`, { user: 'x', password: PW }), 400);
  });
});

describe('security profile 2 (TLS + Basic auth)', () => {
  test('wss:// with the right password is accepted', async () => {
    const c = await connectRaw(`${node.wss}/P2`, { user: 'P2', password: PW, ca });
    assert.equal((await c.call('Heartbeat', {}))[0], 3);
    await c.close();
  });
  test('a downgrade to ws:// is refused and recorded', async () => {
    assert.equal(await refusedStatus(`${node.ws}/P2`, { user: 'P2', password: PW }), 403);
    await sawEvent('P2', 'SecurityProfileDowngrade');
  });
  test('a wrong password over TLS is refused', async () => {
    assert.equal(await refusedStatus(`${node.wss}/P2`, { user: 'P2', password: 'wrong-password-000000', ca }), 401);
  });
  test('TLS below 1.2 is refused', async () => {
    await assert.rejects(handshake({ maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }));
  });
  test('weak cipher suites are refused', async () => {
    await assert.rejects(handshake({ maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA:DES-CBC3-SHA:ECDHE-RSA-AES128-SHA' }));
  });
  test('the four OCPP 2.0.1 TLS 1.2 suites are offered, with an ECDSA and an RSA certificate', async () => {
    for (const [cipher, keyType] of [
      ['ECDHE-ECDSA-AES128-GCM-SHA256', 'EC'],
      ['ECDHE-ECDSA-AES256-GCM-SHA384', 'EC'],
      ['AES128-GCM-SHA256', 'RSA'],
      ['AES256-GCM-SHA384', 'RSA'],
    ]) {
      const s = await handshake({ maxVersion: 'TLSv1.2', ciphers: cipher! });
      assert.equal(s.getCipher().standardName.includes('GCM'), true);
      const cert = s.getPeerCertificate();
      assert.equal(keyType === 'EC' ? Boolean(cert.asn1Curve || (cert as any).pubkey?.length === 65) : Boolean(cert.modulus), true, `${cipher} served a ${keyType} certificate`);
      s.destroy();
    }
  });
});

function handshake(o: tls.ConnectionOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: port(), servername: 'localhost', ca, ...o }, () => resolve(s));
    s.once('error', reject);
  });
}

describe('security profile 3 (mutual TLS)', () => {
  test('SignCertificate → CertificateSigned, then the move to profile 3 and mutual TLS', async () => {
    await node.api('POST', '/api/v1/stations', { id: 'P3', securityProfile: 2, password: PW });
    assert.equal((await node.api('PATCH', '/api/v1/stations/P3', { securityProfile: 3 })).status, 409, 'no certificate yet');
    const c = await connectRaw(`${node.wss}/P3`, { user: 'P3', password: PW, ca });
    const { csrPem, keyPem } = await stationCsr('P3', 'evguard');
    const res = await c.call('SignCertificate', { csr: csrPem, certificateType: 'ChargingStationCertificate' });
    assert.equal(res[2].status, 'Accepted');
    const signed = await c.waitForCall('CertificateSigned');
    const chain: string = signed[3].certificateChain;
    assert.match(chain, /BEGIN CERTIFICATE/);
    await c.close();

    assert.equal((await node.api('PATCH', '/api/v1/stations/P3', { securityProfile: 3 })).status, 200);
    const m = await connectRaw(`${node.wss}/P3`, { ca, cert: chain, key: keyPem });
    assert.equal((await m.call('Heartbeat', {}))[0], 3);
    assert.equal((await node.api('GET', '/api/v1/stations/P3')).body.securityProfile, 3);
    await m.close();

    // Without the certificate, or with a password instead, the station is refused.
    assert.equal(await refusedStatus(`${node.wss}/P3`, { user: 'P3', password: PW, ca }), 403);
    await sawEvent('P3', 'SecurityProfileDowngrade');

    // Station P3's valid certificate presented on another station's URL.
    await node.api('POST', '/api/v1/stations', { id: 'P3B', securityProfile: 3 });
    assert.equal(await refusedStatus(`${node.wss}/P3B`, { ca, cert: chain, key: keyPem }), 403);
    await sawEvent('P3B', 'ClientCertificateRejected');
  });
  test('a CSR with the wrong subject is not signed', async () => {
    await node.api('POST', '/api/v1/stations', { id: 'P3C', securityProfile: 2, password: PW });
    const c = await connectRaw(`${node.wss}/P3C`, { user: 'P3C', password: PW, ca });
    const { csrPem } = await stationCsr('SOMEONE-ELSE', 'evguard');
    assert.equal((await c.call('SignCertificate', { csr: csrPem }))[2].status, 'Accepted');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(c.incoming.filter((f) => f[2] === 'CertificateSigned').length, 0);
    await sawEvent('P3C', 'CsrRejected');
    await c.close();
  });
});

describe('duplicate station ids', () => {
  test('a second authenticated connection never replaces a live session', async () => {
    const first = await connectRaw(`${node.ws}/DUP`, { user: 'DUP', password: PW });
    assert.equal(await refusedStatus(`${node.ws}/DUP`, { user: 'DUP', password: PW }), 409);
    assert.equal(await refusedStatus(`${node.ws}/DUP`, { user: 'DUP', password: 'wrong-password-000000' }), 401);
    assert.equal((await first.call('Heartbeat', {}))[0], 3, 'the first session is untouched');
    await sawEvent('DUP', 'DuplicateIdentity');
    await first.close();
  });
  test('a half-open session (no pong) is replaced by the reconnecting station', async () => {
    const stale = await connectRaw(`${node.ws}/HALF`, { user: 'HALF', password: PW });
    // Stop reading: the old socket can no longer answer pings, as after a network loss.
    (stale.ws as any)._socket.pause();
    const fresh = await connectRaw(`${node.ws}/HALF`, { user: 'HALF', password: PW });
    assert.equal((await fresh.call('Heartbeat', {}))[0], 3);
    await fresh.close();
    stale.ws.terminate();
  });
});
