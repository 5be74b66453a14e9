import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { canonicalJson } from '../../src/canonical-json.js';
import { EvguardError } from '../../src/errors.js';
import {
  parsePattern, patternFor, scoId, STATION_EXTENSION, TLP2_EXTENSION_ID, TLP2_MARKING_IDS, TLP_LEVELS, uuidv5, type StixObject,
} from '../../src/intel/index.js';
import { ADDRESS, FINGERPRINT, FIRMWARE, openNode, sampleAlerts, type TestNode } from './fixtures.js';
import { tablesOf } from '../../src/store/tables.js';
import type { IntelTables } from '../../src/intel/store.js';

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

describe('STIX that connects with other producers', () => {
  let node: TestNode;
  before(async () => { node = await openNode(); });
  after(async () => { await node.close(); });

  it('spells a certificate serial one way, in the observable and in the pattern alike', () => {
    const objects = node.intel.exportBundle({ alerts: sampleAlerts() }).objects;
    const cert = objects.find((o) => o.type === 'x509-certificate' && o.serial_number)!;
    assert.equal(cert.serial_number, '0a:1b:2c:3d');
    const patterns = objects.filter((o) => o.type === 'indicator').map((o) => String(o.pattern));
    assert.ok(patterns.includes(`[x509-certificate:serial_number = '${cert.serial_number}']`), patterns.join('\n'));
    // The observable's id is what any producer derives from the same canonical properties (STIX 2.1 §2.9).
    assert.equal(cert.id, scoId('x509-certificate', { hashes: { 'SHA-256': FINGERPRINT }, serial_number: '0a:1b:2c:3d' }));
  });

  it('defines its custom observable with an extension definition the OASIS schema accepts, and observes a compromised station', async () => {
    const bundle = await node.intel.share({ alerts: sampleAlerts() });
    assert.deepEqual(node.intel.validate(bundle).errors, []);
    // The definition is published in the outbound collection with the objects that use the type.
    const outbound = await tablesOf<IntelTables>(node.database).selectFrom('intel_objects').select(['object_id', 'body']).where('object_type', 'in', ['extension-definition', 'identity']).execute();
    const definition = outbound.map((r) => JSON.parse(String(r.body))).find((o) => o.type === 'extension-definition');
    assert.ok(definition, 'the extension definition is shared');
    assert.deepEqual(definition, STATION_EXTENSION);
    assert.deepEqual(definition.extension_types, ['new-sco']);
    assert.equal(definition.name, 'x-evguard-charging-station');
    assert.ok(outbound.some((r) => r.object_id === definition.created_by_ref), 'and its author');
    assert.deepEqual(node.intel.validate(definition).errors, []);
    const stations = bundle.objects.filter((o) => o.type === 'x-evguard-charging-station');
    assert.ok(stations.length > 0);
    for (const s of stations) {
      assert.deepEqual(s.extensions, { [definition.id]: { extension_type: 'new-sco' } });
      assert.equal(s.id, scoId('x-evguard-charging-station', { station_id: s.station_id }));
    }
    // The station indicator's sighting now points at observed-data holding that station.
    const indicator = bundle.objects.find((o) => o.type === 'indicator' && String(o.pattern).includes(String(stations[0]!.station_id)))!;
    const sighting = bundle.objects.find((o) => o.type === 'sighting' && o.sighting_of_ref === indicator.id)!;
    const observed = bundle.objects.find((o) => o.id === (sighting.observed_data_refs as string[])[0])!;
    assert.ok((observed.object_refs as string[]).includes(stations[0]!.id));
  });

  it('accepts partner timestamps in every precision STIX allows and stores them normalised', async () => {
    const partner = { type: 'identity', spec_version: '2.1', id: 'identity--2b1e4a0c-6c0d-4a59-9f3e-1b2c3d4e5f60', name: 'Partner ISAC', identity_class: 'organization' };
    const indicator = (n: number, at: string) => ({
      type: 'indicator', spec_version: '2.1', id: `indicator--6a0f3c9e-1d2b-4c5a-8e7f-00000000000${n}`, created_by_ref: partner.id,
      created: at, modified: at, valid_from: at, pattern: `[ipv4-addr:value = '198.51.100.${n}']`, pattern_type: 'stix',
    });
    const seconds = indicator(1, '2024-05-01T10:00:00Z');
    const tenths = indicator(2, '2024-05-01T10:00:00.5Z');
    const micros = indicator(3, '2024-05-01T10:00:00.123456Z');
    const result = await node.intel.importObjects([{ ...partner, created: '2024-05-01T09:00:00Z', modified: '2024-05-01T09:00:00Z' }, seconds, tenths, micros]);
    assert.deepEqual(result.rejected, []);
    assert.equal(result.accepted, 4);
    const stored = async (id: string) => JSON.parse(String((await tablesOf<IntelTables>(node.database).selectFrom('intel_objects').select('body').where('object_id', '=', id).executeTakeFirstOrThrow()).body));
    assert.equal((await stored(seconds.id)).created, '2024-05-01T10:00:00.000Z');
    assert.equal((await stored(seconds.id)).valid_from, '2024-05-01T10:00:00.000Z');
    assert.equal((await stored(tenths.id)).modified, '2024-05-01T10:00:00.500Z');
    assert.equal((await stored(micros.id)).created, '2024-05-01T10:00:00.123456Z');
    assert.ok(node.intel.match({ remoteAddress: '198.51.100.1' }), 'the second-precision indicator is enforced');
  });
});
