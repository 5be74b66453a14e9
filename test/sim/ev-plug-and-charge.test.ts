/**
 * Plug & Charge end to end: an EV simulator with an OEM provisioning
 * certificate asks for a contract through a simulated OCPP 2.0.1 station
 * (OCPP 2.1 Get15118EVCertificate over TLS), evguard issues it from the MO hierarchy,
 * the EV authorises with it (Authorize with iso15118CertificateHashData,
 * checked against OCSP) and is Accepted; once the contract is revoked it is
 * rejected. OpenSSL judges the contract chain and the OCSP answers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { chainPem, createSimEv, createSimSecc, createSimStation, ocspRequestData, type SimStation } from '../../src/sim/index.js';
import { startTestNode, testDatabases, type TestNode } from '../support/node.js';
import { openssl } from '../trust/fixture.js';

const PW = 'plug-and-charge-pw-0001';
const PCID = 'WMIV1234567890ABC';
const EMAID = 'DE-EVG-C12345678-9';

for (const db of testDatabases()) {
  describe(`Plug & Charge: EV → station → evguard → MO contract → Authorize (${db})`, () => {
    let node: TestNode;
    let station: SimStation;
    const cas = () => Object.fromEntries(node.app.trust.listCas().map((c) => [c.name, c.pem]));
    const file = (name: string, text: string | Buffer) => {
      const f = path.join(node.dataDir, name);
      writeFileSync(f, text);
      return f;
    };
    /** OpenSSL's reading of a base64 DER OCSP response. */
    const ocspStatus = (b64: string) => openssl(['ocsp', '-respin', file(`resp-${Date.now()}.der`, Buffer.from(b64, 'base64')), '-resp_text', '-noverify']);

    before(async () => {
      node = await startTestNode({ db });
      assert.equal((await node.api('POST', '/api/v1/stations', { id: 'PNC-1', securityProfile: 2, password: PW })).status, 201);
      station = createSimStation({ url: node.wss, id: 'PNC-1', ocppVersion: '2.1', securityProfile: 2, password: PW, tls: { ca: Object.values(cas()) } });
      await station.connect();
    });
    after(async () => {
      await station.close();
      await node.stop();
    });

    test('contract installation, Accepted authorisation, then Rejected once the contract is revoked', { timeout: 60_000 }, async () => {
      assert.equal((await node.api('POST', '/api/v1/pki/contracts', { pcid: PCID, emaid: EMAID })).status, 201);
      const ev = createSimEv({ pcid: PCID, v2gRootPem: cas()['v2g-root'] });
      // The OEM provisions the vehicle at the factory.
      const oem = await node.app.trust.issueOemProvisioningCertificate({ pcid: PCID, csrPem: await ev.provisioningCsr() });
      ev.setProvisioningCertificate(oem.certificateChainPem);
      const secc = createSimSecc(station);

      const install = await ev.installContract(secc);
      assert.deepEqual(install, { ocppStatus: 'Accepted', reasonCode: undefined, responseCode: 'OK', emaid: 'DEEVGC123456789' });
      const contract = ev.contract()!;
      const leaf = new X509Certificate(Buffer.from(contract.chain[0]!, 'base64'));
      assert.match(leaf.subject, /CN=DEEVGC123456789/);
      const pems = chainPem(contract.chain);
      const untrusted = chainPem(contract.chain.slice(1));
      assert.match(openssl(['verify', '-CAfile', file('mo-root.pem', cas()['mo-root']!), '-untrusted', file('mo-subs.pem', untrusted), file('contract.pem', pems.slice(0, pems.indexOf('-----END CERTIFICATE-----') + 26))]), /OK/);

      const ok = await ev.authorize(secc);
      assert.deepEqual(ok, { ResponseCode: 'OK', idTokenStatus: 'Accepted', certificateStatus: 'Accepted' });
      const good = await secc.certificateStatus(contract.chain);
      assert.equal(good.status, 'Accepted');
      assert.match(ocspStatus(good.ocspResult!), /Cert Status: good/);

      const serial = leaf.serialNumber.toLowerCase().replace(/^0+/, '');
      assert.equal((await node.api('POST', `/api/v1/certificates/${serial}/revoke`, { reason: 'keyCompromise' })).status, 200);
      const refused = await ev.authorize(secc);
      assert.deepEqual(refused, { ResponseCode: 'FAILED_CertificateRevoked', idTokenStatus: 'Blocked', certificateStatus: 'CertificateRevoked' });
      const revoked = await secc.certificateStatus(contract.chain);
      assert.match(ocspStatus(revoked.ocspResult!), /Cert Status: revoked[\s\S]*keyCompromise/);
    });

    test('an unknown contract is rejected, and a vehicle without a registered contract gets none', { timeout: 30_000 }, async () => {
      const ev = createSimEv({ pcid: 'WMIV0000000000NEW' });
      const oem = await node.app.trust.issueOemProvisioningCertificate({ pcid: ev.pcid, csrPem: await ev.provisioningCsr() });
      ev.setProvisioningCertificate(oem.certificateChainPem);
      const secc = createSimSecc(station);
      const none = await ev.installContract(secc);
      assert.equal(none.responseCode, 'FAILED_NoCertificateAvailable');
      assert.equal(none.ocppStatus, 'Failed');
      assert.equal(none.reasonCode, 'NoCertificate');

      // A contract chain evguard never issued: the OEM chain presented as if it were a contract.
      const forged = ocspRequestData(pemChainToDer(oem.certificateChainPem));
      const res: any = await station.call('Authorize', { idToken: { idToken: 'DEEVGC000000000', type: 'eMAID' }, iso15118CertificateHashData: forged });
      assert.equal(res.idTokenInfo.status, 'Unknown');
      assert.equal(res.certificateStatus, 'NoCertificateAvailable');
      const serialOnly = [{ ...forged[0]!, serialNumber: '7f00000000000000000000000000abcd' }];
      const unknown: any = await station.call('Authorize', { idToken: { idToken: 'DEEVGC000000000', type: 'eMAID' }, iso15118CertificateHashData: serialOnly });
      assert.equal(unknown.idTokenInfo.status, 'Unknown');
      const status = await station.call('GetCertificateStatus', { ocspRequestData: { ...forged[0]!, issuerKeyHash: 'ab'.repeat(32) } }) as any;
      assert.equal(status.status, 'Failed');
      assert.equal(status.statusInfo.reasonCode, 'UnknownIssuer');
    });

    test('over OCPP 2.0.1 the JSON rendering outgrows exiResponse (5600 characters): a clear Failed, never an invalid response', { timeout: 30_000 }, async () => {
      await node.api('POST', '/api/v1/stations', { id: 'PNC-201', securityProfile: 2, password: PW });
      const s201 = createSimStation({ url: node.wss, id: 'PNC-201', ocppVersion: '2.0.1', securityProfile: 2, password: PW, tls: { ca: Object.values(cas()) } });
      try {
        await s201.connect();
        const ev = createSimEv({ pcid: PCID });
        const oem = await node.app.trust.issueOemProvisioningCertificate({ pcid: PCID, csrPem: await ev.provisioningCsr() });
        ev.setProvisioningCertificate(oem.certificateChainPem);
        const secc = createSimSecc(s201);
        const res = await secc.certificateInstallation(Buffer.from(JSON.stringify({ CertificateInstallationReq: {}, Signature: '' })).toString('base64'));
        assert.equal(res.status, 'Failed');
        await assert.rejects(ev.installContract(secc), /Unexpected end of JSON|JSON/);
      } finally {
        await s201.close();
      }
    });

    test('a tampered installation request is refused with a signature error', { timeout: 30_000 }, async () => {
      const ev = createSimEv({ pcid: PCID });
      const oem = await node.app.trust.issueOemProvisioningCertificate({ pcid: PCID, csrPem: await ev.provisioningCsr() });
      // The chain belongs to another key than the one that signs the request.
      const other = createSimEv({ pcid: PCID });
      await other.provisioningCsr();
      const body = { Id: 'req1', OEMProvisioningCertificateChain: pemChainToDer(oem.certificateChainPem), ListOfRootCertificateIDs: [] };
      const exi = Buffer.from(JSON.stringify({ CertificateInstallationReq: body, Signature: Buffer.alloc(72, 1).toString('base64') })).toString('base64');
      const res = await createSimSecc(station).certificateInstallation(exi);
      assert.equal(res.status, 'Failed');
      assert.equal(res.reasonCode, 'SignatureError');
      const garbage: any = await station.call('Get15118EVCertificate', { iso15118SchemaVersion: 'x', action: 'Install', exiRequest: 'bm90IGpzb24=' });
      assert.equal(garbage.status, 'Failed');
    });
  });
}

function pemChainToDer(pem: string): string[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((b) => Buffer.from(new X509Certificate(b).raw).toString('base64'));
}
