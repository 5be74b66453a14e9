import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { apiRoutes, publicRoutes } from '../../src/trust/routes.js';
import { addSharedSchemas } from '../../src/api/schemas.js';
import { makeCsr, openFixture, openssl, opensslAsync, pemBlocks, type Fixture } from './fixture.js';

let f: Fixture;
let app: FastifyInstance;
let base: string;
before(async () => {
  f = await openFixture();
  app = Fastify();
  addSharedSchemas(app);
  await app.register(async (scope) => publicRoutes(scope, f.trust));
  await app.register(async (scope) => apiRoutes(scope, f.trust));
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await app.close();
  await f.close();
});

async function issue(id: string) {
  const { csrPem } = await makeCsr(`CN=${id}, O=evguard`);
  const r = await f.trust.signStationCsr({ csrPem, stationId: id });
  const [leaf, sub] = pemBlocks(r.certificateChainPem);
  return { ...r, leaf: f.file(`${id}.pem`, leaf!), sub: f.file('station-ca.pem', sub!) };
}

test('openssl ocsp against the responder: good, revoked, unknown', async () => {
  const good = await issue('CS-OK');
  const bad = await issue('CS-BAD');
  const res = await app.inject({ method: 'POST', url: `/api/v1/certificates/${bad.serialHex.toUpperCase()}/revoke`, payload: { reason: 'keyCompromise' } });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().stationId, 'CS-BAD');
  assert.ok(f.events.some((e) => e.topic === 'certificate.revoked' && (e.data as { serialHex: string }).serialHex === bad.serialHex));
  assert.equal(f.trust.isRevoked(bad.serialHex), true);
  const root = f.file('ocsp-root.pem', f.trust.rootCertificatePem('CSMSRootCertificate'));
  const ask = (certArgs: string[]) => opensslAsync(['ocsp', '-issuer', good.sub, ...certArgs, '-url', `${base}/pki/ocsp`, '-CAfile', root, '-VAfile', good.sub]);
  const g = await ask(['-cert', good.leaf]);
  assert.match(g.out, /Response verify OK/);
  assert.match(g.out, new RegExp(`${good.leaf}: good`));
  const r = await ask(['-cert', bad.leaf]);
  assert.match(r.out, /Response verify OK/);
  assert.match(r.out, new RegExp(`${bad.leaf}: revoked`));
  assert.match(r.out, /Reason: keyCompromise/);
  const u = await ask(['-serial', '0x1234567890abcdef']);
  assert.match(u.out, /Response verify OK/);
  assert.match(u.out, /: unknown/);
  // SHA-256 CertIDs (what OCPP stations send) work too, and so does GET.
  const sha256 = await opensslAsync(['ocsp', '-sha256', '-issuer', good.sub, '-cert', good.leaf, '-url', `${base}/pki/ocsp`, '-CAfile', root, '-VAfile', good.sub]);
  assert.match(sha256.out, /: good/);
  const reqFile = f.file('req.der', '');
  openssl(['ocsp', '-issuer', good.sub, '-cert', good.leaf, '-no_nonce', '-reqout', reqFile]);
  const { readFileSync } = await import('node:fs');
  const viaGet = await app.inject({ method: 'GET', url: `/pki/ocsp/${encodeURIComponent(readFileSync(reqFile).toString('base64'))}` });
  assert.equal(viaGet.headers['content-type'], 'application/ocsp-response');
  const respFile = f.file('resp.der', viaGet.rawPayload);
  assert.match(openssl(['ocsp', '-respin', respFile, '-resp_text', '-noverify']), /Cert Status: good/);
});

