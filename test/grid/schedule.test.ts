/**
 * Scheduled step-ups on a real node: a stolen operator token that holds many
 * stations at 0 W and schedules them all to release at the same future moment
 * (the `mass-start` attack's scheduled-release variant, 2.0.1 and 1.6 shapes)
 * gets only what the fleet's ramp allows at that moment; the same release spread
 * out over time, or randomised by the station (2.1 randomizedDelay), passes; a
 * scheduled step that would take a site over its limit later is refused now.
 * The pure timeline functions are checked on the guard's own resume profiles.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runAttack } from '../../src/sim/attacks.js';
import { createSimStation, type SimStation } from '../../src/sim/index.js';
import type { OcppVersion } from '../../src/model/ocpp-version.js';
import { profileTimeline, profileTimelines, rampViolations, resumePlan, RESUME_DEFAULTS } from '../../src/grid/index.js';
import { eventually, startTestNode, testDatabases, type TestNode } from '../support/node.js';
import { profilePayload, recordingCommands } from '../support/commands.js';

const PASSWORD = 'grid-schedule-password-01';
const KW = 1000;

test('timelines: a 0 W hold with a future release is a step-up at the release; randomizedDelay spreads it; resume profiles fit an 12 kW/s ramp', async () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const hold = { connectorId: 0, csChargingProfiles: { chargingProfileId: 7, stackLevel: 1, chargingProfilePurpose: 'TxDefaultProfile', chargingProfileKind: 'Absolute', chargingSchedule: { startSchedule: new Date(now).toISOString(), chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 0 }, { startPeriod: 60, limit: 16 }] } } };
  const t = profileTimeline(hold, now, 22 * KW)!;
  assert.equal(t.profileId, 7);
  assert.equal(t.capNowW, 0);
  assert.deepEqual(t.ups, [{ atMs: now + 60_000, w: 16 * 230 * 3 }]);
  // Ten such releases at one moment break a 5 kW/s ramp (1 s tolerance); ten 5 s apart do not.
  const same = Array.from({ length: 10 }, () => ({ atMs: now + 60_000, w: 11 * KW }));
  assert.equal(rampViolations(same, 5 * KW, 1000).length, 9);
  assert.deepEqual(rampViolations(same.map((u, i) => ({ ...u, atMs: u.atMs + i * 5000 })), 5 * KW, 1000), []);
  const spread = { evseId: 0, chargingProfile: { id: 8, stackLevel: 1, chargingProfilePurpose: 'TxDefaultProfile', chargingProfileKind: 'Absolute', chargingSchedule: [{ id: 1, startSchedule: new Date(now).toISOString(), chargingRateUnit: 'W', randomizedDelay: 160, chargingSchedulePeriod: [{ startPeriod: 0, limit: 0 }, { startPeriod: 60, limit: 22 * KW }] }] } };
  const spreadUps = profileTimeline(spread, now, 22 * KW)!.ups;
  assert.deepEqual(spreadUps, [{ atMs: now + 60_000, w: 22 * KW, spreadMs: 160_000 }]);
  // 30 stations randomising over 160 s add up to 4.1 kW/s: within 5 kW/s; 40 (5.5 kW/s) are not.
  assert.deepEqual(rampViolations(Array(30).fill(spreadUps[0]), 5 * KW, 1000), []);
  assert.ok(rampViolations(Array(40).fill(spreadUps[0]), 5 * KW, 1000).length > 0);
  // A benign first schedule does not hide a release in the second (the station may apply either).
  const twoSchedules = { evseId: 0, chargingProfile: { id: 9, stackLevel: 1, chargingProfilePurpose: 'TxDefaultProfile', chargingProfileKind: 'Absolute', chargingSchedule: [
    { id: 1, startSchedule: new Date(now).toISOString(), chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 0 }] },
    { id: 2, startSchedule: new Date(now).toISOString(), chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 0 }, { startPeriod: 90, limit: 22 * KW }] },
  ] } };
  assert.deepEqual(profileTimelines(twoSchedules, now, 22 * KW).map((x) => x.ups.length), [0, 1]);
  assert.deepEqual(profileTimeline(twoSchedules, now, 22 * KW)!.ups, [{ atMs: now + 90_000, w: 22 * KW }]);
  // 300 stations of 22 kW resuming over the default 600 s window, CSMS-drawn (1.6 / 2.0.1) and station-drawn (2.1).
  for (const version of ['1.6', '2.0.1', '2.1'] as const) {
    const features = recordingCommands().commands(version).features;
    const payloads = await Promise.all(Array.from({ length: 300 }, (_, i) => profilePayload(version, resumePlan(features, RESUME_DEFAULTS, 22 * KW, now, (i + 0.5) / 300).profile)));
    const steps = payloads.map((p) => profileTimeline(p, now, 22 * KW)!.ups).flat();
    assert.equal(Math.round(steps.reduce((a, u) => a + u.w, 0) / KW), 300 * 22);
    assert.deepEqual(rampViolations(steps, 12 * KW, 2000), [], version);
  }
});

async function fleet(node: TestNode, prefix: string, n: number, ocppVersion: OcppVersion): Promise<{ ids: string[]; stations: SimStation[] }> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  for (const id of ids) assert.equal((await node.api('POST', '/api/v1/stations', { id, securityProfile: 1, password: PASSWORD })).status, 201);
  const stations = ids.map((id) => createSimStation({ url: node.ws, id, ocppVersion, securityProfile: 1, password: PASSWORD, pingIntervalMs: 0 }));
  await Promise.all(stations.map((s) => s.connect()));
  return { ids, stations };
}

for (const db of testDatabases()) {
  describe(`grid guard: scheduled step-ups (${db})`, () => {
    let node: TestNode;
    let stolen: string;
    const open: SimStation[] = [];

    before(async () => {
      // 5 kW/s with 1 s tolerance: one 22 kW release at a moment conforms, a second needs 4.4 s later.
      node = await startTestNode({ db, config: { grid: { fleetRampKwPerS: 5, rampToleranceS: 1, massMinStations: 60, resumeWindowS: 0 } } });
      const res = await node.api('POST', '/api/v1/tokens', { name: 'stolen-operator', role: 'operator' });
      assert.equal(res.status, 201);
      stolen = res.body.token;
    });
    after(async () => {
      await Promise.all(open.map((s) => s.close()));
      await node?.stop();
    });

    for (const [version, inS] of [['2.0.1', 600], ['1.6', 1200]] as const) {
      test(`a synchronised future release through a stolen operator token is refused beyond the ramp (${version})`, async () => {
        const { ids, stations } = await fleet(node, `REL-${version}-${db}`, 6, version);
        open.push(...stations);
        const report = await runAttack('mass-start', { url: node.ws, stationIds: ids, api: node.http, token: stolen, ocppVersion: version, scheduledRelease: { inS } });
        // Nothing changes now, so the live ramp would pass all six; the step at the release moment fits one.
        assert.deepEqual(report.outcomes, { accepted: 1, '409:GRID_SCHEDULE_RAMP_EXCEEDED': 5 });
        await eventually('a GridCommandRefused event', async () => JSON.stringify((await node.api('GET', '/api/v1/security-events?type=GridCommandRefused')).body).includes('GRID_SCHEDULE_RAMP_EXCEEDED'));
      });
    }

    test('the same release spread over time passes', async () => {
      const { ids, stations } = await fleet(node, `SPREAD-${db}`, 6, '2.0.1');
      open.push(...stations);
      // 6 releases 12 s apart: each 22 kW step has 4.4 s of ramp to itself.
      const report = await runAttack('mass-start', { url: node.ws, stationIds: ids, api: node.http, token: stolen, scheduledRelease: { inS: 1800, spreadS: 60 } });
      assert.deepEqual(report.outcomes, { accepted: 6 });
    });

    test('a release the stations randomise (2.1 randomizedDelay) passes where the same release without it is refused', async () => {
      const { ids, stations } = await fleet(node, `RAND-${db}`, 6, '2.1');
      open.push(...stations);
      const startSchedule = new Date().toISOString();
      const send = (id: string, releaseS: number, randomizedDelay?: number) => node.api('POST', `/api/v1/stations/${id}/calls`, { action: 'SetChargingProfile', payload: { evseId: 0, chargingProfile: { id: 6, stackLevel: 7, chargingProfilePurpose: 'TxDefaultProfile', chargingProfileKind: 'Absolute', chargingSchedule: [{ id: 1, startSchedule, chargingRateUnit: 'W', ...(randomizedDelay ? { randomizedDelay } : {}), chargingSchedulePeriod: [{ startPeriod: 0, limit: 0 }, { startPeriod: releaseS, limit: 22_000 }] }] } } }, stolen);
      // Six stations drawing their release over 600 s add 0.22 kW/s: well within 5 kW/s.
      for (const id of ids) assert.equal((await send(id, 2400, 600)).status, 200);
      const bare = await fleet(node, `BARE-${db}`, 2, '2.1');
      open.push(...bare.stations);
      assert.equal((await send(bare.ids[0]!, 2100)).status, 200, 'the first bare release conforms');
      const refused = await send(bare.ids[1]!, 2100);
      assert.equal(refused.status, 409);
      assert.equal(refused.body.error.code, 'GRID_SCHEDULE_RAMP_EXCEEDED');
      assert.match(refused.body.error.message, /22\.0 kW of step-ups .* ramp of 5 kW\/s at 20\d\d-.*randomizedDelay/);
      assert.equal(refused.body.error.details?.level ?? 'fleet', 'fleet');
    });

    test('a start carrying a profile that releases later is judged at the release too', async () => {
      const { ids, stations } = await fleet(node, `START-${db}`, 2, '2.0.1');
      open.push(...stations);
      // Both sessions would be held at 0 W and released at the same moment, 4800 s from now.
      const startSchedule = new Date().toISOString();
      const start = (id: string, n: number) => node.api('POST', `/api/v1/stations/${id}/calls`, { action: 'RequestStartTransaction', payload: { idToken: { idToken: 'SCHEDSTART', type: 'Central' }, remoteStartId: n, evseId: 1, chargingProfile: { id: 70 + n, stackLevel: 1, chargingProfilePurpose: 'TxProfile', chargingProfileKind: 'Absolute', chargingSchedule: [{ id: 1, startSchedule, chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 0 }, { startPeriod: 4800, limit: 22_000 }] }] } } }, stolen);
      assert.equal((await start(ids[0]!, 1)).status, 200);
      assert.equal((await start(ids[1]!, 2)).body.error?.code, 'GRID_SCHEDULE_RAMP_EXCEEDED');
    });

    test('a scheduled step-up that would take a site over its limit later is refused now; clearing a profile frees its booking', async () => {
      assert.equal((await node.api('PUT', '/api/v1/grid/sites/SCHED', { limitKw: 30 })).status, 200);
      const { ids, stations } = await fleet(node, `SITE-${db}`, 2, '2.0.1');
      open.push(...stations);
      for (const id of ids) assert.equal((await node.api('PUT', `/api/v1/grid/sites/SCHED/stations/${id}`, { maxPowerW: 22_000 })).status, 200);
      const at = (id: string, s: number) => node.api('POST', `/api/v1/stations/${id}/calls`, { action: 'SetChargingProfile', payload: { evseId: 0, chargingProfile: { id: 9, stackLevel: 7, chargingProfilePurpose: 'TxDefaultProfile', chargingProfileKind: 'Absolute', chargingSchedule: [{ id: 1, startSchedule: new Date().toISOString(), chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 0 }, { startPeriod: s, limit: 22_000 }] }] } } }, stolen);
      assert.equal((await at(ids[0]!, 3000)).status, 200);
      const refused = await at(ids[1]!, 3600);
      assert.equal(refused.body.error?.code, 'GRID_SCHEDULE_LIMIT_EXCEEDED');
      assert.match(refused.body.error.message, /site SCHED to 44\.0 kW at .*over its limit of 30 kW/);
      assert.equal((await node.api('POST', `/api/v1/stations/${ids[0]}/calls`, { action: 'ClearChargingProfile', payload: { chargingProfileId: 9 } }, stolen)).status, 200);
      assert.equal((await at(ids[1]!, 3600)).status, 200);
    });
  });
}
