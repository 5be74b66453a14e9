/**
 * Threat sharing in a real node: TAXII under the node's HTTP server with its
 * bearer tokens, indicators POSTed over TAXII refusing stations at the
 * WebSocket upgrade, brute-force alerts shared as STIX, `evguard intel` run as
 * a real process, and push/pull between two nodes, on SQLite and PostgreSQL.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { eventually, startTestNode, testDatabases, type TestNode } from '../support/node.js';
import { stationCsr } from '../support/pki.js';
import { createTaxiiClient, TAXII_MEDIA_TYPE, type StixObject } from '../../src/intel/index.js';
import type { BusEvent } from '../../src/bus/index.js';
import { openIntelNode } from '../../src/cli/intel-node.js';
import { runAttack } from '../../src/sim/attacks.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PW = 'intel-station-password-01';
const FIRMWARE = 'e3'.repeat(32);
const BLOCKED_ADDRESS = '127.0.0.9';
const PULLED_ADDRESS = '127.0.0.12';

interface Call { status: number; headers: Headers; body: any }

async function taxii(node: TestNode, p: string, o: { method?: string; body?: unknown; token?: string | null } = {}): Promise<Call> {
  const headers: Record<string, string> = { accept: TAXII_MEDIA_TYPE };
  if (o.token !== null) headers.authorization = `Bearer ${o.token ?? node.adminToken}`;
  if (o.body !== undefined) headers['content-type'] = TAXII_MEDIA_TYPE;
  const res = await fetch(`${node.http}/taxii2/${p}`, { method: o.method ?? (o.body !== undefined ? 'POST' : 'GET'), headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** Every object of a collection, following `next`. */
