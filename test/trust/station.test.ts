import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { makeCsr, openFixture, openssl, opensslAsync, pemBlocks, type Fixture } from './fixture.js';

let f: Fixture;
before(async () => {
  f = await openFixture();
});
after(() => f.close());

const code = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return 'no error';
};

test('a CSR whose CN is the station id and O the organisation is signed; openssl verifies the chain', async () => {
  const { csrPem } = await makeCsr('CN=CS-001, O=evguard');
  const r = await f.trust.signStationCsr({ csrPem, stationId: 'CS-001' });
  const blocks = pemBlocks(r.certificateChainPem);
  assert.equal(blocks.length, 2, 'leaf + station CA');
  const root = f.file('root.pem', f.trust.stationTrustAnchors().at(-1)!);
  assert.match(openssl(['verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', root, '-untrusted', f.file('sub.pem', blocks[1]!), f.file('leaf.pem', blocks[0]!)]), /: OK/);
  const leafText = openssl(['x509', '-noout', '-text', '-in', f.file('leaf.pem', blocks[0]!)]);
  assert.match(leafText, /Subject: CN\s?=\s?CS-001, O\s?=\s?evguard/);
  assert.match(leafText, /TLS Web Client Authentication/);
  assert.equal(new X509Certificate(blocks[0]!).serialNumber.toLowerCase(), r.serialHex);
  assert.ok(f.events.some((e) => e.topic === 'certificate.issued' && e.stationId === 'CS-001'));
  assert.ok(f.trust.listCertificates({ stationId: 'CS-001' }).some((c) => c.serialHex === r.serialHex && c.kind === 'station'));
});

test('RSA 2048 station keys are accepted, P-521 too', async () => {
  for (const alg of ['RSA-2048', 'P-521'] as const) {
    const { csrPem } = await makeCsr('CN=CS-RSA, O=evguard', alg);
    const r = await f.trust.signStationCsr({ csrPem, stationId: 'CS-RSA' });
    assert.equal(pemBlocks(r.certificateChainPem).length, 2);
  }
});

