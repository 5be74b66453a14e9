import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSimStation } from '../../src/sim/index.js';
import { transportOptions } from '../../src/sim/link.js';
import { startCsms, type TestCsms } from './csms.js';
import { createCa, issueClient, issueServer, type TestCa } from './pki.js';

const PASSWORD = 'profile-two-password-0001';

describe('security profiles 2 and 3 over real TLS', () => {
  let ca: TestCa;
  let csms: TestCsms;
  before(async () => {
    ca = await createCa();
    const server = await issueServer(ca);
    csms = await startCsms({ tls: { ...server, ca: ca.certPem }, passwords: { 'TLS-P2': PASSWORD } });
  });
  after(() => csms.close());

  it('profile 2: Basic auth over TLS, server verified against the given CA', { timeout: 20_000 }, async () => {
    const station = createSimStation({ url: csms.url, id: 'TLS-P2', ocppVersion: '2.0.1', securityProfile: 2, password: PASSWORD, tls: { ca: ca.certPem } });
    try {
      assert.equal((await station.connect()).status, 'Accepted');
      const client = csms.clients.get('TLS-P2');
      assert.equal(client.handshake.request.socket.encrypted, true);
      assert.equal(client.handshake.password.toString(), PASSWORD);
    } finally {
      await station.close();
    }
  });

  it('a reconnecting station resumes its TLS session; after forgetTlsSession, or with resume: false, it makes a full handshake', { timeout: 30_000 }, async () => {
    const reused = async (station: ReturnType<typeof createSimStation>) => {
      station.goOffline();
      await station.reconnect();
      return csms.clients.get('TLS-P2').handshake.request.socket.isSessionReused() as boolean;
    };
    const station = createSimStation({ url: csms.url, id: 'TLS-P2', ocppVersion: '2.0.1', securityProfile: 2, password: PASSWORD, tls: { ca: ca.certPem } });
    try {
      await station.connect();
      assert.equal(csms.clients.get('TLS-P2').handshake.request.socket.isSessionReused(), false);
      // TLS 1.3 sends its tickets after the handshake: give them a moment to arrive.
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await reused(station), true, 'the second connection resumes');
      station.forgetTlsSession();
      assert.equal(await reused(station), false, 'a forgotten session is not offered');
    } finally {
      await station.close();
    }
    const never = createSimStation({ url: csms.url, id: 'TLS-P2', ocppVersion: '2.0.1', securityProfile: 2, password: PASSWORD, tls: { ca: ca.certPem, resume: false } });
    try {
      await never.connect();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await reused(never), false, 'resume: false never offers a session');
    } finally {
      await never.close();
    }
  });

  it('a station whose trust anchors change (a CSMS root installed) does not resume: the server is verified under the new anchors', { timeout: 30_000 }, async () => {
    const reused = async (station: ReturnType<typeof createSimStation>) => {
      station.goOffline();
      await station.reconnect();
      await new Promise((r) => setTimeout(r, 100));
      return csms.clients.get('TLS-P2').handshake.request.socket.isSessionReused() as boolean;
    };
    const station = createSimStation({ url: csms.url, id: 'TLS-P2', ocppVersion: '2.0.1', securityProfile: 2, password: PASSWORD, tls: { ca: ca.certPem } });
    try {
      await station.connect();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await reused(station), true, 'the second connection resumes');
      const root = (await createCa('another CSMS root')).certPem;
      assert.deepEqual(await csms.clients.get('TLS-P2').call('InstallCertificate', { certificateType: 'CSMSRootCertificate', certificate: root }), { status: 'Accepted' });
      assert.equal(await reused(station), false, 'a session made under other anchors is not offered');
      assert.equal(await reused(station), true, 'the new session is');
    } finally {
      await station.close();
    }
  });

  it('profile 2: a server certificate from an unknown CA is refused', { timeout: 20_000 }, async () => {
    const other = await createCa('some other CA');
    const station = createSimStation({ url: csms.url, id: 'TLS-P2', ocppVersion: '1.6', securityProfile: 2, password: PASSWORD, tls: { ca: other.certPem } });
    await assert.rejects(station.connect(), (err: any) => err.code === 'SIM_CONNECT_FAILED' && typeof err.details.tlsCode === 'string');
    assert.ok(!csms.received.some((r) => r.identity === 'TLS-P2' && r.protocol === 'ocpp1.6'));
    await station.close();
  });

  it('profile 3: mutual TLS with a client certificate, no password sent', { timeout: 20_000 }, async () => {
    const client = await issueClient(ca, 'TLS-P3');
    const station = createSimStation({ url: csms.url, id: 'TLS-P3', ocppVersion: '2.1', securityProfile: 3, password: 'not-sent-in-profile-3', tls: { ca: ca.certPem, ...client } });
    try {
      assert.equal((await station.connect()).status, 'Accepted');
      const server = csms.clients.get('TLS-P3');
      assert.equal(server.handshake.request.socket.authorized, true);
      assert.equal(server.handshake.password, undefined);
    } finally {
      await station.close();
    }
  });

  it('profile 3: a certificate for another station id is refused by the CSMS', { timeout: 20_000 }, async () => {
    const client = await issueClient(ca, 'SOMEONE-ELSE');
    const station = createSimStation({ url: csms.url, id: 'TLS-P3', ocppVersion: '2.0.1', securityProfile: 3, tls: { ca: ca.certPem, ...client } });
    await assert.rejects(station.connect(), (err: any) => err.code === 'SIM_CONNECT_FAILED' && err.details.httpStatus === 401);
    await station.close();
  });

  it('stations with the same trust anchors and certificate share one TLS context; other anchors or another certificate get their own', async () => {
    const [a, b] = await Promise.all([issueClient(ca, 'CTX-A'), issueClient(ca, 'CTX-B')]);
    const context = (id: string, profile: 2 | 3, extra: object = {}, roots: string[] = []) =>
      transportOptions({ id, url: csms.url, profile, tls: { ca: ca.certPem, ...extra }, roots }).secureContext;
    assert.equal(context('CTX-1', 2), context('CTX-2', 2));
    assert.notEqual(context('CTX-1', 2), context('CTX-1', 2, {}, ['-----BEGIN CERTIFICATE-----\nAnotherRoot\n-----END CERTIFICATE-----\n']));
    assert.equal(context('CTX-A', 3, a), context('CTX-A', 3, a));
    assert.notEqual(context('CTX-A', 3, a), context('CTX-B', 3, b));
    assert.notEqual(context('CTX-A', 3, a), context('CTX-A', 2));
  });

  it('a client key that does not match its certificate, or unreadable PEM, is a SIM_CONNECT_FAILED error naming the TLS code', { timeout: 20_000 }, async () => {
    const [a, b] = await Promise.all([issueClient(ca, 'TLS-P3'), issueClient(ca, 'TLS-P3')]);
    for (const [tls, tlsCode] of [
      [{ ca: ca.certPem, cert: a.cert, key: b.key }, 'ERR_OSSL_X509_KEY_VALUES_MISMATCH'],
      [{ ca: ca.certPem, cert: 'not a certificate', key: a.key }, 'ERR_OSSL_PEM_NO_START_LINE'],
    ] as const) {
      const station = createSimStation({ url: csms.url, id: 'TLS-P3', ocppVersion: '2.0.1', securityProfile: 3, tls });
      await assert.rejects(station.connect(), (err: any) => err.code === 'SIM_CONNECT_FAILED' && err.details.tlsCode === tlsCode && /TLS-P3 could not connect/.test(err.message));
      assert.equal(station.state, 'idle');
      await station.close();
    }
  });

  it('trust anchors that differ only in how PEM text is split between entries do not share a context', { timeout: 20_000 }, async () => {
    const other = await createCa('another CA');
    // Two entries: both CAs trusted.
    const both = createSimStation({ url: csms.url, id: 'TLS-P2', ocppVersion: '2.0.1', securityProfile: 2, password: PASSWORD, tls: { ca: [other.certPem, ca.certPem] } });
    try {
      assert.equal((await both.connect()).status, 'Accepted');
    } finally {
      await both.close();
    }
    // One entry with a NUL in it: OpenSSL reads only the PEM block before the NUL, so the CSMS's CA is not trusted.
    const one = createSimStation({ url: csms.url, id: 'TLS-P2', ocppVersion: '2.0.1', securityProfile: 2, password: PASSWORD, tls: { ca: `${other.certPem}\u0000${ca.certPem}` } });
    await assert.rejects(one.connect(), (err: any) => err.code === 'SIM_CONNECT_FAILED' && typeof err.details.tlsCode === 'string');
    await one.close();
  });

  it('profile 3 without a client certificate fails before dialling', async () => {
    const station = createSimStation({ url: csms.url, id: 'TLS-P3', ocppVersion: '2.0.1', securityProfile: 3, tls: { ca: ca.certPem } });
    await assert.rejects(station.connect(), { code: 'SIM_NO_CLIENT_CERTIFICATE' });
    assert.equal(station.state, 'idle');
    await station.close();
  });
});
