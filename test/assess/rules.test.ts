/** The baseline on its own: each rule can pass and fail, the score and grade follow, wireless rules apply only to wireless stations. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assessFacts, summarise, RULES, renderChecklistMarkdown, renderChecklistHtml, type StationFacts } from '../../src/assess/index.js';
import { isOcppVersion } from '../../src/model/ocpp-version.js';
import { recordingCommands } from '../support/commands.js';

const NOW = new Date('2026-06-01T00:00:00Z');

/** Facts as the assessment gathers them: `protocol` is the station's version adapter's features. */
function facts(over: Partial<StationFacts> = {}): StationFacts {
  const f = withoutProtocol(over);
  return { ...f, protocol: isOcppVersion(f.ocppVersion) ? recordingCommands().commands(f.ocppVersion).features : undefined };
}

function withoutProtocol(over: Partial<StationFacts>): StationFacts {
  return {
    stationId: 'GOOD-1',
    securityProfile: 3,
    registration: 'Accepted',
    ocppVersion: '2.0.1',
    vendor: 'Acme',
    model: 'AC-22',
    firmwareVersion: '2.4.0',
    quarantined: false,
    createdAt: '2026-01-01T00:00:00Z',
    lastSeenAt: '2026-05-31T23:00:00Z',
    session: { securityProfile: 3, version: '2.0.1', connectedAt: '2026-05-31T00:00:00Z' },
    listenerMinTls: 'TLSv1.2',
    hasPassword: false,
    certificates: [{ serialHex: '01', kind: 'station', notAfter: '2027-06-01T00:00:00Z' }],
    configuration: { 'SecurityCtrlr.SecurityProfile': '3', 'ClockCtrlr.TimeSource': 'NTP,Heartbeat', 'AuthCtrlr.OfflineTxForUnknownIdEnabled': 'false', 'TamperCtrlr.Enabled': 'true' },
    configurationReadAt: '2026-05-31T00:00:00Z',
    stationEventTypes: ['StartupOfTheDevice'],
    signedFirmwareSeen: false,
    openAlerts: [],
    advisories: [{ vendor: 'Acme', model: 'AC-22', fixedIn: '2.3.1', advisory: 'ACME-2025-01' }],
    now: NOW,
    ...over,
  };
}

const status = (a: ReturnType<typeof assessFacts>, id: string) => a.results.find((r) => r.id === id)?.status;

test('a well-configured profile-3 station passes every rule and scores A', () => {
  const a = assessFacts(facts());
  const notPassing = a.results.filter((r) => r.status !== 'pass' && r.status !== 'not-applicable');
  assert.deepEqual(notPassing, []);
  assert.equal(a.score, 100);
  assert.equal(a.grade, 'A');
  assert.ok(!a.results.some((r) => r.id.startsWith('WPT')), 'wireless rules only for wireless stations');
});

test('a weak station fails the matching rules, and the score drops', () => {
  const a = assessFacts(
    facts({
      stationId: 'WEAK-1',
      securityProfile: 1,
      ocppVersion: '1.6',
      firmwareVersion: '2.3.0',
      session: { securityProfile: 1, version: '1.6', connectedAt: '2026-05-31T00:00:00Z' },
      hasPassword: true,
      createdAt: '2024-01-01T00:00:00Z',
      certificates: [{ serialHex: '02', kind: 'station', notAfter: '2026-06-10T00:00:00Z' }],
      configuration: { SecurityProfile: '1', AllowOfflineTxForUnknownId: 'true', TamperDetection: 'false' },
      stationEventTypes: [],
      openAlerts: [{ id: 'a1', severity: 'high', title: 'Brute force', detector: 'bruteForce' }],
      registration: 'Accepted',
      quarantined: true,
    }),
  );
  for (const id of ['ASM-01', 'ASM-02', 'ASM-04', 'ASM-06', 'ASM-08', 'ASM-09', 'ASM-12', 'ASM-13', 'ASM-14', 'ASM-15']) assert.equal(status(a, id), 'fail', id);
  assert.equal(status(a, 'ASM-03'), 'pass');
  assert.equal(status(a, 'ASM-05'), 'not-applicable');
  assert.equal(status(a, 'ASM-07'), 'pass', 'SecurityProfile key shows the 1.6 security extension');
  assert.match(a.results.find((r) => r.id === 'ASM-08')!.evidence, /ACME-2025-01/);
  assert.ok(a.score < 40, `score ${a.score}`);
  assert.equal(a.grade, 'F');
});

