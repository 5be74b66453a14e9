/**
 * Randomised resume on a real node: charging stations of each OCPP version
 * lose power (a fresh boot with reason PowerUp) or their network (a reconnect
 * without a boot); each gets a TxDefaultProfile that holds it at 0 W until a
 * random time in the window (1.6 / 2.0.1: drawn by evguard, explicit schedule;
 * 2.1: randomizedDelay, drawn by the station), the simulated station follows
 * it and is released, and stations without sessions are left alone.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resumePlan, RESUME_DEFAULTS } from '../../src/grid/index.js';
import { createSimStation, type SimStation } from '../../src/sim/index.js';
import type { OcppVersion } from '../../src/model/ocpp-version.js';
import { eventually, startTestNode, testDatabases, type TestNode } from '../support/node.js';
import { profilePayload, recordingCommands } from '../support/commands.js';

const PASSWORD = 'resume-test-password-0001';
const WINDOW_S = 3;
const VERSIONS: OcppVersion[] = ['1.6', '2.0.1', '2.1'];
const PER_VERSION = 6;


interface Watched { id: string; version: OcppVersion; profiles: any[]; limits: (number | undefined)[] }

function watch(s: SimStation, w: Watched): SimStation {
  s.on('incoming', (m: { action: string; params: any }) => { if (m.action === 'SetChargingProfile') w.profiles.push(m.params); });
  s.on('chargingLimit', (l: { limitW?: number }) => w.limits.push(l.limitW));
  return s;
}

/** The schedule inside a SetChargingProfile request of either spelling. */
const scheduleOf = (p: any) => p.csChargingProfiles?.chargingSchedule ?? p.chargingProfile?.chargingSchedule?.[0];
const profileOf = (p: any) => p.csChargingProfiles ?? p.chargingProfile;

test('resume plans: explicit 0 W schedule for 1.6 / 2.0.1, randomizedDelay for 2.1, release inside the window', async () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const s = { ...RESUME_DEFAULTS };
  const features = (v: OcppVersion) => recordingCommands().commands(v).features;
  for (const r of [0, 0.5, 0.999999]) {
    const p16 = resumePlan(features('1.6'), s, 22_000, now, r);
    assert.ok(p16.releaseS >= 1 && p16.releaseS <= 600);
    assert.equal((await profilePayload('1.6', p16.profile) as any).csChargingProfiles.chargingSchedule.duration, p16.releaseS);
  }
  const p21 = resumePlan(features('2.1'), s, 11_000, now, 0.3);
  const sched = (await profilePayload('2.1', p21.profile) as any).chargingProfile.chargingSchedule[0];
  assert.equal(sched.randomizedDelay, 600);
  assert.deepEqual(sched.chargingSchedulePeriod, [{ startPeriod: 0, limit: 0 }, { startPeriod: 1, limit: 11_000 }]);
  assert.equal(p21.drawnBy, 'station');
});

