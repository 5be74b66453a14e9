import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { makeCsr, openFixture } from './fixture.js';

const ADMIN = 'postgres://postgres@127.0.0.1:5432/test';

test('the trust tables work on PostgreSQL: hierarchies, issuance, revocation, restart', async (t) => {
  const admin = new pg.Client({ connectionString: ADMIN });
  try {
    await admin.connect();
  } catch {
    t.skip('PostgreSQL is not reachable on 127.0.0.1:5432');
    return;
  }
  const name = `evg_trust_${randomBytes(6).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = `postgres://postgres@127.0.0.1:5432/${name}`;
  try {
    const f = await openFixture({}, undefined, url);
    try {
      const { csrPem } = await makeCsr('CN=CS-PG, O=evguard');
      const r = await f.trust.signStationCsr({ csrPem, stationId: 'CS-PG' });
      await f.trust.revoke(r.serialHex);
      assert.equal((await f.trust.crlDer('station-ca')).length > 0, true);
      const again = await openFixture({}, { dir: f.dir }, url);
      try {
        assert.deepEqual(again.trust.listCas().map((c) => c.pem), f.trust.listCas().map((c) => c.pem));
        assert.equal(again.trust.isRevoked(r.serialHex), true);
        assert.equal(again.trust.listCertificates({ stationId: 'CS-PG' }).length, 1);
      } finally {
        await again.close();
      }
    } finally {
      await f.close();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
});

test('expiry: the newest station certificate per kind is reported when it expires within the window', async () => {
  const f = await openFixture();
  try {
    const { csrPem } = await makeCsr('CN=CS-EXP, O=evguard');
    const first = await f.trust.signStationCsr({ csrPem, stationId: 'CS-EXP' });
    assert.deepEqual(f.trust.expiringStationCertificates(30), []);
    assert.deepEqual(f.trust.expiringStationCertificates(400).map((c) => c.serialHex), [first.serialHex]);
    const second = await f.trust.signStationCsr({ csrPem, stationId: 'CS-EXP' });
    assert.deepEqual(f.trust.publishExpiryAlerts(400).map((c) => c.serialHex), [second.serialHex]);
    assert.ok(f.events.some((e) => e.topic === 'certificate.expiring' && e.stationId === 'CS-EXP'));
    await f.trust.recordInstalledCertificates('CS-EXP', [
      { certificateType: 'CSMSRootCertificate', hashAlgorithm: 'SHA256', issuerNameHash: 'AB', issuerKeyHash: 'CD', serialNumber: '01' },
      { certificateType: 'junk', hashAlgorithm: 'SHA256', issuerNameHash: 'AB', issuerKeyHash: 'CD', serialNumber: 'not hex' },
    ]);
    assert.deepEqual((await f.trust.installedCertificates('CS-EXP')).map((c) => c.certificateType), ['CSMSRootCertificate']);
  } finally {
    await f.close();
  }
});
