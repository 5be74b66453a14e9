/**
 * The station certificate lifecycle over OCPP against a real node and real
 * simulated stations over TLS: renewal on demand for 2.0.1, 2.1 and 1.6
 * (TriggerMessage / ExtendedTriggerMessage → SignCertificate →
 * CertificateSigned), the profile policy for CSRs, moving to profile 3,
 * revocation closing the live session and refusing it afterwards, the trust
 * store (InstallCertificate, GetInstalledCertificateIds, DeleteCertificate)
 * and the inventory, and renewal plus expiry alerts on the schedule alone.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createSimStation, type OcppVersion, type SimStation } from '../../src/sim/index.js';
import { eventually, startTestNode, testDatabases, type TestNode } from '../support/node.js';
import { openssl, pemBlocks } from './fixture.js';

const PW = 'lifecycle-password-0001';


function station(node: TestNode, id: string, ocppVersion: OcppVersion, extra: Partial<Parameters<typeof createSimStation>[0]> = {}): SimStation {
  const ca = node.app.trust.listCas().map((c) => c.pem);
  return createSimStation({ url: node.wss, id, ocppVersion, securityProfile: 2, password: PW, tls: { ca }, callTimeoutMs: 10_000, ...extra });
}

for (const db of testDatabases()) {
  describe(`certificate lifecycle over OCPP (${db})`, () => {
    let node: TestNode;
    before(async () => {
      node = await startTestNode({ db });
    });
    after(() => node.stop());

    for (const version of ['2.0.1', '2.1', '1.6'] as OcppVersion[]) {
      const id = `LC-${version.replace(/\./g, '')}`;
      test(`OCPP ${version}: renewal on demand, profile 3 with the new certificate, revocation closes the session and refuses it`, { timeout: 60_000 }, async () => {
        assert.equal((await node.api('POST', '/api/v1/stations', { id, securityProfile: 2, password: PW })).status, 201);
        const s2 = station(node, id, version);
        let s3: SimStation | undefined;
        try {
          await s2.connect();
          const installed = once(s2, 'certificate');
          const renew = await node.api('POST', `/api/v1/stations/${id}/certificates/renew`, {});
          assert.equal(renew.status, 202, JSON.stringify(renew.body));
          assert.equal(renew.body.reason, 'operator');
          const [pair] = (await installed) as [{ cert: string; key: string }];
          const trigger = (await eventually('the trigger to be recorded', async () => (await node.api('GET', `/api/v1/stations/${id}/certificates`)).body.renewals.find((r: any) => r.state === 'completed')));
          assert.equal(trigger.certificateType, 'ChargingStationCertificate');
          assert.equal(trigger.stationStatus, 'Accepted');

          // OpenSSL judges the chain the station received, up to csms-root.
          const roots = node.app.trust.listCas().find((c) => c.name === 'csms-root')!.pem;
          const [leaf, ...rest] = pemBlocks(pair.cert);
          const dir = node.dataDir;
          const f = (n: string, t: string) => {
            const p = `${dir}/${id}-${n}`;
            writeFileSync(p, t);
            return p;
          };
          assert.match(openssl(['verify', '-CAfile', f('root.pem', roots), '-untrusted', f('sub.pem', rest.join('')), '-purpose', 'sslclient', f('leaf.pem', leaf!)]), /OK/);
          assert.equal(new X509Certificate(leaf!).subject, `CN=${id}\nO=evguard`);

          const inv = (await node.api('GET', `/api/v1/stations/${id}/certificates`)).body;
          assert.equal(inv.issued[0].state, 'valid');
          assert.equal(inv.issued[0].serialHex, trigger.newSerial);

          assert.equal((await node.api('PATCH', `/api/v1/stations/${id}`, { securityProfile: 3 })).status, 200);
          await s2.close();
          if (version === '2.0.1') {
            // OpenSSL, not evguard's simulator, completes mutual TLS with the certificate issued through SignCertificate,
            // and the node upgrades that connection to OCPP: the certificate was accepted.
            await eventually('the old session to end', () => !node.app.gateway.session(id));
            const out = await upgradeWithOpenssl(node, id, f('key.pem', pair.key), f('leaf.pem', leaf!), f('sub.pem', rest.join('')), f('server-roots.pem', node.app.trust.listCas().map((c) => c.pem).join('')));
            assert.match(out, /HTTP\/1\.1 101 Switching Protocols/);
            assert.match(out, /Verification: OK/);
            await eventually('the OpenSSL session to end', () => !node.app.gateway.session(id));
          }
          s3 = station(node, id, version, { securityProfile: 3, password: undefined, tls: { ca: node.app.trust.listCas().map((c) => c.pem), cert: pair.cert, key: pair.key } });
          assert.equal((await s3.connect()).status, 'Accepted');
          assert.equal((await node.api('GET', `/api/v1/stations/${id}`)).body.connected, true);

          const dropped = once(s3, 'disconnect');
          const revoked = await node.api('POST', `/api/v1/certificates/${trigger.newSerial}/revoke`, { reason: 'keyCompromise' });
          assert.equal(revoked.status, 200);
          await dropped;
          await assert.rejects(s3.reconnect());
          // Security events are stored asynchronously after the refusal.
          await eventually('ClientCertificateRejected', async () => ((await node.api('GET', `/api/v1/security-events?stationId=${id}`)).body as { type: string }[]).some((e) => e.type === 'ClientCertificateRejected'));
          assert.equal((await node.api('GET', `/api/v1/stations/${id}/certificates`)).body.issued[0].state, 'revoked');
        } finally {
          await s2.close();
          await s3?.close();
        }
      });
    }

    test('a profile 1 station gets no certificate: SignCertificate is Rejected and recorded, renewal is refused', { timeout: 30_000 }, async () => {
      assert.equal((await node.api('POST', '/api/v1/stations', { id: 'LC-P1', securityProfile: 1, password: PW })).status, 201);
      const s = createSimStation({ url: node.ws, id: 'LC-P1', ocppVersion: '2.0.1', securityProfile: 1, password: PW });
      try {
        await s.connect();
        await assert.rejects(s.requestCertificate(), (err: any) => err.code === 'SIM_CSR_REJECTED');
        const events = await eventually('CsrRejected', async () => {
          const list = (await node.api('GET', '/api/v1/security-events?stationId=LC-P1')).body as { type: string; techInfo?: string }[];
          return list.find((e) => e.type === 'CsrRejected');
        });
        assert.match(events.techInfo!, /security profile 1/);
        const renew = await node.api('POST', '/api/v1/stations/LC-P1/certificates/renew', {});
        assert.equal(renew.status, 400);
        assert.equal(renew.body.error.code, 'CERTIFICATE_TYPE_UNSUPPORTED');
      } finally {
        await s.close();
      }
    });

    test('a station sending CSR after CSR is refused after the hourly limit', { timeout: 30_000 }, async () => {
      assert.equal((await node.api('POST', '/api/v1/stations', { id: 'LC-FLOOD', securityProfile: 2, password: PW })).status, 201);
      const s = station(node, 'LC-FLOOD', '2.0.1');
      try {
        await s.connect();
        let accepted = 0;
        for (let i = 0; i < 12; i++) {
          const res: any = await s.call('SignCertificate', { csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n' });
          if (res.status === 'Accepted') accepted++;
        }
        assert.equal(accepted, 10);
        await eventually('the flood to be recorded', async () => ((await node.api('GET', '/api/v1/security-events?stationId=LC-FLOOD')).body as any[]).some((e) => /more than 10 CSRs/.test(e.techInfo ?? '')));
      } finally {
        await s.close();
      }
    });

  test('bad requests get JSON errors: unknown station, offline station, bad type, bad body', async () => {
      assert.equal((await node.api('POST', '/api/v1/stations/NOPE/certificates/renew', {})).status, 404);
      assert.equal((await node.api('GET', '/api/v1/stations/NOPE/certificates')).status, 404);
      await node.api('POST', '/api/v1/stations', { id: 'LC-OFF', securityProfile: 2, password: PW });
      const off = await node.api('POST', '/api/v1/stations/LC-OFF/certificates/renew', {});
      assert.equal(off.status, 409);
      assert.equal(off.body.error.code, 'STATION_NOT_CONNECTED');
      assert.equal((await node.api('POST', '/api/v1/stations/LC-OFF/certificates/renew', { certificateType: 'Bogus' })).body.error.code, 'CERTIFICATE_TYPE_UNSUPPORTED');
      assert.equal((await node.api('POST', '/api/v1/stations/LC-OFF/certificates/renew', { extra: 1 })).status, 400);
      const bare = await fetch(`${node.http}/api/v1/stations/LC-OFF/certificates/renew`, { method: 'POST', headers: { authorization: `Bearer ${node.adminToken}` } });
      assert.equal(bare.status, 409, 'no body at all is a renewal with defaults');
      const junk = await fetch(`${node.http}/api/v1/stations/LC-OFF/certificates/install`, { method: 'POST', headers: { authorization: `Bearer ${node.adminToken}`, 'content-type': 'application/json' }, body: '{"certificateType":' });
      assert.equal(junk.status, 400);
      assert.equal(((await junk.json()) as any).error.code !== undefined, true);
      assert.equal((await node.api('POST', '/api/v1/stations/LC-OFF/certificates/install', { certificateType: 'CSMSRootCertificate', certificate: 'x'.repeat(6000) })).status, 400);
      assert.equal((await node.api('POST', '/api/v1/stations/LC-OFF/certificates/install', { certificateType: 'Nope' })).status, 400);
      assert.equal((await node.api('DELETE', '/api/v1/stations/LC-OFF/certificates/installed/zz')).body.error.code, 'SERIAL_INVALID');
      const auditor = await node.api('POST', '/api/v1/stations/LC-OFF/certificates/renew', {}, 'not-a-token');
      assert.equal(auditor.status, 401);
    });

    for (const version of ['2.0.1', '1.6'] as OcppVersion[]) {
      test(`OCPP ${version}: trust store over REST — install, query, inventory, delete`, { timeout: 30_000 }, async () => {
        const id = `TS-${version.replace(/\./g, '')}`;
        await node.api('POST', '/api/v1/stations', { id, securityProfile: 2, password: PW });
        const s = station(node, id, version);
        try {
          await s.connect();
          const csmsRoot = node.app.trust.listCas().find((c) => c.name === 'csms-root')!;
          const ok = await node.api('POST', `/api/v1/stations/${id}/certificates/install`, { certificateType: 'CSMSRootCertificate' });
          assert.equal(ok.status, 200, JSON.stringify(ok.body));
          assert.equal(ok.body.status, 'Accepted');
          const onWire = version === '1.6' ? 'CentralSystemRootCertificate' : 'CSMSRootCertificate';
          assert.equal((s as any).installedCertificates()[0].certificateType, onWire);

          const mf = await node.api('POST', `/api/v1/stations/${id}/certificates/install`, { certificateType: 'ManufacturerRootCertificate' });
          assert.equal(mf.body.status, 'Accepted');
          const v2g = await node.api('POST', `/api/v1/stations/${id}/certificates/install`, { certificateType: 'V2GRootCertificate' });
          if (version === '1.6') assert.equal(v2g.body.error.code, 'CERTIFICATE_TYPE_UNSUPPORTED');
          else assert.equal(v2g.body.status, 'Accepted');

          // A leaf is no root; garbage is no certificate.
          const leaf = pemBlocks(node.app.trust.serverCredentials().cert[0]!)[0];
          assert.equal((await node.api('POST', `/api/v1/stations/${id}/certificates/install`, { certificateType: 'MORootCertificate', certificate: leaf })).body.error.code, 'CERTIFICATE_INPUT_INVALID');
          assert.equal((await node.api('POST', `/api/v1/stations/${id}/certificates/install`, { certificateType: 'MORootCertificate', certificate: 'hello' })).body.error.code, 'CERTIFICATE_INPUT_INVALID');

          const query = await node.api('POST', `/api/v1/stations/${id}/certificates/query`);
          assert.equal(query.status, 200);
          const inv = (await node.api('GET', `/api/v1/stations/${id}/certificates`)).body;
          const names = inv.installed.map((e: any) => e.known?.name).sort();
          assert.deepEqual(names, version === '1.6' ? ['csms-root', 'firmware-ca'] : ['csms-root', 'firmware-ca', 'v2g-root']);
          const root = inv.installed.find((e: any) => e.known?.name === 'csms-root');
          assert.equal(root.certificateType, 'CSMSRootCertificate');
          assert.equal(root.known.notAfter, csmsRoot.notAfter);
          assert.ok(root.known.expiresInDays > 3000);

          const fw = inv.installed.find((e: any) => e.known?.name === 'firmware-ca');
          assert.equal((await node.api('DELETE', `/api/v1/stations/${id}/certificates/installed/${fw.serialHex}`)).body.status, 'Accepted');
          const last = await node.api('DELETE', `/api/v1/stations/${id}/certificates/installed/${root.serialHex}`);
          assert.equal(last.status, 409);
          assert.equal(last.body.error.code, 'CERTIFICATE_LAST_ROOT');
          assert.equal((await node.api('DELETE', `/api/v1/stations/${id}/certificates/installed/${root.serialHex}?force=true`)).body.status, 'Accepted');
          assert.equal((await node.api('DELETE', `/api/v1/stations/${id}/certificates/installed/${root.serialHex}`)).status, 404);
          const after = (await node.api('POST', `/api/v1/stations/${id}/certificates/query`)).body.installed.map((e: any) => e.known?.name);
          assert.deepEqual(after, version === '1.6' ? [] : ['v2g-root']);
        } finally {
          await s.close();
        }
      });
    }
  });
}

describe('renewal and expiry alerts on the schedule, without an operator', () => {
  let node: TestNode;
  before(async () => {
    // Every certificate is "about to expire" with a 400-day window; the schedule runs every 200 ms.
    node = await startTestNode({ db: 'sqlite', config: { certificates: { renewBeforeDays: 400, alertBeforeDays: 400, checkIntervalS: 0.2, retryAfterS: 3600 } } });
  });
  after(() => node.stop());

  test('a station certificate inside the renewal window is renewed and the renewal is visible in the API', { timeout: 30_000 }, async () => {
    await node.api('POST', '/api/v1/stations', { id: 'SCHED', securityProfile: 2, password: PW });
    const s = station(node, 'SCHED', '2.0.1');
    try {
      await s.connect();
      const first = once(s, 'certificate');
      await s.requestCertificate();
      const [one] = (await first) as [{ cert: string }];
      const [two] = (await once(s, 'certificate')) as [{ cert: string }];
      assert.notEqual(new X509Certificate(pemBlocks(one.cert)[0]!).serialNumber, new X509Certificate(pemBlocks(two.cert)[0]!).serialNumber);
      const renewal = await eventually('the scheduled renewal', async () => (await node.api('GET', '/api/v1/stations/SCHED/certificates')).body.renewals.find((r: any) => r.state === 'completed'));
      assert.equal(renewal.reason, 'scheduled');
      const inv = (await node.api('GET', '/api/v1/stations/SCHED/certificates')).body;
      assert.deepEqual(inv.issued.map((c: any) => c.state), ['valid', 'superseded']);
      assert.equal(renewal.expiringSerial, inv.issued[1].serialHex);
      assert.equal(renewal.newSerial, inv.issued[0].serialHex);
      assert.equal(inv.expiring[0].serialHex, inv.issued[0].serialHex);
      const alert = await eventually('an expiry security event', async () => ((await node.api('GET', '/api/v1/security-events?stationId=SCHED')).body as any[]).find((e) => e.type === 'CertificateExpiring'));
      assert.match(alert.techInfo, /station certificate [0-9a-f]+ expires/);
    } finally {
      await s.close();
    }
  });
});

/** openssl s_client with the station's key and chain, sending a WebSocket upgrade for OCPP 2.0.1; resolves with its output once answered. */
function upgradeWithOpenssl(node: TestNode, id: string, key: string, cert: string, chain: string, roots: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${node.app.ports.https}`, '-servername', 'localhost', '-brief', '-ign_eof',
      '-key', key, '-cert', cert, '-cert_chain', chain, '-CAfile', roots, '-verify_return_error'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => child.kill(), 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/\r?\n\r?\n/.test(out.slice(out.indexOf('HTTP/1.1')))) child.kill();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    child.stdin.write([
      `GET /ocpp/${id} HTTP/1.1`, 'Host: localhost', 'Upgrade: websocket', 'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Protocol: ocpp2.0.1', '', '',
    ].join('\r\n'));
  });
}