for (const db of testDatabases()) {
  describe(`randomised resume (${db})`, () => {
    let node: TestNode;
    const open: SimStation[] = [];
    before(async () => {
      node = await startTestNode({ db, config: { grid: { resumeWindowS: WINDOW_S, resumeSettleMs: 3000, fleetRampKwPerS: 50 } } });
      assert.ok((await node.api('PUT', '/api/v1/id-tokens/RESUME01', { status: 'Accepted' })).status < 300);
    });
    after(async () => {
      await Promise.all(open.map((s) => s.close()));
      await node?.stop();
    });

    test('stations that lose power or network while charging are held and released at spread-out times', async () => {
      const watched: Watched[] = [];
      const stations = new Map<string, SimStation>();
      const make = (w: Watched) => {
        const s = watch(createSimStation({ url: node.ws, id: w.id, ocppVersion: w.version, securityProfile: 1, password: PASSWORD, pingIntervalMs: 0, meterIntervalMs: 500 }), w);
        open.push(s);
        stations.set(w.id, s);
        return s;
      };
      for (const version of VERSIONS) {
        for (let i = 0; i < PER_VERSION; i++) {
          const id = `RES-${db}-${version.replace(/\./g, '')}-${i}`;
          assert.equal((await node.api('POST', '/api/v1/stations', { id, securityProfile: 1, password: PASSWORD })).status, 201);
          watched.push({ id, version, profiles: [], limits: [] });
        }
      }
      // Connected for the first time, no sessions: nothing to resume, no profile.
      await Promise.all(watched.map((w) => make(w).connect()));
      // One at a time: concurrent 1.6 StartTransactions race on the legacy transaction id in src/transactions on PostgreSQL.
      for (const w of watched) await stations.get(w.id)!.startCharging({ connectorId: 1, idToken: 'RESUME01', powerW: 11_000 });
      await eventually('sessions recorded', async () => ((await node.api('GET', '/api/v1/grid/load')).body.fleet.loadKw >= 11 * watched.length ? true : undefined), 20_000);
      assert.ok(watched.every((w) => w.profiles.length === 0), 'no profile before any outage');

      // Even stations: a power loss (the old link dies, a fresh boot with PowerUp). Odd: a network loss (reconnect, no boot).
      await Promise.all(watched.map(async (w, i) => {
        const s = stations.get(w.id)!;
        s.goOffline();
        if (i % 2 === 0) {
          await s.close();
          await make(w).connect();
        } else await s.reconnect();
      }));
      await eventually('a resume profile at every station', () => (watched.every((w) => w.profiles.length >= 1) ? true : undefined), 20_000);

      const csmsDrawn: number[] = [];
      for (const w of watched) {
        assert.equal(w.profiles.length, 1, `${w.id} got one resume profile`);
        const p = w.profiles[0];
        const profile = profileOf(p);
        const schedule = scheduleOf(p);
        assert.equal(profile.chargingProfilePurpose, 'TxDefaultProfile', w.id);
        assert.equal(schedule.chargingSchedulePeriod[0].limit, 0, `${w.id} held at 0 W first`);
        assert.ok(Math.abs(Date.parse(schedule.startSchedule) - Date.now()) < 60_000);
        if (w.version === '2.1') {
          assert.equal(schedule.randomizedDelay, WINDOW_S, w.id);
          assert.ok(schedule.chargingSchedulePeriod[1].limit > 0);
        } else {
          assert.equal(schedule.randomizedDelay, undefined, w.id);
          assert.equal(schedule.chargingSchedulePeriod.length, 1);
          assert.ok(schedule.duration >= 1 && schedule.duration <= WINDOW_S, `${w.id} release ${schedule.duration} s within the window`);
          csmsDrawn.push(schedule.duration);
        }
      }
      // Spread: 12 independent draws from 1..3 s all landing on one value would be a broken draw (p ≈ 1e-5).
      assert.ok(new Set(csmsDrawn).size >= 2, `release times spread: ${csmsDrawn.join(',')}`);

      // The node's record says why each was sent.
      const { body } = await node.api('GET', '/api/v1/grid/resumes');
      assert.equal(body.settings.windowS, WINDOW_S);
      for (const [i, w] of watched.entries()) {
        const r = body.resumes.filter((x: any) => x.stationId === w.id);
        assert.equal(r.length, 1, w.id);
        assert.equal(r[0].cause, i % 2 === 0 ? 'power-up' : 'reconnect', w.id);
        assert.equal(r[0].outcome, 'sent');
        assert.equal(r[0].drawnBy, w.version === '2.1' ? 'station' : 'csms');
      }

      // Every station follows its schedule: held at 0 W, then released (by the end of the profile, or 2.1's delayed period).
      await eventually('every station released', () => (watched.every((w) => {
        const at = w.limits.indexOf(0);
        return at >= 0 && w.limits.slice(at + 1).some((l) => l === undefined || l > 0);
      }) ? true : undefined), (WINDOW_S + 15) * 1000);

      // An auditor may read the record; the query is validated.
      assert.equal((await node.api('GET', '/api/v1/grid/resumes?stationId=' + 'x'.repeat(60))).status, 400);
    });
  });
}

test('resumeWindowS 0 turns randomised resume off; bad settings are refused at start', async () => {
  const node = await startTestNode({ db: testDatabases()[0], config: { grid: { resumeWindowS: 0 } } });
  try {
    const { body } = await node.api('GET', '/api/v1/grid/resumes');
    assert.equal(body.settings.enabled, false);
    assert.deepEqual(body.resumes, []);
  } finally {
    await node.stop();
  }
  for (const bad of [-1, 1.5, 100_000]) {
    await assert.rejects(startTestNode({ db: 'sqlite', config: { grid: { resumeWindowS: bad } } }), (err: any) => err.code === 'GRID_CONFIG_INVALID', String(bad));
  }
});
