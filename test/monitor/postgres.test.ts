/** The same storage paths on PostgreSQL, in a fresh database per run; skipped when no server answers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createLocalBus } from '../../src/bus/index.js';
import { migrate, openDatabase } from '../../src/store/index.js';
import { createMonitor, monitorMigrations } from '../../src/monitor/index.js';
import { Clock, recordingActions, station, type Call } from './harness.js';

const ADMIN = 'postgres://postgres@127.0.0.1:5432/test';

async function reachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: ADMIN, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

test('monitor storage on PostgreSQL', { skip: !(await reachable()) && 'PostgreSQL not reachable on 127.0.0.1:5432' }, async () => {
  const name = `evg_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const database = await openDatabase({ dataDir: '/nonexistent', databaseUrl: `postgres://postgres@127.0.0.1:5432/${name}` });
  const bus = createLocalBus();
  const clock = new Clock();
  const calls: Call[] = [];
  try {
    await migrate(database, monitorMigrations);
    const monitor = await createMonitor({ db: database, bus, actions: recordingActions(calls) }, { now: clock.now });
    const id = await monitor.recordSecurityEvent({ stationId: 'CS-1', type: 'AcmeVendorThing', source: 'station', critical: false, timestamp: clock.iso() });
    assert.equal(typeof id, 'number');
    for (let i = 0; i < 5; i++) station({ bus, clock }, 'CS-1').csms('InvalidStationCredentials', '203.0.113.9');
    station({ bus, clock }, 'CS-1').event('TamperDetectionActivated');
    await monitor.settled();
    assert.ok(monitor.isLockedOut({ stationId: 'CS-1', remoteAddress: '203.0.113.9' }));
    const alerts = await monitor.listAlerts({ stationId: 'CS-1' });
    assert.deepEqual(alerts.map((a) => a.detector).sort(), ['bruteForce', 'tamper']);
    const brute = alerts.find((a) => a.detector === 'bruteForce')!;
    await monitor.acknowledge(brute.id, 'olga', 'checking');
    await monitor.undoAction(brute.actions[0]!.id, 'olga');
    const after = await monitor.getAlert(brute.id);
    assert.deepEqual([after.state, after.actions[0]!.undone, after.comments.length], ['acknowledged', true, 1]);
    assert.equal(monitor.isLockedOut({ stationId: 'CS-1', remoteAddress: '203.0.113.9' }), undefined);
    assert.equal((await monitor.listSecurityEvents({ stationId: 'CS-1', since: '2000-01-01T00:00:00Z' }))[0]!.type, 'AcmeVendorThing');
    await monitor.close();
  } finally {
    await database.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
});
