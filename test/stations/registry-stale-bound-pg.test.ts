/**
 * The registry's record cache on PostgreSQL, two nodes, the change's
 * announcement lost (STALE_BOUND_MS is then the only bound): a password
 * rotated on node A while node B's read of the station was in flight (read
 * before the change, its answer taken in after it, by a busy event loop) is
 * in force on node B within STALE_BOUND_MS of the change, not of the answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { migrate, openDatabase } from '../../src/store/index.js';
import { createLocalBus } from '../../src/bus/index.js';
import { createStationsStore, stationsMigrations } from '../../src/stations/store.js';
import { createRegistry } from '../../src/stations/registry.js';
import { STALE_BOUND_MS } from '../../src/bus/changes.js';
import { createPgDatabase } from '../support/node.js';

const busy = (ms: number) => {
  const until = Date.now() + ms;
  while (Date.now() < until);
};

test('PostgreSQL: a password rotated on another node while this node\'s read was in flight is in force within the bound of the change', async (t) => {
  const scratch = await createPgDatabase();
  const database = await openDatabase({ databaseUrl: scratch.url, dataDir: '' });
  t.after(async () => {
    await database.close();
    await scratch.drop();
  });
  await migrate(database, stationsMigrations);
  const store = createStationsStore(database);
  const now = new Date().toISOString();
  await store.stations.insert({ id: 'ROT-1', security_profile: 1, registration: 'Accepted', password_hash: 'old', created_at: now, updated_at: now } as never);
  // Node B: its own bus, which never hears node A's change.
  const registry = createRegistry(store, createLocalBus());
  await store.stations.get('ROT-1'); // a warm pool connection

  const reading = registry.secret('ROT-1');
  // The batch goes out after this turn; the read is sent and answered while the event loop is busy.
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  busy(100);
  // Node A rotates the password (another process), while node B's event loop is still busy.
  execFileSync('psql', [scratch.url, '-qc', "UPDATE stations SET password_hash = 'new' WHERE id = 'ROT-1'"]);
  const changedAt = Date.now();
  busy(1000);
  assert.equal((await reading)?.passwordHash, 'old', 'the read was made before the change');

  await new Promise((r) => setTimeout(r, changedAt + STALE_BOUND_MS + 100 - Date.now()));
  assert.equal((await registry.secret('ROT-1'))?.passwordHash, 'new', `the old password is refused ${STALE_BOUND_MS} ms after the change`);
});