test('profile 3 without a valid certificate, 1.6 without the security extension, RTC-only clock', () => {
  const a = assessFacts(facts({ certificates: [{ serialHex: '03', kind: 'station', notAfter: '2026-01-01T00:00:00Z' }], configuration: { 'ClockCtrlr.TimeSource': 'RealTimeClock' } }));
  assert.equal(status(a, 'ASM-05'), 'fail');
  assert.equal(status(a, 'ASM-11'), 'fail');
  const old = assessFacts(facts({ ocppVersion: '1.6', session: undefined, configuration: { HeartbeatInterval: '300' }, stationEventTypes: [] }));
  assert.equal(status(old, 'ASM-07'), 'fail');
  assert.equal(status(old, 'ASM-10'), 'fail');
  const unread = assessFacts(facts({ configuration: undefined, configurationReadAt: undefined }));
  assert.equal(status(unread, 'ASM-09'), 'unknown');
  assert.ok(unread.score < 100 && unread.score > 80, 'unknowns count half');
});

test('advisories: exact versions, fixedIn with numeric ordering, vendor and model scoping', () => {
  const hit = (firmwareVersion: string, advisories: StationFacts['advisories']) => status(assessFacts(facts({ firmwareVersion, advisories })), 'ASM-08');
  assert.equal(hit('2.10.0', [{ fixedIn: '2.9.0', advisory: 'X' }]), 'pass');
  assert.equal(hit('2.8.9', [{ fixedIn: '2.9.0', advisory: 'X' }]), 'fail');
  assert.equal(hit('1.0.0', [{ versions: ['1.0.0'], vendor: 'Other', advisory: 'X' }]), 'pass');
  assert.equal(hit('1.0.0', [{ versions: ['1.0.0'], vendor: 'acme', advisory: 'X', severity: 'high' }]), 'fail');
  assert.equal(status(assessFacts(facts({ firmwareVersion: undefined })), 'ASM-08'), 'unknown');
});

test('wireless stations get the WPT profile', () => {
  const a = assessFacts(facts({ model: 'WPT-11 inductive', configuration: { ...facts().configuration, 'WPTCtrlr.ForeignObjectDetection': 'false', 'WPTCtrlr.AlignmentCheck': 'true' } }));
  assert.deepEqual(a.profiles, ['all', 'wireless']);
  assert.equal(status(a, 'WPT-01'), 'fail');
  assert.equal(status(a, 'WPT-02'), 'unknown');
});

test('fleet summary: mean score, grades, rules ranked by failures', () => {
  const good = assessFacts(facts());
  const weak = assessFacts(facts({ stationId: 'W', securityProfile: 1, session: undefined, hasPassword: true }));
  const s = summarise([good, weak], NOW);
  assert.equal(s.stations, 2);
  assert.equal(s.score, Math.round((good.score + weak.score) / 2));
  assert.equal(s.worst[0]!.stationId, 'W');
  assert.equal(s.rules[0]!.fail, 1);
  assert.ok(s.worst[0]!.failing.includes('ASM-01'));
});

test('every rule cites sources and says how it is verified; the checklist lists them all', () => {
  const md = renderChecklistMarkdown();
  const html = renderChecklistHtml();
  for (const r of RULES) {
    assert.ok(r.sources.length > 0 && r.verification && r.remedy, r.id);
    assert.ok(md.includes(`## ${r.id}:`), r.id);
    assert.ok(html.includes(r.id), r.id);
  }
  assert.equal(new Set(RULES.map((r) => r.id)).size, RULES.length);
});
