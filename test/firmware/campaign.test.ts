/**
 * End to end over real sockets: an evguard node, simulated 1.6 (with and
 * without the security extension), 2.0.1 and 2.1 stations that download over
 * HTTPS, check the signature and certificate, verify TUF metadata with
 * tuf-js and reboot into the new version.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestNode, testDatabases, type TestNode } from '../support/node.js';
import type { OcppVersion, SimStation } from '../../src/sim/index.js';
import { MODEL, VENDOR, startStation, stationFirmwareOptions, upload, waitCampaign, waitFor } from './helpers.js';

for (const db of testDatabases()) {
  describe(`firmware campaigns (${db})`, { timeout: 120_000 }, () => {
    let node: TestNode;
    const stations: SimStation[] = [];
    const ids: string[] = [];
    let v2: any;

    before(async () => {
      node = await startTestNode({ db });
      const r = await upload(node, { vendor: VENDOR, model: MODEL, version: '2.0.0' }, Buffer.from('firmware 2.0.0 '.repeat(4000)));
      assert.equal(r.status, 201, JSON.stringify(r.body));
      v2 = r.body;
      const fw = await stationFirmwareOptions(node);
      const fleet: [string, OcppVersion, string][] = [
        ['fw16a', '1.6', '1.0.0'], ['fw16b', '1.6', '1.5.0'], ['fw201a', '2.0.1', '1.0.0'], ['fw201b', '2.0.1', '1.9.9'], ['fw21a', '2.1', '1.2.0'], ['fw21b', '2.1', '1.0.0'],
      ];
      for (const [id, v, ver] of fleet) {
        stations.push(await startStation(node, id, v, ver, fw));
        ids.push(id);
      }
      // A 1.6 station without the security extension: only plain UpdateFirmware.
      stations.push(await startStation(node, 'fw16plain', '1.6', '1.0.0', { ...fw, securityExtension: false, tuf: undefined }));
      ids.push('fw16plain');
    });
    after(async () => {
      for (const s of stations) await s.close().catch(() => undefined);
      await node.stop();
    });

    test('upload stores the SHA-256 and an OCPP signature that OpenSSL verifies', async () => {
      assert.match(v2.sha256, /^[0-9a-f]{64}$/);
      assert.equal(v2.signed, true);
      const dir = mkdtempSync(path.join(tmpdir(), 'fw-openssl-'));
      writeFileSync(path.join(dir, 'image.bin'), readFileSync(path.join(node.dataDir, 'firmware', 'images', `${v2.sha256}.bin`)));
      writeFileSync(path.join(dir, 'sig.der'), Buffer.from(v2.signature, 'base64'));
      writeFileSync(path.join(dir, 'cert.pem'), v2.signingCertificate);
      execFileSync('openssl', ['x509', '-in', path.join(dir, 'cert.pem'), '-pubkey', '-noout', '-out', path.join(dir, 'pub.pem')]);
      const out = execFileSync('openssl', ['dgst', '-sha256', '-verify', path.join(dir, 'pub.pem'), '-signature', path.join(dir, 'sig.der'), path.join(dir, 'image.bin')]).toString();
      assert.match(out, /Verified OK/);
      // Issued directly by the manufacturer root (firmware-ca), with the codeSigning EKU.
      const cas = (await node.api('GET', '/api/v1/pki/cas')).body as any[];
      writeFileSync(path.join(dir, 'root.pem'), cas.find((c) => c.name === 'firmware-ca').pem);
      const chk = execFileSync('openssl', ['verify', '-partial_chain', '-purpose', 'any', '-CAfile', path.join(dir, 'root.pem'), path.join(dir, 'cert.pem')]).toString();
      assert.match(chk, /OK/);
      assert.match(execFileSync('openssl', ['x509', '-in', path.join(dir, 'cert.pem'), '-noout', '-ext', 'extendedKeyUsage']).toString(), /Code Signing/);
    });

    test('bad uploads get 4xx JSON errors', async () => {
      assert.equal((await upload(node, { vendor: VENDOR, model: MODEL, version: '2.0.0' }, Buffer.from('x'))).body.error.code, 'FIRMWARE_DUPLICATE');
      assert.equal((await upload(node, { vendor: VENDOR, model: MODEL, version: '../../etc' }, Buffer.from('x'))).status, 400);
      assert.equal((await upload(node, { vendor: VENDOR, model: MODEL } as any, Buffer.from('x'))).status, 400);
      const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const bad = await upload(node, { vendor: VENDOR, model: MODEL, version: '9.9.9' }, Buffer.from('img'), {
        'x-firmware-signature': sign('sha256', Buffer.from('img'), key).toString('base64'),
        'x-firmware-signing-certificate': Buffer.from(v2.signingCertificate).toString('base64'),
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, 'FIRMWARE_SIGNATURE_INVALID');
      assert.equal((await node.api('POST', '/api/v1/campaigns', { firmwareId: v2.id })).body.error.code, 'CAMPAIGN_INVALID');
      assert.equal((await node.api('POST', '/api/v1/campaigns', { firmwareId: v2.id, stationIds: ['nope'] })).status, 400);
      assert.equal((await node.api('GET', '/api/v1/campaigns/does-not-exist')).status, 404);
    });

    test('a campaign with canary and waves completes across 1.6, 2.0.1 and 2.1', async () => {
      const res = await node.api('POST', '/api/v1/campaigns', { firmwareId: v2.id, stationIds: ids, canaryPercent: 15, waveSize: 3, failureThresholdPercent: 20, allowInsecure: true });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.stations.filter((s: any) => s.wave === 0).length, 2);
      const done = await waitCampaign(node, res.body.id, ['completed', 'halted']);
      assert.equal(done.state, 'completed', JSON.stringify(done.stations));
      for (const s of done.stations) {
        assert.equal(s.state, 'succeeded', `${s.stationId}: ${s.detail}`);
        assert.equal(s.reportedVersion, '2.0.0');
      }
      assert.equal(done.stations.find((s: any) => s.stationId === 'fw16plain').insecure, true);
      assert.equal(done.stations.filter((s: any) => s.insecure).length, 1);
      for (const id of ids) assert.equal((await node.api('GET', `/api/v1/stations/${id}`)).body.firmwareVersion, '2.0.0');
    });

    test('a tampered image is refused by the canary and halts the campaign', async () => {
      const r = await upload(node, { vendor: VENDOR, model: MODEL, version: '2.1.0' }, Buffer.from('firmware 2.1.0 '.repeat(4000)));
      const c = (await node.api('POST', '/api/v1/campaigns', { firmwareId: r.body.id, stationIds: ids.slice(0, 6), canaryPercent: 10, waveSize: 2, failureThresholdPercent: 10, paused: true })).body;
      assert.equal(c.state, 'paused');
      // The image is swapped on the server after the campaign was approved.
      const blob = path.join(node.dataDir, 'firmware', 'images', `${r.body.sha256}.bin`);
      const bytes = readFileSync(blob);
      bytes[100] ^= 0xff;
      writeFileSync(blob, bytes);
      assert.equal((await node.api('POST', `/api/v1/campaigns/${c.id}/resume`)).status, 200);
      const halted = await waitCampaign(node, c.id, ['halted', 'completed']);
      assert.equal(halted.state, 'halted');
      assert.match(halted.haltReason, /1 of 1/);
      const canary = halted.stations.find((s: any) => s.wave === 0);
      assert.equal(canary.state, 'failed');
      assert.equal(canary.ocppStatus, 'InvalidSignature');
      assert.equal(halted.stations.filter((s: any) => s.state === 'pending').length, 5);
      const events = (await node.api('GET', `/api/v1/security-events?stationId=${canary.stationId}`)).body;
      assert.ok(JSON.stringify(events).includes('InvalidFirmwareSignature'));
      const aborted = (await node.api('POST', `/api/v1/campaigns/${c.id}/abort`)).body;
      assert.equal(aborted.state, 'aborted');
      assert.equal(aborted.stations.filter((s: any) => s.state === 'skipped').length, 5);
      assert.equal((await node.api('POST', `/api/v1/campaigns/${c.id}/resume`)).body.error.code, 'CAMPAIGN_STATE');
    });

    test('a downgrade is refused unless an admin forces it with a reason', async () => {
      const r = await upload(node, { vendor: VENDOR, model: MODEL, version: '1.8.0' }, Buffer.from('firmware 1.8.0 '.repeat(4000)));
      const refused = (await node.api('POST', '/api/v1/campaigns', { firmwareId: r.body.id, stationIds: ['fw201a', 'fw21a'] })).body;
      assert.equal(refused.state, 'completed');
      for (const s of refused.stations) {
        assert.equal(s.state, 'refused');
        assert.match(s.detail, /rollback refused/);
      }
      const operator = (await node.api('POST', '/api/v1/tokens', { name: 'ops', role: 'operator' })).body.token;
      const forbidden = await node.api('POST', '/api/v1/campaigns', { firmwareId: r.body.id, stationIds: ['fw201a'], force: { reason: 'field recall of 2.0.0' } }, operator);
      assert.equal(forbidden.status, 403);
      assert.equal(forbidden.body.error.code, 'CAMPAIGN_FORCE_FORBIDDEN');
      const forced = await node.api('POST', '/api/v1/campaigns', { firmwareId: r.body.id, stationIds: ['fw201a'], force: { reason: 'field recall of 2.0.0' } });
      assert.equal(forced.status, 201);
      const done = await waitCampaign(node, forced.body.id, ['completed', 'halted']);
      assert.equal(done.stations[0].state, 'succeeded', done.stations[0].detail);
      assert.equal(done.stations[0].reportedVersion, '1.8.0');
      const audit = (await node.api('GET', '/api/v1/audit?limit=50')).body;
      assert.ok(JSON.stringify(audit).includes('field recall of 2.0.0'), 'the forced downgrade reason is in the audit log');
    });

    test('stations refuse a foreign signing certificate and a revoked one', async () => {
      const img = (await node.api('GET', '/api/v1/firmware')).body.find((i: any) => i.version === '2.0.0');
      const location = `https://127.0.0.1:${node.app.ports.https}/firmware/d/${'A'.repeat(43)}/image/${img.targetPath}`;
      const dir = mkdtempSync(path.join(tmpdir(), 'fw-foreign-'));
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem'), '-subj', '/CN=impostor', '-days', '2'], { stdio: 'ignore' });
      const foreign = readFileSync(path.join(dir, 'c.pem'), 'utf8');
      for (const id of ['fw201b', 'fw16b']) {
        const action = id.startsWith('fw16') ? 'SignedUpdateFirmware' : 'UpdateFirmware';
        const res = await node.api('POST', `/api/v1/stations/${id}/calls`, { action, payload: { requestId: 7, firmware: { location, retrieveDateTime: new Date().toISOString(), signingCertificate: foreign, signature: img.signature } } });
        assert.equal(res.body.status ?? res.body.response?.status, 'InvalidCertificate', JSON.stringify(res.body));
      }
      const serial = (await node.api('GET', '/api/v1/certificates')).body.find((c: any) => c.kind === 'code-signing').serialHex;
      assert.equal((await node.api('POST', `/api/v1/certificates/${serial}/revoke`, { reason: 'keyCompromise' })).status, 200);
      const res = await node.api('POST', '/api/v1/stations/fw21b/calls', { action: 'UpdateFirmware', payload: { requestId: 8, firmware: { location, retrieveDateTime: new Date().toISOString(), signingCertificate: img.signingCertificate, signature: img.signature } } });
      assert.equal(res.body.status ?? res.body.response?.status, 'RevokedCertificate', JSON.stringify(res.body));
      // A campaign would not ship it either: evguard re-signs with a fresh certificate.
      const resigned = (await node.api('POST', `/api/v1/firmware/${img.id}/sign`)).body;
      assert.notEqual(resigned.signingCertificate, img.signingCertificate);
    });

    test('downloads are HTTPS-only, per token, and unknown tokens get 404', async () => {
      const res = await fetch(`${node.http}/firmware/d/${'B'.repeat(43)}/image/x.bin`);
      assert.equal(res.status, 404);
      assert.equal(((await res.json()) as any).error.code, 'DOWNLOAD_NOT_FOUND');
      await waitFor(async () => true);
    });
  });
}
