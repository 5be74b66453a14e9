/**
 * A message's admission (accepted, not quarantined) uses the session watch's
 * own read of the station's state while it is within the staleness bound
 * (src/stations/sessions.ts `mayAct`), so a live station's messages do not
 * each read its record again; a change to the station is applied to the very
 * next message, as when every message read the registry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { migrate, openDatabase } from '../../src/store/index.js';
import { createLocalBus } from '../../src/bus/index.js';
import { STALE_BOUND_MS } from '../../src/bus/changes.js';
import { createStations, stationsMigrations } from '../../src/stations/index.js';
import type { LiveSession } from '../../src/stations/sessions.js';
import type { StationContext } from '../../src/model/station.js';

test('admission reads nothing while the watch\'s read is fresh, and a change applies to the next message', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'evguard-admission-'));
  const database = await openDatabase({ dataDir: dir });
  const live = new Map<string, LiveSession>();
  const stations = createStations(
    { database, bus: createLocalBus(), securityEvent: () => undefined, liveSessions: { get: (id) => live.get(id), close: async (id) => void live.delete(id) } },
    { heartbeatIntervalS: 300, bootRetryIntervalS: 60, allowUnknown: false },
  );
  t.after(async () => {
    stations.sessions.close();
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await migrate(database, stationsMigrations);
  // Reads of one station's record, counted where every query runs.
  let recordReads = 0;
  const db = database.db as any;
  const execute = db.executeQuery.bind(db);
  db.executeQuery = (q: any) => {
    if (/from "stations" where "id" = \?/i.test(q.sql ?? '')) recordReads++;
    return execute(q);
  };

  await stations.registry.create({ id: 'ADMIT-1', securityProfile: 1, password: 'admission-password-01' });
  const session: LiveSession = { stationId: 'ADMIT-1', securityProfile: 1, remoteAddress: '10.0.0.9', admission: stations.sessions.accepted((await stations.registry.secret('ADMIT-1'))!) };
  live.set('ADMIT-1', session);
  stations.sessions.started(session);
  const ctx = { stationId: 'ADMIT-1', version: '2.0.1', securityProfile: 1, remoteAddress: '10.0.0.9' } as StationContext;

  // After the watch's sweep has read the station: messages read nothing.
  await new Promise((r) => setTimeout(r, STALE_BOUND_MS + 500));
  assert.equal(stations.sessions.mayAct('ADMIT-1'), true, 'the sweep read the station');
  const before = recordReads;
  for (let i = 0; i < 20; i++) await stations.admit(ctx, 'StatusNotification');
  assert.equal(recordReads, before, 'twenty messages, no read of the record');

  // Quarantined: the next message is refused (the change event drops the watch's read at once).
  await stations.registry.update('ADMIT-1', { quarantined: 1 });
  await assert.rejects(stations.admit(ctx, 'StatusNotification'), /quarantined/);
  await stations.admit(ctx, 'Heartbeat');
  // Released and set Pending, then Accepted again: each applies to the next message.
  await stations.registry.update('ADMIT-1', { quarantined: 0, registration: 'Pending' });
  await assert.rejects(stations.admit(ctx, 'StatusNotification'), /Pending/);
  await stations.registry.update('ADMIT-1', { registration: 'Accepted' });
  await stations.admit(ctx, 'StatusNotification');
});