test('CSR checks: wrong CN, wrong O, weak key, bad signature, garbage', async () => {
  const good = await makeCsr('CN=CS-002, O=evguard');
  assert.equal(await code(f.trust.signStationCsr({ csrPem: good.csrPem, stationId: 'CS-999' })), 'CSR_WRONG_SUBJECT');
  const wrongOrg = await makeCsr('CN=CS-002, O=mallory');
  assert.equal(await code(f.trust.signStationCsr({ csrPem: wrongOrg.csrPem, stationId: 'CS-002' })), 'CSR_WRONG_SUBJECT');
  const twoCn = await makeCsr('CN=CS-002, CN=CS-003, O=evguard');
  assert.equal(await code(f.trust.signStationCsr({ csrPem: twoCn.csrPem, stationId: 'CS-002' })), 'CSR_WRONG_SUBJECT');
  const weak = await makeCsr('CN=CS-002, O=evguard', 'RSA-1024');
  assert.equal(await code(f.trust.signStationCsr({ csrPem: weak.csrPem, stationId: 'CS-002' })), 'CSR_WEAK_KEY');
  const rsaV2g = await makeCsr('CN=CS-002, O=evguard', 'RSA-2048');
  assert.equal(await code(f.trust.signStationCsr({ csrPem: rsaV2g.csrPem, stationId: 'CS-002', certificateType: 'V2GCertificate' })), 'CSR_WEAK_KEY');
  // Flip one byte inside the signature: still parses, no longer verifies.
  const der = Buffer.from(good.csrPem.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
  der[der.length - 5]! ^= 0x01;
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  assert.equal(await code(f.trust.signStationCsr({ csrPem: tampered, stationId: 'CS-002' })), 'CSR_INVALID_SIGNATURE');
  assert.equal(await code(f.trust.signStationCsr({ csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----', stationId: 'CS-002' })), 'CSR_MALFORMED');
  assert.equal(await code(f.trust.signStationCsr({ csrPem: 'x'.repeat(10_000), stationId: 'CS-002' })), 'CSR_MALFORMED');
  assert.equal(await code(f.trust.signStationCsr({ csrPem: good.csrPem, stationId: 'bad/id' })), 'CSR_WRONG_SUBJECT');
  assert.equal(await code(f.trust.signStationCsr({ csrPem: 42 as unknown as string, stationId: 'CS-002' })), 'CSR_MALFORMED');
});

test('V2G certificate: SECC leaf chains through CPO Sub-CA 2 and 1 to the V2G root', async () => {
  const { csrPem } = await makeCsr('CN=CS-001, O=evguard, C=DE, DC=CPO');
  const r = await f.trust.signStationCsr({ csrPem, stationId: 'CS-001', certificateType: 'V2GCertificate' });
  const blocks = pemBlocks(r.certificateChainPem);
  assert.equal(blocks.length, 3);
  const root = f.file('v2g.pem', f.trust.rootCertificatePem('V2GRootCertificate'));
  assert.match(openssl(['verify', '-x509_strict', '-CAfile', root, '-untrusted', f.file('v2g-sub.pem', blocks.slice(1).join('')), f.file('secc.pem', blocks[0]!)]), /: OK/);
  assert.match(openssl(['x509', '-noout', '-text', '-in', f.file('secc.pem', blocks[0]!)]), /Key Usage: critical\s+Digital Signature, Key Agreement/);
});

test('checkStationClientCertificate reasons; never throws on junk', async () => {
  const { csrPem } = await makeCsr('CN=CS-010, O=evguard');
  const r = await f.trust.signStationCsr({ csrPem, stationId: 'CS-010' });
  const der = pemBlocks(r.certificateChainPem).map((p) => new X509Certificate(p).raw);
  assert.deepEqual(f.trust.checkStationClientCertificate(der, 'CS-010'), { ok: true, serialHex: r.serialHex });
  assert.deepEqual(f.trust.checkStationClientCertificate(der, 'CS-011'), { ok: false, reason: 'wrong-station' });
  const server = new X509Certificate(f.trust.serverCredentials().cert[0]!).raw;
  assert.deepEqual(f.trust.checkStationClientCertificate([server], 'localhost'), { ok: false, reason: 'untrusted' });
  assert.deepEqual(f.trust.checkStationClientCertificate([Buffer.from('junk')], 'CS-010'), { ok: false, reason: 'malformed' });
  assert.deepEqual(f.trust.checkStationClientCertificate([], 'CS-010'), { ok: false, reason: 'malformed' });
  assert.deepEqual(f.trust.checkStationClientCertificate(null as unknown as Buffer[], 'CS-010'), { ok: false, reason: 'malformed' });
  const later = await openFixture({ now: () => new Date(Date.now() + 400 * 86_400_000) }, { dir: f.dir });
  try {
    assert.deepEqual(later.trust.checkStationClientCertificate(der, 'CS-010'), { ok: false, reason: 'expired' });
  } finally {
    await later.close();
  }
  const otherOrg = await openFixture({ organization: 'other' }, { dir: f.dir });
  try {
    assert.deepEqual(otherOrg.trust.checkStationClientCertificate(der, 'CS-010'), { ok: false, reason: 'wrong-organization' });
  } finally {
    await otherOrg.close();
  }
  await f.trust.revoke(r.serialHex, 'keyCompromise');
  assert.deepEqual(f.trust.checkStationClientCertificate(der, 'CS-010'), { ok: false, reason: 'revoked' });
});

test('openssl s_client completes mutual TLS with a station certificate issued through signStationCsr', async () => {
  const station = await makeCsr('CN=CS-TLS, O=evguard');
  const r = await f.trust.signStationCsr({ csrPem: station.csrPem, stationId: 'CS-TLS' });
  const [leaf, ...subs] = pemBlocks(r.certificateChainPem);
  const results: unknown[] = [];
  const server = tls.createServer({ ...f.trust.serverCredentials(), ca: f.trust.stationTrustAnchors(), requestCert: true, rejectUnauthorized: true }, (socket) => {
    const chain: Buffer[] = [];
    for (let c = socket.getPeerCertificate(true); c && c.raw && !chain.some((d) => d.equals(c.raw)); c = c.issuerCertificate) chain.push(c.raw);
    const check = f.trust.checkStationClientCertificate(chain, 'CS-TLS');
    results.push(check);
    socket.end(`${JSON.stringify(check)}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    const args = ['s_client', '-ign_eof', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-verify_hostname', 'localhost', '-verify_return_error',
      '-CAfile', f.file('tls-root.pem', f.trust.rootCertificatePem('CSMSRootCertificate')),
      '-cert', f.file('tls-leaf.pem', leaf!), '-cert_chain', f.file('tls-sub.pem', subs.join('')), '-key', f.file('tls-key.pem', station.keyPem)];
    // Both server certificates are in use: TLS 1.2 ECDSA and RSA suites each complete.
    for (const cipher of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256']) {
      // The exit status is not asserted: Node closes without close_notify, which OpenSSL 3 reports as an error after a good session.
      const { out } = await opensslAsync([...args, '-tls1_2', '-cipher', cipher]);
      assert.match(out, new RegExp(`Cipher is ${cipher}`));
      assert.match(out, /Verify return code: 0 \(ok\)/);
      assert.match(out, /"ok":true/);
    }
    const tls13 = await opensslAsync(args);
    assert.match(tls13.out, /Verify return code: 0 \(ok\)/);
    assert.match(tls13.out, /"ok":true/);
    // Without a client certificate the server refuses the handshake.
    const anonymous = await opensslAsync(args.slice(0, 10).concat(['-tls1_2']));
    assert.doesNotMatch(anonymous.out, /"ok":true/);
  } finally {
    server.close();
  }
  assert.ok(results.length >= 3);
});
