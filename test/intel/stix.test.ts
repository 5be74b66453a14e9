import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { EvguardError } from '../../src/errors.js';
import {
  canonicalJson, parsePattern, patternFor, scoId, TLP2_EXTENSION_ID, TLP2_MARKING_IDS, TLP_LEVELS, uuidv5, type StixObject,
} from '../../src/intel/index.js';
import { ADDRESS, FINGERPRINT, FIRMWARE, openNode, sampleAlerts, type TestNode } from './fixtures.js';

describe('STIX 2.1 export', () => {
  let node: TestNode;
  before(async () => { node = await openNode(); });
  after(async () => { await node.close(); });

  it('produces a bundle whose every object is valid against the OASIS STIX 2.1 schemas', () => {
    const bundle = node.intel.exportBundle({ alerts: sampleAlerts() });
    const whole = node.intel.validate(bundle);
    assert.deepEqual(whole.errors, []);
    assert.equal(whole.valid, true);
    for (const o of bundle.objects) assert.equal(node.intel.validate(o).valid, true, `${o.id}: ${node.intel.validate(o).errors.join('; ')}`);
    const types = new Set(bundle.objects.map((o) => o.type));
    for (const t of ['marking-definition', 'identity', 'indicator', 'observed-data', 'sighting', 'vulnerability', 'infrastructure', 'malware', 'relationship', 'report', 'file', 'x509-certificate', 'ipv4-addr', 'user-account']) {
      assert.ok(types.has(t), `bundle lacks a ${t}`);
    }
  });

  it('writes STIX patterns over firmware hashes, certificate serials and fingerprints, addresses and station ids', () => {
    const patterns = node.intel.exportBundle({ alerts: sampleAlerts() }).objects.filter((o) => o.type === 'indicator').map((o) => o.pattern);
    assert.ok(patterns.includes(`[file:hashes.'SHA-256' = '${FIRMWARE}']`));
    assert.ok(patterns.includes(`[x509-certificate:serial_number = '0a:1b:2c:3d']`));
    assert.ok(patterns.includes(`[x509-certificate:hashes.'SHA-256' = '${FINGERPRINT}']`));
    assert.ok(patterns.includes(`[ipv4-addr:value = '${ADDRESS}']`));
    assert.ok(patterns.some((p) => typeof p === 'string' && p.startsWith('[x-evguard-charging-station:station_id = ')));
  });

  it('carries the TLP 2.0 marking object in every bundle and marks every object with it', () => {
    for (const level of TLP_LEVELS) {
      const bundle = node.intel.exportBundle({ alerts: sampleAlerts(), tlp: level });
      const marking = bundle.objects.find((o) => o.type === 'marking-definition')!;
      assert.equal(marking.id, TLP2_MARKING_IDS[level]);
      assert.deepEqual(marking.extensions, { [TLP2_EXTENSION_ID]: { extension_type: 'property-extension', tlp_2_0: level } });
      assert.equal(marking.name, `TLP:${level.toUpperCase()}`);
      for (const o of bundle.objects) {
        if (o.type === 'marking-definition' || o.type === 'identity') continue;
        assert.deepEqual(o.object_marking_refs, [TLP2_MARKING_IDS[level]], `${o.id} is not marked`);
      }
    }
    // An empty export still carries the marking and who we are.
    const empty = node.intel.exportBundle({ alerts: [] });
    assert.deepEqual(empty.objects.map((o) => o.type), ['marking-definition', 'identity']);
    assert.equal(node.intel.validate(empty).valid, true);
  });

  it('derives the same ids and bytes on every run, in any alert order and in another instance', async () => {
    const first = JSON.stringify(node.intel.exportBundle({ alerts: sampleAlerts() }));
    const reversed = JSON.stringify(node.intel.exportBundle({ alerts: sampleAlerts().reverse() }));
    assert.equal(reversed, first);
    const other = await openNode();
    try {
      assert.equal(JSON.stringify(other.intel.exportBundle({ alerts: sampleAlerts() })), first);
    } finally {
      await other.close();
    }
    // Observable ids follow STIX 2.1 §2.9, so any producer agrees on them.
    const ip = JSON.parse(first).objects.find((o: StixObject) => o.type === 'ipv4-addr');
    assert.equal(ip.id, `ipv4-addr--${uuidv5('00abedb4-aa42-466c-9c01-fed23315a9b7', `{"value":"${ADDRESS}"}`)}`);
    assert.equal(scoId('ipv4-addr', { value: ADDRESS }), ip.id);
  });

  it('implements UUIDv5 and canonical JSON as specified', () => {
    // RFC 9562 / Python's uuid documentation example: uuid5(NAMESPACE_DNS, 'python.org').
    assert.equal(uuidv5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'python.org'), '886313e1-3b8a-5372-9b90-0c9aee199e5d');
    assert.equal(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 1.5, y: 'é' } }), '{"a":[true,null,"x"],"b":1,"c":{"y":"é","z":1.5}}');
  });

  it('pseudonymises station and customer identifiers unless told otherwise, and keeps private addresses home', async () => {
    const text = JSON.stringify(node.intel.exportBundle({ alerts: sampleAlerts() }));
    for (const secret of ['CS-0001', 'CS-0002', 'CS-0003', 'RFID-DEADBEEF', '10.1.2.3']) assert.ok(!text.includes(secret), `${secret} leaked`);
    const open = await openNode({ pseudonymise: false });
    try {
      const plain = JSON.stringify(open.intel.exportBundle({ alerts: sampleAlerts() }));
      assert.ok(plain.includes('CS-0001') && plain.includes('RFID-DEADBEEF'));
      assert.ok(!plain.includes('10.1.2.3'));
    } finally {
      await open.close();
    }
  });

  it('exports only alerts raised since the given time', () => {
    const bundle = node.intel.exportBundle({ since: '2024-05-01T11:30:00Z', alerts: sampleAlerts() });
    assert.equal(bundle.objects.filter((o) => o.type === 'report').length, 1);
    assert.equal(bundle.objects.filter((o) => o.type === 'indicator').length, 0); // alert-3 is low severity, private address
  });

  it('groups alerts under an incident when asked', () => {
    const bundle = node.intel.exportBundle({
      alerts: sampleAlerts(), incidents: [{ id: 'inc-7', title: 'Coordinated attack', createdAt: '2024-05-01T12:30:00Z', alertIds: ['alert-1', 'alert-2'] }],
    });
    const incidents = bundle.objects.filter((o) => o.type === 'report');
    assert.deepEqual(incidents.map((i) => i.name).sort(), ['Coordinated attack', 'Repeated failed logins']);
    assert.equal(node.intel.validate(bundle).valid, true);
  });

  it('refuses malformed input with a coded error', () => {
    const bad = [
      () => node.intel.exportBundle({ since: 'yesterday', alerts: [] }),
      () => node.intel.exportBundle({ alerts: [{ ...sampleAlerts()[0]!, createdAt: 'not a time' }] }),
      () => node.intel.exportBundle({ alerts: [{ ...sampleAlerts()[0]!, severity: 'urgent' as never }] }),
      () => node.intel.exportBundle({ alerts: 'x' as never }),
    ];
    for (const fn of bad) assert.throws(fn, (e: unknown) => e instanceof EvguardError && e.code === 'INTEL_INVALID_INPUT' && e.status === 400);
  });

  it('finds invalid STIX with the official schemas', () => {
    assert.equal(node.intel.validate({ type: 'indicator', spec_version: '2.1', id: 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f' }).valid, false);
    assert.equal(node.intel.validate(null).valid, false);
    assert.equal(node.intel.validate({ type: 'bundle', id: 'bundle--1', objects: [] }).valid, false);
    // The OASIS examples shipped with the schemas pass, so the check is not simply strict.
    const example = JSON.parse(readFileSync(new URL('./data/indicator-for-c2-ip-address.json', import.meta.url), 'utf8'));
    assert.deepEqual(node.intel.validate(example).errors, []);
  });
});

describe('STIX patterns', () => {
  it('round-trips every pattern evguard writes', () => {
    const terms = [
      { kind: 'firmware-sha256', value: FIRMWARE }, { kind: 'certificate-serial', value: 'a1b2' },
      { kind: 'certificate-sha256', value: FINGERPRINT }, { kind: 'address', value: ADDRESS }, { kind: 'address', value: '2001:db8::1' },
      { kind: 'network', value: '198.51.100.0/24' }, { kind: 'station', value: "station-o'brien" },
    ] as const;
    for (const term of terms) assert.deepEqual(parsePattern(patternFor(term)), { enforceable: true, terms: [term] });
  });

  it('enforces disjunctions and IN lists, and nothing it cannot decide alone', () => {
    const ok = parsePattern(`[ipv4-addr:value = '198.51.100.1' OR file:hashes.'SHA-256' = '${FIRMWARE}'] OR [x509-certificate:serial_number IN ('00:ff', '0x10')]`);
    assert.deepEqual(ok, { enforceable: true, terms: [
      { kind: 'address', value: '198.51.100.1' }, { kind: 'firmware-sha256', value: FIRMWARE },
      { kind: 'certificate-serial', value: 'ff' }, { kind: 'certificate-serial', value: '10' },
    ] });
    for (const p of [
      "[ipv4-addr:value = '198.51.100.1' AND file:name = 'x']",
      "[ipv4-addr:value = '198.51.100.1'] FOLLOWEDBY [ipv4-addr:value = '198.51.100.2']",
      "[ipv4-addr:value = '198.51.100.1'] WITHIN 5 SECONDS",
      "[file:name MATCHES '^evil']",
      "[domain-name:value = 'evil.example']",
      "[ipv4-addr:value = 'unterminated",
      '',
    ]) assert.equal(parsePattern(p).enforceable, false, p);
  });
});
