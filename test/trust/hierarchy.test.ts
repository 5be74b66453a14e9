import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openFixture, openssl, pemBlocks, type Fixture } from './fixture.js';

let f: Fixture;
before(async () => {
  f = await openFixture();
});
after(() => f.close());

test('every CA chain verifies with openssl verify', () => {
  const cas = f.trust.listCas();
  assert.equal(cas.length, 15);
  const byName = new Map(cas.map((c) => [c.name, c]));
  const rootOf: Record<string, string> = { csms: 'csms-root' };
  for (const ca of cas) {
    assert.ok(ca.pem.includes('BEGIN CERTIFICATE'), `${ca.name} has a certificate`);
    assert.equal(ca.offline, false);
    // Walk parents through the subject/issuer names openssl prints.
    let root = ca;
    const untrusted: string[] = [];
    for (;;) {
      const issuer = openssl(['x509', '-noout', '-issuer', '-nameopt', 'RFC2253'], root.pem).trim();
      const subject = openssl(['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], root.pem).trim();
      if (issuer.replace('issuer=', '') === subject.replace('subject=', '')) break;
      untrusted.push(root.pem);
      root = cas.find((c) => openssl(['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], c.pem).trim().replace('subject=', '') === issuer.replace('issuer=', ''))!;
      assert.ok(root, `parent of ${ca.name} is listed`);
    }
    const rootFile = f.file(`${ca.name}-root.pem`, root.pem);
    const chainFile = f.file(`${ca.name}-chain.pem`, untrusted.join('') || ca.pem);
    const out = openssl(['verify', '-x509_strict', '-CAfile', rootFile, '-untrusted', chainFile, f.file(`${ca.name}.pem`, ca.pem)]);
    assert.match(out, /: OK/);
  }
  void byName;
  void rootOf;
});

test('ISO 15118 CA profiles: critical CA constraints, path lengths, keyCertSign|cRLSign, DomainComponent', () => {
  const text = (name: string) => openssl(['x509', '-noout', '-text'], f.trust.listCas().find((c) => c.name === name)!.pem);
  assert.match(text('cpo-sub-ca-1'), /Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
  assert.match(text('cpo-sub-ca-2'), /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
  assert.match(text('v2g-root'), /Key Usage: critical\s+Certificate Sign, CRL Sign/);
  assert.match(text('v2g-root'), /DC\s?=\s?V2G/);
  assert.match(text('mo-sub-ca-2'), /ecdsa-with-SHA256/);
  assert.match(text('v2g-root'), /NIST CURVE: P-256/);
});

test('server credentials: ECDSA and RSA chains verify for localhost and the configured host name', () => {
  const { key, cert } = f.trust.serverCredentials();
  assert.equal(key.length, 2);
  const root = f.file('csms-root.pem', f.trust.listCas().find((c) => c.name === 'csms-root')!.pem);
  const algorithms = new Set<string>();
  for (const chain of cert) {
    const [leaf, ...rest] = pemBlocks(chain);
    const leafFile = f.file('server-leaf.pem', leaf!);
    const restFile = f.file('server-rest.pem', rest.join(''));
    for (const host of ['localhost', 'csms.example.test']) {
      assert.match(openssl(['verify', '-purpose', 'sslserver', '-verify_hostname', host, '-CAfile', root, '-untrusted', restFile, leafFile]), /: OK/);
    }
    assert.match(openssl(['verify', '-verify_ip', '127.0.0.1', '-CAfile', root, '-untrusted', restFile, leafFile]), /: OK/);
    algorithms.add(/Public Key Algorithm: (\S+)/.exec(openssl(['x509', '-noout', '-text', '-in', leafFile]))![1]!);
  }
  assert.deepEqual([...algorithms].sort(), ['id-ecPublicKey', 'rsaEncryption']);
});

test('private keys are encrypted at rest and written 0600 in a 0700 folder', () => {
  const dir = path.join(f.dir, 'keys');
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  const files = readdirSync(dir).filter((n) => n.endsWith('.key.pem'));
  assert.ok(files.length >= 18);
  for (const name of files) {
    const file = path.join(dir, name);
    assert.equal(statSync(file).mode & 0o777, 0o600, name);
    assert.match(readFileSync(file, 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
  }
  // OpenSSL opens them with the passphrase and with nothing else.
  assert.match(openssl(['pkey', '-in', path.join(dir, 'csms-root.key.pem'), '-passin', 'pass:test passphrase', '-noout', '-text']), /Private-Key/);
  assert.throws(() => openssl(['pkey', '-in', path.join(dir, 'csms-root.key.pem'), '-passin', 'pass:wrong', '-noout']));
});

test('a second start over the same data dir keeps every CA (idempotent)', async () => {
  const before = f.trust.listCas().map((c) => c.pem);
  const again = await openFixture({}, { dir: f.dir });
  try {
    assert.deepEqual(again.trust.listCas().map((c) => c.pem), before);
    assert.deepEqual(again.trust.serverCredentials().cert, f.trust.serverCredentials().cert);
  } finally {
    await again.close();
  }
});

test('without a passphrase a master key is generated once, 0600, with one warning', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { openDatabase, migrate } = await import('../../src/store/index.js');
  const { createLocalBus } = await import('../../src/bus/index.js');
  const { createTrust, trustMigrations } = await import('../../src/trust/index.js');
  const dir = mkdtempSync(path.join(tmpdir(), 'evg-trust-mk-'));
  const db = await openDatabase({ dataDir: dir });
  try {
    await migrate(db, trustMigrations);
    const warnings: string[] = [];
    const log = { info() {}, warn: (_o: unknown, m: string) => warnings.push(m) };
    await createTrust({ db, bus: createLocalBus(), log }, { dataDir: dir, organization: 'evguard', hostnames: [] });
    await createTrust({ db, bus: createLocalBus(), log }, { dataDir: dir, organization: 'evguard', hostnames: [] });
    assert.equal(warnings.filter((w) => w.includes('EVGUARD_KEY_PASSPHRASE')).length, 1);
    assert.equal(statSync(path.join(dir, 'keys', 'master.key')).mode & 0o777, 0o600);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
