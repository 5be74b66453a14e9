/**
 * The node-side glue in src/intel/node.ts, in process: which alerts are
 * shared, what evidence leaves the node, the pseudonym key file, and the
 * enforcement hooks with real certificates.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { Topics } from '../../src/bus/events.js';
import { createEnforcement, intelConfigFor, shareableAlert, startSharing } from '../../src/intel/node.js';
import { defaults } from '../../src/config.js';
import { createIntelStore } from '../../src/intel/store.js';
import { openNode, type TestNode } from './fixtures.js';
import type { Alert } from '../../src/monitor/events.js';
import { publishUntyped } from '../support/bus.js';

const alert = (over: Partial<Alert> = {}): Alert => ({
  id: 'a-1', detector: 'bruteForce', severity: 'high', title: 'Password brute force against a station', stationId: 'CS-9',
  createdAt: '2024-06-01T08:00:00.000Z', updatedAt: '2024-06-01T08:00:00.000Z', count: 1, state: 'open',
  evidence: { failures: 5, windowSeconds: 300, lastAddress: '203.0.113.50' }, actions: [], comments: [], ...over,
});

describe('node glue', () => {
  let node: TestNode;
  let dir: string;
  before(async () => {
    node = await openNode();
    dir = mkdtempSync(path.join(tmpdir(), 'evg-intel-glue-'));
  });
  after(async () => {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps only the evidence the mapping knows, and reads a detector\'s lastAddress as the source address', () => {
    const s = shareableAlert(alert({ evidence: { lastAddress: '203.0.113.50', failures: 5, techInfo: 'secret detail', serialHex: '0A0B' } }));
    assert.deepEqual(s.evidence, { remoteAddress: '203.0.113.50', certificateSerialHex: '0A0B' });
    assert.equal(s.stationId, 'CS-9');
  });

  it('generates the pseudonym key once, private to the owner, and prefers a configured one', () => {
    // The command line never makes up a key of its own.
    assert.throws(() => intelConfigFor({ dataDir: dir, organization: 'Acme', intel: defaults.intel }, { createKey: false }), { code: 'INTEL_INVALID_INPUT', message: /EVGUARD_INTEL_PSEUDONYM_KEY/ });
    const first = intelConfigFor({ dataDir: dir, organization: 'Acme', intel: defaults.intel });
    const second = intelConfigFor({ dataDir: dir, organization: 'Acme', intel: defaults.intel });
    assert.equal(first.pseudonymKey, second.pseudonymKey);
    assert.ok(first.pseudonymKey.length >= 32);
    assert.equal(statSync(path.join(dir, 'intel-pseudonym-key')).mode & 0o777, 0o600);
    assert.equal(readFileSync(path.join(dir, 'intel-pseudonym-key'), 'utf8').trim(), first.pseudonymKey);
    assert.deepEqual(
      { ...intelConfigFor({ dataDir: dir, organization: 'Acme', intel: { ...defaults.intel, pseudonymKey: 'configured-key-0123456789', tlp: 'green' } }) },
      { organizationName: 'Acme', pseudonymKey: 'configured-key-0123456789', pseudonymise: true, defaultTlp: 'green' },
    );
    assert.throws(() => intelConfigFor({ dataDir: dir, organization: 'Acme', intel: { ...defaults.intel, shareMinSeverity: 'urgent' as never } }), { code: 'INTEL_INVALID_INPUT' });
  });

  it('shares raised and changed alerts at or above the threshold, and nothing when sharing is off', async () => {
    const store = createIntelStore(node.database);
    const sharedReports = async () => {
      const { rows } = await store.queryObjects({ collectionId: node.intel.collections.find((c) => c.alias === 'shared')!.id, types: ['report'], versions: ['last'], limit: 100 });
      return rows.map((r) => JSON.parse(r.body) as { id: string; labels: string[] });
    };
    const off = startSharing({ intel: node.intel, bus: node.bus, settings: { ...defaults.intel, share: false } });
    node.bus.publish(Topics.alertRaised, alert({ id: 'off-1' }));
    await off.close();
    assert.equal((await sharedReports()).length, 0);

    const on = startSharing({ intel: node.intel, bus: node.bus, settings: { ...defaults.intel, shareMinSeverity: 'high' } });
    node.bus.publish(Topics.alertRaised, alert({ id: 'low-1', severity: 'medium' }));
    node.bus.publish(Topics.alertRaised, alert({ id: 'high-1' }));
    node.bus.publish(Topics.alertChanged, alert({ id: 'low-1', severity: 'critical' }));
    publishUntyped(node.bus, Topics.alertRaised, { nonsense: true });
    await on.settled();
    await on.close();
    const reports = await sharedReports();
    assert.equal(reports.length, 2, JSON.stringify(reports.map((r) => r.labels)));
    assert.ok(reports.every((r) => r.labels.some((l) => l === 'severity:high' || l === 'severity:critical')));
  });

  it('shares a changing alert at most once per interval, with its latest state, and lets nothing held go unshared', async () => {
    const shared: { id: string; severity: string; evidence: unknown }[] = [];
    const intel = { ...node.intel, share: (input: Parameters<typeof node.intel.share>[0]) => {
      for (const a of input.alerts) shared.push({ id: a.id, severity: a.severity, evidence: a.evidence });
      return input.alerts.every((a) => a.id.startsWith('flood-')) ? Promise.resolve({} as never) : node.intel.share(input);
    } };
    let clock = 1_000_000;
    const sharing = startSharing({ intel, bus: node.bus, settings: defaults.intel, reshareEveryMs: 150, now: () => clock });
    node.bus.publish(Topics.alertRaised, alert({ id: 'agg-1' }));
    for (let i = 1; i <= 50; i++) node.bus.publish(Topics.alertChanged, alert({ id: 'agg-1', count: i, evidence: { lastAddress: `203.0.113.${i}` } }));
    node.bus.publish(Topics.alertRaised, alert({ id: 'other-1' }));
    await new Promise((r) => setTimeout(r, 200)); // past the real timer too: the interval is on the given clock
    assert.deepEqual(shared.map((s) => s.id), ['agg-1', 'other-1'], 'the first state goes out at once; changes within the interval are held');
    clock += 150;
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(shared.map((s) => s.id), ['agg-1', 'other-1', 'agg-1']);
    assert.deepEqual(shared[2].evidence, { remoteAddress: '203.0.113.50' }, 'the latest state, not the first held one');
    // Held at close: shared before the node stops, not dropped.
    clock += 10;
    node.bus.publish(Topics.alertChanged, alert({ id: 'agg-1', severity: 'critical' }));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(shared.length, 3);
    await sharing.close();
    assert.deepEqual(shared.slice(3).map((s) => [s.id, s.severity]), [['agg-1', 'critical']]);
    node.bus.publish(Topics.alertChanged, alert({ id: 'agg-1', severity: 'critical' }));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(shared.length, 4, 'nothing is shared after close');

    // Many distinct alerts at once (a storm): each is shared once, at once, and forgetting old ones drops none.
    shared.length = 0;
    const flood = startSharing({ intel, bus: node.bus, settings: defaults.intel, reshareEveryMs: 150, now: () => clock });
    for (let i = 0; i < 3000; i++) {
      if (i % 1000 === 0) clock += 100;
      node.bus.publish(Topics.alertRaised, alert({ id: `flood-${i}` }));
    }
    node.bus.publish(Topics.alertChanged, alert({ id: 'flood-2999', count: 2 }));
    await flood.close();
    assert.equal(shared.length, 3001);
    assert.equal(new Set(shared.map((s) => s.id)).size, 3000);
  });

  it('releases a held alert when its own interval ends, though another was held first with a later end', async () => {
    const shared: string[] = [];
    const intel = { ...node.intel, share: async (input: Parameters<typeof node.intel.share>[0]) => {
      for (const a of input.alerts) shared.push(`${a.id}:${a.severity}`);
      return {} as never;
    } };
    let clock = 0;
    const sharing = startSharing({ intel, bus: node.bus, settings: defaults.intel, reshareEveryMs: 4000, now: () => clock });
    node.bus.publish(Topics.alertRaised, alert({ id: 'A' }));
    clock = 2000;
    node.bus.publish(Topics.alertRaised, alert({ id: 'B' }));
    clock = 2200;
    node.bus.publish(Topics.alertChanged, alert({ id: 'B', severity: 'critical' })); // held until 6000
    clock = 3990;
    node.bus.publish(Topics.alertChanged, alert({ id: 'A', severity: 'critical' })); // held until 4000: the sooner release
    clock = 4000;
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(shared, ['A:high', 'B:high', 'A:critical']);
    await sharing.close();
    assert.deepEqual(shared, ['A:high', 'B:high', 'A:critical', 'B:critical']);
  });

  it('refuses a certificate chain that an indicator names (here by fingerprint), and leaves the rest to the PKI check', async () => {
    const key = path.join(dir, 'k.pem');
    const certFile = path.join(dir, 'c.pem');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(key, privateKey.export({ format: 'pem', type: 'pkcs8' }));
    execFileSync('openssl', ['req', '-new', '-x509', '-key', key, '-subj', '/CN=CS-9/O=Acme', '-days', '1', '-out', certFile]);
    const cert = new X509Certificate(readFileSync(certFile));
    const now = new Date().toISOString();
    const ind = {
      type: 'indicator', spec_version: '2.1', id: 'indicator--7d6f1a52-0b0e-4c55-9a51-0e1f1d2c3b4a', created: now, modified: now,
      pattern: `[x509-certificate:hashes.'SHA-256' = '${cert.fingerprint256.replaceAll(':', '').toLowerCase()}']`, pattern_type: 'stix', valid_from: now,
    };
    assert.equal((await node.intel.importObjects([ind])).enforced, 1);
    const events: unknown[] = [];
    const enforcement = createEnforcement({ intel: node.intel, securityEvent: (e) => events.push(e) });
    const refusal = enforcement.certificate([Buffer.from('not a certificate'), cert.raw], 'CS-9');
    assert.equal(refusal?.ok, false);
    assert.match(refusal!.reason, new RegExp(ind.id));
    const other = new X509Certificate(readFileSync(certFile)); // same certificate, different buffer
    assert.ok(enforcement.certificate([other.raw], 'CS-9'));
    assert.equal(enforcement.certificate([Buffer.from('junk')], 'CS-9'), undefined);
    assert.equal(enforcement.blockedAddress('198.51.100.99'), undefined);
    assert.equal(enforcement.stationConnected('CS-unnamed'), undefined);
    assert.equal(enforcement.firmwareBlocked('ff'.repeat(32)), undefined);
    await enforcement.close();
    const sightings = node.events.filter((e) => e.topic === 'intel.indicator.sighted');
    assert.ok(sightings.length >= 1);
    assert.deepEqual(events, []);
  });

  it('reports a flagged station once a minute however often it reconnects', async () => {
    const now = new Date().toISOString();
    const ind = {
      type: 'indicator', spec_version: '2.1', id: 'indicator--0c5e2f0e-52c1-4d53-8d0e-3e7a7b1f9a10', created: now, modified: now,
      pattern: "[x-evguard-charging-station:station_id = 'CS-FLAG']", pattern_type: 'stix', valid_from: now,
    };
    assert.equal((await node.intel.importObjects([ind])).enforced, 1);
    const events: { type: string; stationId?: string }[] = [];
    const enforcement = createEnforcement({ intel: node.intel, securityEvent: (e) => events.push(e) });
    for (let i = 0; i < 20; i++) assert.equal(enforcement.stationConnected('CS-FLAG', '192.0.2.1')?.indicatorId, ind.id);
    await enforcement.close();
    assert.deepEqual(events.map((e) => [e.type, e.stationId]), [['IndicatorSighted', 'CS-FLAG']]);
  });
});