test('malformed OCSP requests get an OCSP malformedRequest answer, not a crash', async () => {
  for (const payload of [Buffer.from('garbage'), Buffer.alloc(0), Buffer.from([0x30, 0x82, 0xff, 0xff])]) {
    const res = await app.inject({ method: 'POST', url: '/pki/ocsp', headers: { 'content-type': 'application/ocsp-request' }, payload });
    assert.equal(res.statusCode, 200);
    const file = f.file('bad-resp.der', res.rawPayload);
    assert.match((await opensslAsync(['ocsp', '-respin', file, '-resp_text', '-noverify'])).out, /malformedrequest/i);
  }
  // Fastify refuses a broken percent-encoding itself, with a 400.
  assert.ok((await app.inject({ method: 'GET', url: '/pki/ocsp/%%%' })).statusCode < 500);
  assert.equal((await app.inject({ method: 'GET', url: '/pki/ocsp/bm90LWRlcg==' })).statusCode, 200);
});

test('CRLs: DER, signed by their CA, list revoked serials; openssl verify -crl_check refuses the revoked certificate', async () => {
  const victim = await issue('CS-CRL');
  await f.trust.revoke(victim.serialHex, 'superseded');
  const res = await app.inject({ method: 'GET', url: '/pki/crl/station-ca.crl' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'application/pkix-crl');
  const crlDer = f.file('station-ca.crl', res.rawPayload);
  const root = f.file('crl-root.pem', f.trust.rootCertificatePem('CSMSRootCertificate'));
  const bundle = f.file('crl-bundle.pem', f.trust.stationTrustAnchors().join(''));
  const text = await opensslAsync(['crl', '-inform', 'DER', '-in', crlDer, '-CAfile', bundle, '-noout', '-text']);
  assert.match(text.out, /verify OK/);
  assert.match(text.out, new RegExp(victim.serialHex.toUpperCase()));
  assert.match(text.out, /X509v3 CRL Number/);
  const crlPem = f.file('station-ca-crl.pem', openssl(['crl', '-inform', 'DER', '-in', crlDer]));
  const verdict = await opensslAsync(['verify', '-crl_check', '-CAfile', root, '-untrusted', victim.sub, '-CRLfile', crlPem, victim.leaf]);
  assert.match(verdict.out, /certificate revoked/);
  const fine = await issue('CS-CRL-OK');
  assert.match(openssl(['verify', '-crl_check', '-CAfile', root, '-untrusted', fine.sub, '-CRLfile', crlPem, fine.leaf]), /: OK/);
  // Every CA publishes one, each verifying against its own certificate.
  for (const ca of f.trust.listCas()) {
    const r = await app.inject({ method: 'GET', url: `/pki/crl/${ca.name}.crl` });
    assert.equal(r.statusCode, 200, ca.name);
    const out = await opensslAsync(['crl', '-inform', 'DER', '-in', f.file('any.crl', r.rawPayload), '-CAfile', f.file('any-ca.pem', ca.pem), '-noout']);
    assert.match(out.out, /verify OK/, ca.name);
  }
  assert.equal((await app.inject({ method: 'GET', url: '/pki/crl/nope.crl' })).statusCode, 404);
  assert.equal((await app.inject({ method: 'GET', url: '/pki/crl/..%2Fetc.crl' })).statusCode, 404);
});

test('revoke: bad serial, unknown serial, bad reason are coded errors; GET /api/v1/pki/cas lists every CA', async () => {
  const codeOf = async (serial: string, reason?: string) => {
    try {
      await f.trust.revoke(serial, reason);
      return 'ok';
    } catch (err) {
      return (err as { code: string }).code;
    }
  };
  assert.equal(await codeOf('zz'), 'SERIAL_INVALID');
  assert.equal(await codeOf('abcdef'), 'CERTIFICATE_UNKNOWN');
  const c = await issue('CS-R');
  assert.equal(await codeOf(c.serialHex, 'because'), 'REVOCATION_REASON_INVALID');
  assert.equal(await codeOf(c.serialHex), 'ok');
  assert.equal(await codeOf(c.serialHex), 'ok', 'idempotent');
  const cas = (await app.inject({ method: 'GET', url: '/api/v1/pki/cas' })).json() as { name: string; purpose: string; pem: string }[];
  assert.equal(cas.length, 15);
  assert.ok(cas.every((ca) => ca.name && ca.purpose && ca.pem.startsWith('-----BEGIN CERTIFICATE-----')));
});
