import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { createSimStation, type OcppVersion } from '../../src/sim/index.js';
import { startCsms, type TestCsms } from './csms.js';
import { createCa, issueClient, issueServer, signCsr, type TestCa } from './pki.js';

const PASSWORD = 'renewal-password-000001';

describe('certificate lifecycle: CSR, CertificateSigned, then mutual TLS', () => {
  let ca: TestCa;
  let csms: TestCsms;
  /** Emits (identity → status) when the station has answered a CertificateSigned. */
  const signed = new EventEmitter();

  before(async () => {
    ca = await createCa();
    csms = await startCsms({
      tls: { ...(await issueServer(ca)), ca: ca.certPem },
      passwords: { 'PKI-16': PASSWORD, 'PKI-201': PASSWORD, 'PKI-21': PASSWORD, 'PKI-BAD': PASSWORD },
    });
    // The CSMS accepts the CSR, then signs it and pushes the chain, as OCPP 2.0.1 A02 describes.
    csms.answer('SignCertificate', (params, { identity, protocol, client }) => {
      setImmediate(async () => {
        const leaf = identity === 'PKI-BAD' ? (await issueClient(ca, identity)).cert : await signCsr(ca, params.csr);
        const payload = { certificateChain: leaf + ca.certPem, ...(protocol === 'ocpp1.6' ? {} : { certificateType: 'ChargingStationCertificate' }) };
        const res: any = await client.call('CertificateSigned', payload);
        signed.emit(identity, res.status);
      });
      return { status: 'Accepted' };
    });
  });
  after(() => csms.close());

  for (const [version, id] of [['2.0.1', 'PKI-201'], ['2.1', 'PKI-21']] as [OcppVersion, string][]) {
    it(`OCPP ${version}: a renewal triggered by the CSMS installs a certificate with CN = id, O = organization`, { timeout: 20_000 }, async () => {
      const station = createSimStation({ url: csms.url, id, ocppVersion: version, securityProfile: 2, password: PASSWORD, organization: 'Acme Charging', tls: { ca: ca.certPem } });
      let second;
      try {
        await station.connect();
        const installed = once(station, 'certificate');
        const answered = once(signed, id);
        const trigger: any = await csms.clients.get(id).call('TriggerMessage', { requestedMessage: 'SignChargingStationCertificate' });
        assert.equal(trigger.status, 'Accepted');
        await installed;
        const csr = csms.received.find((r) => r.identity === id && r.method === 'SignCertificate')!.params;
        assert.equal(csr.certificateType, 'ChargingStationCertificate');
        assert.match(csr.csr, /^-----BEGIN CERTIFICATE REQUEST-----/);
        const pair = station.certificate()!;
        const leaf = new X509Certificate(pair.cert);
        assert.equal(leaf.subject, `O=Acme Charging\nCN=${id}`);
        assert.ok(leaf.checkIssued(new X509Certificate(ca.certPem)));
        assert.match(pair.key, /^-----BEGIN PRIVATE KEY-----/);
        assert.deepEqual(await answered, ['Accepted']);
        await station.close();

        // The same identity now connects with security profile 3 using what it received.
        second = createSimStation({ url: csms.url, id, ocppVersion: version, securityProfile: 3, tls: { ca: ca.certPem, ...pair } });
        assert.equal((await second.connect()).status, 'Accepted');
        assert.equal(csms.clients.get(id).handshake.request.socket.authorized, true);
        assert.deepEqual(csms.violations, []);
      } finally {
        await station.close();
        await second?.close();
      }
    });
  }

  it('OCPP 1.6: requestCertificate, then the CSMS raises the profile to 3 and the station reconnects with its new certificate', { timeout: 20_000 }, async () => {
    const id = 'PKI-16';
    const station = createSimStation({ url: csms.url, id, ocppVersion: '1.6', securityProfile: 2, password: PASSWORD, tls: { ca: ca.certPem } });
    try {
      await station.connect();
      const installed = once(station, 'certificate');
      await station.requestCertificate();
      await installed;
      assert.ok(!('certificateType' in csms.received.find((r) => r.identity === id && r.method === 'SignCertificate')!.params));
      const change: any = await csms.clients.get(id).call('ChangeConfiguration', { key: 'SecurityProfile', value: '3' });
      assert.equal(change.status, 'Accepted');
      station.goOffline();
      await station.reconnect();
      const client = csms.clients.get(id);
      assert.equal(client.handshake.request.socket.authorized, true);
      assert.equal(client.handshake.password, undefined);
      await station.heartbeat();
    } finally {
      await station.close();
    }
  });

  it('a chain that is not for the station\'s own key is rejected and reported as a security event', { timeout: 20_000 }, async () => {
    const id = 'PKI-BAD';
    const station = createSimStation({ url: csms.url, id, ocppVersion: '2.0.1', securityProfile: 2, password: PASSWORD, tls: { ca: ca.certPem } });
    try {
      await station.connect();
      const refused = once(station, 'certificateRejected');
      await station.requestCertificate();
      assert.match(String((await refused)[0]), /key/);
      const event = await csms.waitFor((r) => r.identity === id && r.method === 'SecurityEventNotification');
      assert.equal(event.params.type, 'InvalidChargingStationCertificate');
      assert.equal(station.certificate(), undefined);
    } finally {
      await station.close();
    }
  });
});
