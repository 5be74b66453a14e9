import { strict as assert } from 'node:assert';
import { createDecipheriv, createHash, createPrivateKey, createPublicKey, diffieHellman, sign, verify, X509Certificate } from 'node:crypto';
import { after, before, test } from 'node:test';
import { canonicalJson } from '../../src/canonical-json.js';
import { makeCsr, openFixture, openssl, pemBlocks, type Fixture } from './fixture.js';

let f: Fixture;
before(async () => {
  f = await openFixture();
});
after(() => f.close());

const PCID = 'WMIV1234567890ABC';
const EMAID = 'DEEVG123456789';
const derB64 = (pem: string) => new X509Certificate(pem).raw.toString('base64');

/** What a vehicle sends: CertificateInstallationReq with its OEM provisioning chain, signed with its key. */
async function vehicle() {
  const { csrPem, keyPem } = await makeCsr(`CN=${PCID}, O=Vehicle OEM, DC=OEM`);
  const oem = await f.trust.issueOemProvisioningCertificate({ pcid: PCID, csrPem });
  const key = createPrivateKey(keyPem);
  const body = { Id: 'req1', OEMProvisioningCertificateChain: pemBlocks(oem.certificateChainPem).map(derB64), ListOfRootCertificateIDs: [] };
  const exiRequest = Buffer.from(JSON.stringify({ CertificateInstallationReq: body, Signature: sign('sha256', Buffer.from(canonicalJson(body)), key).toString('base64') })).toString('base64');
  return { key, exiRequest, oem };
}

test('Get15118EVCertificate installs a contract certificate (CN = EMAID) whose key only the vehicle can decrypt', async () => {
  const v = await vehicle();
  const refused = await f.trust.get15118EVCertificate({ action: 'Install', exiRequest: v.exiRequest, iso15118SchemaVersion: 'urn:iso:15118:2:2013:MsgDef' });
  assert.equal(refused.status, 'Failed', 'no contract registered for the PCID yet');
  await f.trust.registerContract({ pcid: PCID, emaid: 'DE-EVG-123456789' });
  const res = await f.trust.get15118EVCertificate({ action: 'Install', exiRequest: v.exiRequest, iso15118SchemaVersion: 'urn:iso:15118:2:2013:MsgDef' });
  assert.equal(res.status, 'Accepted');
  const envelope = JSON.parse(Buffer.from(res.exiResponse, 'base64').toString());
  const body = envelope.CertificateInstallationRes;
  assert.equal(body.ResponseCode, 'OK');
  assert.equal(body.eMAID, EMAID);
  // The response is signed by the CPS certificate, which chains to the V2G root (openssl judges).
  const cps = body.SAProvisioningCertificateChain.map((d: string) => new X509Certificate(Buffer.from(d, 'base64')));
  assert.ok(verify('sha256', Buffer.from(canonicalJson(body)), cps[0].publicKey, Buffer.from(envelope.Signature, 'base64')));
  const v2gRoot = f.file('v2g-root.pem', f.trust.rootCertificatePem('V2GRootCertificate'));
  assert.match(openssl(['verify', '-CAfile', v2gRoot, '-untrusted', f.file('cps-sub.pem', cps.slice(1).map((c: X509Certificate) => c.toString()).join('')), f.file('cps.pem', cps[0].toString())]), /: OK/);
  // The contract chain verifies against the MO root, with the EMAID as CN.
  const contract = body.ContractSignatureCertChain.map((d: string) => new X509Certificate(Buffer.from(d, 'base64')));
  const moRoot = f.file('mo-root.pem', f.trust.rootCertificatePem('MORootCertificate'));
  const leafFile = f.file('contract.pem', contract[0].toString());
  assert.match(openssl(['verify', '-x509_strict', '-CAfile', moRoot, '-untrusted', f.file('mo-sub.pem', contract.slice(1).map((c: X509Certificate) => c.toString()).join('')), leafFile]), /: OK/);
  assert.match(openssl(['x509', '-noout', '-subject', '-in', leafFile]), new RegExp(`CN\\s?=\\s?${EMAID}`));
  // Decrypt the contract key the ISO 15118-2 way and check it belongs to the certificate.
  const z = diffieHellman({ privateKey: v.key, publicKey: createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(body.DHpublickey, 'base64').subarray(1, 33).toString('base64url'), y: Buffer.from(body.DHpublickey, 'base64').subarray(33).toString('base64url') }, format: 'jwk' }) });
  const kek = createHash('sha256').update(Buffer.from([0, 0, 0, 1])).update(z).update(Buffer.from([1, 0x55, 0x56])).digest().subarray(0, 16);
  const enc = Buffer.from(body.ContractSignatureEncryptedPrivateKey, 'base64');
  const decipher = createDecipheriv('aes-128-cbc', kek, enc.subarray(0, 16)).setAutoPadding(false);
  const d = Buffer.concat([decipher.update(enc.subarray(16)), decipher.final()]);
  const pubJwk = contract[0].publicKey.export({ format: 'jwk' });
  const contractKey = createPrivateKey({ key: { ...pubJwk, d: d.toString('base64url') }, format: 'jwk' });
  const probe = sign('sha256', Buffer.from('probe'), contractKey);
  assert.ok(verify('sha256', Buffer.from('probe'), contract[0].publicKey, probe));
});

