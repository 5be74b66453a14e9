import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { runPkiCommand } from '../../src/trust/cli.js';
import { makeCsr, openFixture, openssl, pemBlocks } from './fixture.js';

const dir = mkdtempSync(path.join(tmpdir(), 'evg-pki-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const env = { EVGUARD_KEY_PASSPHRASE: 'cli passphrase' };
async function pki(...args: string[]) {
  let out = '';
  let err = '';
  const code = await runPkiCommand([...args], { env, out: (t) => { out += t; }, err: (t) => { err += t; } });
  return { code, out, err };
}

test('offline root: import the operator root without its key, export sub-CA CSRs, sign them with openssl, import them back', async () => {
  const f = (n: string) => path.join(dir, n);
  openssl(['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('root.key'), '-out', f('root.pem'), '-days', '3650',
    '-subj', '/CN=Operator Offline Root/O=evguard', '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:1', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const imported = await pki('import', 'csms-root', '--cert', f('root.pem'), '--data-dir', dir);
  assert.equal(imported.code, 0, imported.err);
  assert.match(imported.out, /key offline/);
  writeFileSync(f('ext.cnf'), '[v3]\nbasicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  for (const ca of ['station-ca', 'server-ca']) {
    const exported = await pki('export-csr', ca, '-o', f(`${ca}.csr`), '--data-dir', dir);
    assert.equal(exported.code, 0, exported.err);
    openssl(['x509', '-req', '-in', f(`${ca}.csr`), '-CA', f('root.pem'), '-CAkey', f('root.key'), '-CAcreateserial', '-days', '1000', '-extfile', f('ext.cnf'), '-extensions', 'v3', '-out', f(`${ca}.pem`)]);
    const back = await pki('import', ca, '--cert', f(`${ca}.pem`), '--data-dir', dir);
    assert.equal(back.code, 0, back.err);
    assert.match(back.out, /key online/);
  }
  const list = await pki('list', '--json', '--data-dir', dir);
  const cas = JSON.parse(list.out) as { name: string; offline: boolean }[];
  assert.equal(cas.find((c) => c.name === 'csms-root')!.offline, true);
  assert.equal(cas.find((c) => c.name === 'station-ca')!.offline, false);

  // The server starts on it: station certificates chain to the operator's root, judged by openssl.
  const fx = await openFixture({ keyPassphrase: 'cli passphrase' }, { dir });
  try {
    const { csrPem } = await makeCsr('CN=CS-OFF, O=evguard');
    const r = await fx.trust.signStationCsr({ csrPem, stationId: 'CS-OFF' });
    const [leaf, sub] = pemBlocks(r.certificateChainPem);
    assert.match(openssl(['verify', '-CAfile', f('root.pem'), '-untrusted', fx.file('o-sub.pem', sub!), fx.file('o-leaf.pem', leaf!)]), /: OK/);
    const [server, serverCa] = pemBlocks(fx.trust.serverCredentials().cert[0]!);
    assert.match(openssl(['verify', '-CAfile', f('root.pem'), '-untrusted', fx.file('o-ssub.pem', serverCa!), fx.file('o-srv.pem', server!)]), /: OK/);
    const revoked = await pki('revoke', r.serialHex, '--reason', 'keyCompromise', '--data-dir', dir);
    assert.equal(revoked.code, 0, revoked.err);
    assert.match(revoked.out, /station CS-OFF/);
  } finally {
    await fx.close();
  }
  assert.ok(readFileSync(f('station-ca.csr'), 'utf8').includes('BEGIN CERTIFICATE REQUEST'));
});

test('bad input exits 2 with a message; --help exits 0', async () => {
  assert.equal((await pki('--help')).code, 0);
  assert.equal((await pki('import', '--help')).code, 0);
  assert.equal((await pki('import', 'v2g-root', '--data-dir', dir)).code, 2, 'missing --cert');
  const missing = await pki('import', 'v2g-root', '--cert', path.join(dir, 'nope.pem'), '--data-dir', dir);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /cannot read the certificate file/);
  writeFileSync(path.join(dir, 'junk.pem'), 'junk');
  assert.equal((await pki('import', 'v2g-root', '--cert', path.join(dir, 'junk.pem'), '--data-dir', dir)).code, 2);
  assert.equal((await pki('import', 'no-such-ca', '--cert', path.join(dir, 'root.pem'), '--data-dir', dir)).code, 2);
  // A root that is not the CA's parent: station-ca must be issued by csms-root.
  assert.equal((await pki('import', 'station-ca', '--cert', path.join(dir, 'root.pem'), '--data-dir', dir)).code, 2);
  assert.equal((await pki('revoke', 'not-hex', '--data-dir', dir)).code, 2);
  assert.equal((await pki('revoke', 'abcdef', '--data-dir', dir)).code, 2);
  assert.equal((await pki('frobnicate')).code, 2);
});
