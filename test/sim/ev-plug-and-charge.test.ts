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
import { chainPem, createSimEv, createSimSecc, createSimStation, listenSecc, ocspRequestData, type SimStation } from '../../src/sim/index.js';
import { stationCsr } from '../support/pki.js';
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

    test('an ISO 15118-2 session over TLS: installation inside the session, authorisation, DC charging with SoC, metering receipt, stop; refused once revoked', { timeout: 60_000 }, async () => {
      const pcid = 'WMIV2222222222SES';
      assert.equal((await node.api('POST', '/api/v1/pki/contracts', { pcid, emaid: 'DEEVGS22222222' })).status, 201);
      // The station's SECC certificate comes from evguard through SignCertificate (V2GCertificate).
      const { csrPem, keyPem } = await stationCsr('PNC-1', 'evguard');
      const signed = new Promise<any>((resolve) => station.handle('CertificateSigned', (p) => {
        resolve(p);
        return { status: 'Accepted' };
      }));
      assert.equal(((await station.call('SignCertificate', { csr: csrPem, certificateType: 'V2GCertificate' })) as any).status, 'Accepted');
      const v2g = await signed;
      assert.equal(v2g.certificateType, 'V2GCertificate');
      const secc = await listenSecc(station, createSimSecc(station), { cert: v2g.certificateChain, key: keyPem });
      try {
        const ev = createSimEv({ pcid, v2gRootPem: cas()['v2g-root'] });
        const oem = await node.app.trust.issueOemProvisioningCertificate({ pcid, csrPem: await ev.provisioningCsr() });
        ev.setProvisioningCertificate(oem.certificateChainPem);
        const target = { port: secc.port, v2gRootPem: cas()['v2g-root']! };

        const session = await ev.charge(target, { evccId: '0a1b2c3d4e5f', mode: 'DC', startSoc: 20, targetSoc: 80, rounds: 3, energyWh: 30_000 });
        assert.equal(session.outcome, 'completed', JSON.stringify(session));
        assert.equal(session.emaid, 'DEEVGS22222222');
        assert.equal(session.soc, 80);
        assert.match(session.evseId!, /^ZZ\*EVG\*EPNC1\*1$/);
        const pairs = (names: string[]) => names.flatMap((n) => [`${n}Req`, `${n}Res`]);
        assert.deepEqual(session.transcript, pairs([
          'SessionSetup', 'ServiceDiscovery', 'PaymentServiceSelection', 'CertificateInstallation', 'PaymentDetails', 'Authorization', 'ChargeParameterDiscovery', 'PowerDelivery',
          'CurrentDemand', 'MeteringReceipt', 'CurrentDemand', 'MeteringReceipt', 'CurrentDemand', 'MeteringReceipt', 'PowerDelivery', 'SessionStop',
        ]));
        assert.deepEqual(secc.sessions[0], { evccId: '0A1B2C3D4E5F', outcome: 'completed', emaid: 'DEEVGS22222222', transactionId: secc.sessions[0]!.transactionId, energyWh: secc.sessions[0]!.energyWh });

        // The CSMS saw the EV's needs and a transaction under the EMAID, accepted through its contract.
        const needs = await node.app.stations.reports('PNC-1', 'NotifyEVChargingNeeds');
        assert.equal((needs[0]!.payload as any).chargingNeeds.dcChargingParameters.energyAmount, 30_000);
        const txs = (await node.api('GET', '/api/v1/transactions?stationId=PNC-1')).body;
        assert.match(JSON.stringify(txs), /DEEVGS22222222/);

        const contractSerial = new X509Certificate(Buffer.from(ev.contract()!.chain[0]!, 'base64')).serialNumber.toLowerCase();
        assert.equal((await node.api('POST', `/api/v1/certificates/${contractSerial}/revoke`, {})).status, 200);
        const refused = await ev.charge(target);
        assert.equal(refused.outcome, 'FAILED_CertificateRevoked');
        assert.deepEqual(refused.transcript.slice(-2), ['PaymentDetailsReq', 'PaymentDetailsRes']);
      } finally {
        await secc.close();
      }
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