async function collection(node: TestNode, alias: string, query = ''): Promise<StixObject[]> {
  const out: StixObject[] = [];
  let next: string | undefined;
  do {
    const q = new URLSearchParams(query);
    if (next) q.set('next', next);
    const res = await taxii(node, `evguard/collections/${alias}/objects/?${q}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    out.push(...(res.body.objects ?? []));
    next = res.body.more ? res.body.next : undefined;
  } while (next);
  return out;
}

/** Waits for background work (a sighting written, an alert shared) to show; the assertion is on content, never on time. */

/** HTTP status of a WebSocket upgrade (101 when accepted), optionally from a chosen loopback address. */
function upgradeStatus(url: string, o: { user?: string; password?: string; localAddress?: string; ca?: string[]; cert?: string; key?: string } = {}): Promise<number> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = {};
    if (o.user) headers.authorization = `Basic ${Buffer.from(`${o.user}:${o.password ?? ''}`).toString('base64')}`;
    const ws = new WebSocket(url, 'ocpp2.0.1', { headers, localAddress: o.localAddress, ca: o.ca, cert: o.cert, key: o.key, handshakeTimeout: 5000 });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (req, res) => {
      resolve(res.statusCode ?? -1);
      req.destroy();
    });
    ws.on('error', () => resolve(-1));
  });
}

function indicator(pattern: string, name: string): StixObject {
  const now = new Date().toISOString();
  return {
    type: 'indicator', spec_version: '2.1', id: `indicator--${randomUUID()}`, created: now, modified: now,
    name, pattern, pattern_type: 'stix', valid_from: now, indicator_types: ['malicious-activity'],
  } as StixObject;
}

/** Runs the real CLI in its own process. */
function cli(args: string[], env: Record<string, string | undefined>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const PSEUDONYM_KEY = 'partners-shared-pseudonym-key-01';
/** What `evguard intel` needs to open a node's data: its database and its configuration (here the pseudonym key). */
const dbEnv = (node: TestNode) => ({ EVGUARD_DATABASE_URL: node.app.config.databaseUrl ?? '', EVGUARD_INTEL_PSEUDONYM_KEY: PSEUDONYM_KEY });

for (const db of testDatabases()) {
  describe(`threat sharing in a running node (${db})`, () => {
    let a: TestNode;
    let b: TestNode;
    const sighted: BusEvent[] = [];

    before(async () => {
      // Partners that share the pseudonym key match each other's station indicators.
      const config = { intel: { pseudonymKey: PSEUDONYM_KEY } };
      a = await startTestNode({ db, config });
      b = await startTestNode({ db, config });
      a.app.bus.subscribe('intel.indicator.sighted', (e) => sighted.push(e));
      for (const id of ['CS-ADDR', 'CS-BRUTE', 'CS-NAMED']) assert.equal((await a.api('POST', '/api/v1/stations', { id, securityProfile: 1, password: PW })).status, 201);
    });
    after(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
    });

    it('serves TAXII at /taxii2/ with the node\'s bearer tokens and per-collection rights, and audits mutating calls', async () => {
      assert.equal((await taxii(a, '', { token: null })).status, 401);
      const discovery = await taxii(a, '');
      assert.equal(discovery.status, 200);
      assert.equal(discovery.headers.get('content-type'), TAXII_MEDIA_TYPE);
      assert.match(discovery.body.default, /\/taxii2\/evguard\/$/);
      // The same routes on the node's HTTPS listener.
      const overTls = await new Promise<number>((resolve, reject) => {
        https.get(`https://localhost:${a.app.ports.https}/taxii2/`, { ca: a.app.trust.listCas().map((c) => c.pem), headers: { accept: TAXII_MEDIA_TYPE, authorization: `Bearer ${a.adminToken}` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? -1);
        }).on('error', reject);
      });
      assert.equal(overTls, 200);

      const auditor = await a.api('POST', '/api/v1/tokens', { name: 'isac-reader', role: 'auditor' });
      assert.equal(auditor.status, 201);
      assert.equal((await taxii(a, 'evguard/collections/shared/objects/', { token: auditor.body.token })).status, 200);
      const refused = await taxii(a, 'evguard/collections/inbox/objects/', { token: auditor.body.token, body: { objects: [indicator("[ipv4-addr:value = '198.51.100.1']", 'x')] } });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error.code, 'TAXII_FORBIDDEN');

      // TAXII's max_content_length (10 MiB), not the REST API's 1 MiB body limit, applies under /taxii2/.
      const big = { ...indicator("[ipv4-addr:value = '198.51.100.2']", 'Large description'), description: 'x'.repeat(1536 * 1024) };
      const accepted = await taxii(a, 'evguard/collections/inbox/objects/', { body: { objects: [big] } });
      assert.equal(accepted.status, 202, JSON.stringify(accepted.body).slice(0, 300));

      const audit = await a.api('GET', '/api/v1/audit?limit=50');
      const entry = audit.body.find((e: any) => String(e.action).startsWith('POST /taxii2/') && e.actor === 'isac-reader');
      assert.ok(entry, JSON.stringify(audit.body.slice(0, 5)));
      assert.equal(entry.outcome, 'refused');
    });

    it('enforces an indicator POSTed over TAXII: the address is refused at connection, with a sighting shared back', async () => {
      const ind = indicator(`[ipv4-addr:value = '${BLOCKED_ADDRESS}']`, 'Charging-station botnet controller');
      const posted = await taxii(a, 'evguard/collections/inbox/objects/', { body: { objects: [ind] } });
      assert.equal(posted.status, 202, JSON.stringify(posted.body));
      assert.equal(posted.body.success_count, 1);
      assert.equal(a.app.intel.match({ remoteAddress: BLOCKED_ADDRESS })?.indicatorId, ind.id);

      // The right password from the named address is refused; from another address it is accepted.
      assert.equal(await upgradeStatus(`${a.ws}/CS-ADDR`, { user: 'CS-ADDR', password: PW, localAddress: BLOCKED_ADDRESS }), 403);
      assert.equal(await upgradeStatus(`${a.ws}/CS-ADDR`, { user: 'CS-ADDR', password: PW, localAddress: '127.0.0.1' }), 101);

      const sighting = await eventually('the sighting', async () =>
        (await collection(a, 'shared', 'match[type]=sighting')).find((o) => o.sighting_of_ref === ind.id));
      assert.equal(a.app.intel.validate(sighting).valid, true);
      assert.ok(sighted.some((e) => (e.data as { indicatorId: string }).indicatorId === ind.id));
      const blocked = await eventually('a BlockedByIndicator security event', async () =>
        ((await a.api('GET', '/api/v1/security-events?stationId=CS-ADDR')).body as { type: string; techInfo?: string }[]).find((e) => e.type === 'BlockedByIndicator'));
      assert.ok(blocked.techInfo?.includes(ind.id), JSON.stringify(blocked));
    });

    it('turns a station id named by an indicator into a sighting and a security event when that station connects', async () => {
      const ind = indicator("[x-evguard-charging-station:station_id = 'CS-NAMED']", 'Station with cloned credentials');
      assert.equal((await taxii(a, 'evguard/collections/inbox/objects/', { body: { objects: [ind] } })).body.success_count, 1);
      // Not refused: the id alone does not say the connection is hostile, but the operator must hear of it.
      assert.equal(await upgradeStatus(`${a.ws}/CS-NAMED`, { user: 'CS-NAMED', password: PW }), 101);
      const sighting = await eventually('the sighting', async () =>
        (await collection(a, 'shared', 'match[type]=sighting')).find((o) => o.sighting_of_ref === ind.id));
      assert.match(String(sighting.description), /^Seen at charging station station-[0-9a-f]+$/);
      // The security event is stored after the upgrade is answered.
      await eventually('an IndicatorSighted security event', async () =>
        ((await a.api('GET', '/api/v1/security-events?stationId=CS-NAMED')).body as { type: string; techInfo?: string }[]).find((e) => e.type === 'IndicatorSighted' && e.techInfo?.includes(ind.id)));
    });

    it('shares the alert raised by a simulated brute force as valid, pseudonymised STIX in the shared collection', async () => {
      const attack = await runAttack('brute-force', { url: a.ws, stationIds: ['CS-BRUTE'] });
      assert.ok(attack.sent >= 5 && !attack.outcomes['connect:accepted'], JSON.stringify(attack.outcomes));
      // Security events are recorded in the background of each refused handshake.
      await eventually('the brute-force alert', async () =>
        (await a.api('GET', '/api/v1/alerts?stationId=CS-BRUTE')).body.find((x: any) => x.detector === 'bruteForce'));

      const report = await eventually('the shared report', async () =>
        (await collection(a, 'shared', 'match[type]=report')).find((o) => (o.labels as string[]).includes('detector:bruteForce')));
      const objects = await collection(a, 'shared');
      for (const o of objects) assert.deepEqual(a.app.intel.validate(o), { valid: true, errors: [] }, o.id);
      for (const ref of report.object_refs as string[]) assert.ok(objects.some((o) => o.id === ref), `${ref} is in the collection`);
      // Each object was added after those it refers to, so no reader ever saw the report before its indicators.
      const added = (await collection(a, 'shared', 'match[version]=all')).map((o) => o.id);
      for (const ref of report.object_refs as string[]) assert.ok(added.indexOf(ref) < added.indexOf(report.id as string), `${ref} was added before the report`);
      assert.ok(objects.some((o) => o.type === 'infrastructure'));
      assert.ok(!JSON.stringify(objects).includes('CS-BRUTE'), 'station ids leave the node only as pseudonyms');
    });

    it('`evguard intel export` prints one schema-valid bundle, the same objects the node shares', async () => {
      const run = await cli(['intel', 'export', '--data-dir', a.dataDir], dbEnv(a));
      assert.equal(run.code, 0, run.stderr);
      const bundle = JSON.parse(run.stdout);
      assert.equal(bundle.type, 'bundle');
      assert.deepEqual(a.app.intel.validate(bundle), { valid: true, errors: [] });
      const shared = await collection(a, 'shared', 'match[type]=report');
      const exported = bundle.objects.filter((o: StixObject) => o.type === 'report');
      assert.ok(exported.length >= 1);
      for (const r of exported) assert.ok(shared.some((s) => s.id === r.id), 'same deterministic ids as the shared collection');

      // What the command opens: the node's alerts, filtered by --since, with the evidence the mapping reads.
      const saved = process.env.EVGUARD_DATABASE_URL;
      process.env.EVGUARD_DATABASE_URL = a.app.config.databaseUrl ?? '';
      try {
        // Without the node's key the command refuses, rather than share under other pseudonyms.
        await assert.rejects(openIntelNode({ dataDir: a.dataDir }), { code: 'INTEL_INVALID_INPUT', message: /pseudonym key/ });
        process.env.EVGUARD_INTEL_PSEUDONYM_KEY = PSEUDONYM_KEY;
        const opened = await openIntelNode({ dataDir: a.dataDir });
        try {
          const brute = (await opened.alerts()).find((x) => x.detector === 'bruteForce');
          assert.equal(brute?.stationId, 'CS-BRUTE');
          assert.equal(brute?.evidence.remoteAddress, '127.0.0.1');
          assert.deepEqual(await opened.alerts('2999-01-01T00:00:00.000Z'), []);
        } finally {
          await opened.close();
        }
        if (db === 'sqlite') {
          const empty = mkdtempSync(path.join(tmpdir(), 'evg-intel-empty-'));
          await assert.rejects(openIntelNode({ dataDir: empty }), { code: 'INTEL_INVALID_INPUT' });
          rmSync(empty, { recursive: true, force: true });
        }
      } finally {
        delete process.env.EVGUARD_INTEL_PSEUDONYM_KEY;
        if (saved === undefined) delete process.env.EVGUARD_DATABASE_URL;
        else process.env.EVGUARD_DATABASE_URL = saved;
      }

    });

    it('pushes to and pulls from another node over TAXII, which then refuses the certificate, address and firmware named', async () => {
      // B has a profile 3 station with a certificate of its own PKI.
      const ca = b.app.trust.listCas().map((c) => c.pem);
      assert.equal((await b.api('POST', '/api/v1/stations', { id: 'CS-CERT', securityProfile: 2, password: PW })).status, 201);
      const { csrPem, keyPem } = await stationCsr('CS-CERT', 'evguard');
      const signed = await b.app.trust.signStationCsr({ csrPem, stationId: 'CS-CERT' });
      assert.equal((await b.api('PATCH', '/api/v1/stations/CS-CERT', { securityProfile: 3 })).status, 200);
      const mtls = { ca, cert: signed.certificateChainPem, key: keyPem };
      assert.equal(await upgradeStatus(`${b.wss}/CS-CERT`, mtls), 101);
      assert.equal((await b.api('POST', '/api/v1/stations', { id: 'CS-PULLED', securityProfile: 1, password: PW })).status, 201);

      // A publishes indicators naming B's station certificate, an address and a firmware image.
      const named = [
        indicator(`[x509-certificate:serial_number = '${signed.serialHex}']`, 'Stolen station key'),
        indicator(`[ipv4-addr:value = '${PULLED_ADDRESS}']`, 'Scanner'),
        indicator(`[file:hashes.'SHA-256' = '${FIRMWARE}']`, 'Backdoored firmware'),
      ];
      assert.equal((await taxii(a, 'evguard/collections/shared/objects/', { body: { objects: named } })).body.success_count, 3);

      // Both commands at once, each in its own process: push A's alerts into B's inbox, and pull A's shared collection into B.
      const [push, pull] = await Promise.all([
        cli(['intel', 'push', '--url', `${b.http}/taxii2/`, '--collection', 'inbox', '--data-dir', a.dataDir], { ...dbEnv(a), EVGUARD_TAXII_TOKEN: b.adminToken }),
        cli(['intel', 'pull', '--url', `${a.http}/taxii2/`, '--collection', 'shared', '--data-dir', b.dataDir], { ...dbEnv(b), EVGUARD_TAXII_TOKEN: a.adminToken }),
      ]);
      assert.equal(push.code, 0, push.stderr);
      const pushed = JSON.parse(push.stdout);
      assert.ok(pushed.pushed > 0, push.stdout);
      assert.equal(pushed.failureCount, 0, push.stdout);
      const aReports = await collection(a, 'shared', 'match[type]=report');
      const inB = await collection(b, 'inbox', 'match[type]=report');
      for (const r of aReports) assert.ok(inB.some((o) => o.id === r.id), `${r.id} reached B`);
      const aIndicators = (await collection(a, 'shared', 'match[type]=indicator')).map((o) => o.id).filter((id) => !named.some((n) => n.id === id));
      assert.ok(aIndicators.length > 0 && aIndicators.every((id) => b.app.intel.indicators().some((i) => i.indicatorId === id)), 'B enforces what A pushed');
      // The station A saw attacked (known to B under the same pseudonym) is sighted when it connects to B.
      assert.equal((await b.api('POST', '/api/v1/stations', { id: 'CS-BRUTE', securityProfile: 1, password: PW })).status, 201);
      assert.equal(await upgradeStatus(`${b.ws}/CS-BRUTE`, { user: 'CS-BRUTE', password: PW }), 101);
      await eventually('B\'s sighting of A\'s station indicator', async () =>
        (await collection(b, 'shared', 'match[type]=sighting')).find((o) => aIndicators.includes(String(o.sighting_of_ref))));

      // Pull: B enforces the indicators A named.
      assert.equal(pull.code, 0, pull.stderr);
      const pulled = JSON.parse(pull.stdout);
      assert.equal(pulled.rejected, 0, pull.stdout);
      assert.ok(pulled.enforced >= 3, pull.stdout);
      // The pull ran in another process: the running node picks the indicators up from the database.
      await b.app.intel.reload();

      assert.equal(await upgradeStatus(`${b.wss}/CS-CERT`, mtls), 403);
      assert.equal(await upgradeStatus(`${b.ws}/CS-PULLED`, { user: 'CS-PULLED', password: PW, localAddress: PULLED_ADDRESS }), 403);
      assert.equal(b.app.intel.isFirmwareBlocked(FIRMWARE.toUpperCase())?.indicatorId, named[2]!.id);
      assert.equal(b.app.intel.isFirmwareBlocked('00'.repeat(32)), undefined);
      await eventually('a ClientCertificateRejected event naming the indicator', async () =>
        ((await b.api('GET', '/api/v1/security-events?stationId=CS-CERT')).body as { type: string; techInfo?: string }[]).find((e) => e.type === 'ClientCertificateRejected' && e.techInfo?.includes(named[0]!.id)));
      await eventually('B\'s sightings', async () => {
        const sightings = await collection(b, 'shared', 'match[type]=sighting');
        return named.slice(0, 2).every((n) => sightings.some((s) => s.sighting_of_ref === n.id)) ? true : undefined;
      });

      // The next pull, here from the running node, continues where the command's pull stopped.
      const again = await b.app.intel.pullFrom(createTaxiiClient({ url: `${a.http}/taxii2/`, token: a.adminToken }), 'shared');
      assert.equal(again.accepted, 0);
    });
  });
}
