/**
 * A station's last-seen time (src/stations/registry.ts) is written at most
 * every LAST_SEEN_WRITE_EVERY_MS, so a station heartbeating in a loop is not
 * one database write per message; what the node shows is what is stored, so
 * it never moves backwards when its record cache expires. A connection
 * (which names the OCPP version) is always written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { migrate, openDatabase } from '../../src/store/index.js';
import { createLocalBus } from '../../src/bus/index.js';
import { createStationsStore, stationsMigrations } from '../../src/stations/store.js';
import { createRegistry, LAST_SEEN_WRITE_EVERY_MS } from '../../src/stations/registry.js';
import { STALE_BOUND_MS } from '../../src/bus/changes.js';

test('heartbeats within the bound are one write; the time shown is the stored one and never moves back', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'evguard-last-seen-'));
  const database = await openDatabase({ dataDir: dir });
  t.after(async () => {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await migrate(database, stationsMigrations);
  const store = createStationsStore(database);
  let writes = 0;
  const touch = store.stations.touch;
  store.stations.touch = async (...args) => {
    writes++;
    return touch(...args);
  };
  const registry = createRegistry(store, createLocalBus());
  await registry.create({ id: 'SEEN-1', securityProfile: 1 });

  await registry.touch('SEEN-1', '2.0.1');
  const stored = async () => (await store.stations.get('SEEN-1'))?.last_seen_at;
  const first = await stored();
  assert.ok(first, 'the connection is written');
  assert.equal(writes, 1);

  await new Promise((r) => setTimeout(r, 5));
  for (let i = 0; i < 50; i++) await registry.touch('SEEN-1');
  assert.equal(writes, 1, 'heartbeats within the bound are not written');
  assert.equal(await stored(), first);
  assert.equal((await registry.get('SEEN-1')).lastSeenAt, first, 'the cached record shows the stored time');
  // Past the record cache's bound the record is read again: the time shown does not move backwards.
  await new Promise((r) => setTimeout(r, STALE_BOUND_MS + 100));
  await registry.touch('SEEN-1');
  assert.equal((await registry.get('SEEN-1')).lastSeenAt, first);

  // A reconnect names its version: written whatever the bound.
  await registry.touch('SEEN-1', '1.6');
  assert.equal(writes, 2);
  assert.equal((await store.stations.get('SEEN-1'))?.ocpp_version, '1.6');
  assert.ok(LAST_SEEN_WRITE_EVERY_MS <= 60_000, 'the stored time is never more than a minute behind a talking station');
});