test('Get15118EVCertificate refuses a bad signature, a foreign chain and junk with Failed', async () => {
  const v = await vehicle();
  const env = JSON.parse(Buffer.from(v.exiRequest, 'base64').toString());
  env.CertificateInstallationReq.Id = 'tampered';
  const tampered = await f.trust.get15118EVCertificate({ action: 'Install', exiRequest: Buffer.from(JSON.stringify(env)).toString('base64') });
  assert.equal(tampered.status, 'Failed');
  assert.equal(tampered.statusInfo?.reasonCode, 'FAILED_SignatureError');
  const { csrPem } = await makeCsr('CN=CS-1, O=evguard');
  const station = await f.trust.signStationCsr({ csrPem, stationId: 'CS-1' });
  env.CertificateInstallationReq.OEMProvisioningCertificateChain = pemBlocks(station.certificateChainPem).map(derB64);
  const foreign = await f.trust.get15118EVCertificate({ action: 'Install', exiRequest: Buffer.from(JSON.stringify(env)).toString('base64') });
  assert.equal(foreign.statusInfo?.reasonCode, 'FAILED_CertChainError');
  for (const exiRequest of ['', '!!!', Buffer.from('{"x":1}').toString('base64'), 'A'.repeat(20_000)]) {
    const r = await f.trust.get15118EVCertificate({ action: 'Install', exiRequest });
    assert.equal(r.status, 'Failed');
    assert.ok(JSON.parse(Buffer.from(r.exiResponse, 'base64').toString()).CertificateInstallationRes.ResponseCode.startsWith('FAILED'));
  }
});

test('Authorize with iso15118CertificateHashData and GetCertificateStatus follow OCSP: good, revoked, unknown', async () => {
  const { csrPem } = await makeCsr(`CN=${EMAID}, O=evguard, DC=MO`);
  const c = await f.trust.issueContractCertificate({ emaid: EMAID, csrPem });
  const [leaf, sub2] = pemBlocks(c.certificateChainPem);
  const hashData = (serialNumber: string) => {
    const text = openssl(['ocsp', '-sha256', '-issuer', f.file('h-sub2.pem', sub2!), '-cert', f.file('h-leaf.pem', leaf!), '-req_text', '-no_nonce']);
    return {
      hashAlgorithm: 'SHA256' as const,
      issuerNameHash: /Issuer Name Hash: (\w+)/.exec(text)![1]!,
      issuerKeyHash: /Issuer Key Hash: (\w+)/.exec(text)![1]!,
      serialNumber,
      responderURL: 'http://localhost/pki/ocsp',
    };
  };
  assert.deepEqual(await f.trust.authorizeContract({ emaid: EMAID, iso15118CertificateHashData: [hashData(c.serialHex)] }), { idTokenStatus: 'Accepted', certificateStatus: 'Accepted', emaid: EMAID });
  assert.equal((await f.trust.authorizeContract({ certificatePem: c.certificateChainPem })).idTokenStatus, 'Accepted');
  const status = await f.trust.getCertificateStatus(hashData(c.serialHex));
  assert.equal(status.status, 'Accepted');
  assert.match(openssl(['ocsp', '-respin', f.file('gcs.der', Buffer.from(status.ocspResult!, 'base64')), '-resp_text', '-noverify']), /Cert Status: good/);
  const unknown = await f.trust.authorizeContract({ iso15118CertificateHashData: [hashData('7abcdef')] });
  assert.equal(unknown.idTokenStatus, 'Unknown');
  assert.equal((await f.trust.authorizeContract({ iso15118CertificateHashData: [{ ...hashData('1'), issuerKeyHash: '00' }] })).certificateStatus, 'CertChainError');
  assert.equal((await f.trust.getCertificateStatus({ ...hashData('1'), issuerKeyHash: '00' })).status, 'Failed');
  await f.trust.revoke(c.serialHex, 'cessationOfOperation');
  assert.deepEqual(await f.trust.authorizeContract({ iso15118CertificateHashData: [hashData(c.serialHex)] }), { idTokenStatus: 'Blocked', certificateStatus: 'CertificateRevoked' });
  assert.equal((await f.trust.authorizeContract({ certificatePem: c.certificateChainPem })).idTokenStatus, 'Blocked');
  const revoked = await f.trust.getCertificateStatus(hashData(c.serialHex));
  const verdict = openssl(['ocsp', '-respin', f.file('gcs2.der', Buffer.from(revoked.ocspResult!, 'base64')), '-resp_text', '-VAfile', f.file('mo-ca.pem', sub2!)]);
  assert.match(verdict, /Cert Status: revoked/);
  for (const junk of [undefined, [], [{}], [1, 2, 3, 4, 5], 'x']) {
    const r = await f.trust.authorizeContract({ iso15118CertificateHashData: junk as never });
    assert.notEqual(r.idTokenStatus, 'Accepted');
  }
});
