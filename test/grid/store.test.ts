/**
 * The grid's tables in memory: a reload (a `grid.limits.changed` event, the
 * periodic re-read) whose rows were read before a write on this node, or
 * before a newer reload, never swaps them in over that write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SelectQueryNode, type KyselyPlugin, type QueryId } from 'kysely';
import { migrate, type Database } from '../../src/store/index.js';
import { createGridStore, gridMigrations } from '../../src/grid/store.js';
import { openScratchDatabase, testDatabases } from '../support/node.js';

/** The answers of the next `n` reads are held (the reads themselves run) until `release()`. */
function holdReads() {
  const reads = new Set<QueryId>();
  let holding = 0;
  let arrived = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const plugin: KyselyPlugin = {
    transformQuery(args) {
      if (holding > 0 && SelectQueryNode.is(args.node)) {
        holding--;
        reads.add(args.queryId);
      }
      return args.node;
    },
    async transformResult(args) {
      if (reads.delete(args.queryId)) {
        arrived++;
        await gate;
      }
      return args.result;
    },
  };
  return {
    plugin,
    hold: (n: number) => void (holding = n),
    /** Resolves once `n` held reads have their answers (so they read the tables as they were). */
    async answered(n: number) {
      while (arrived < n) await new Promise((r) => setTimeout(r, 5));
    },
    release: () => release(),
  };
}

const site = (id: string) => ({ id, name: id, limitKw: 30, updatedAt: new Date().toISOString() });
const station = (stationId: string, siteId: string) => ({ stationId, siteId, maxPowerW: 22_000, updatedAt: new Date().toISOString() });

for (const dialect of testDatabases()) {
  test(`grid store (${dialect}): a reload that read the tables before a write here does not undo it`, async (t) => {
    const database = await openScratchDatabase(dialect, t);
    await migrate(database, gridMigrations);
    const reads = holdReads();
    const store = createGridStore({ ...database, db: database.db.withPlugin(reads.plugin) } as Database);
    await store.putSite(site('OLD'));
    await store.putStation(station('CS-GONE', 'OLD'));
    reads.hold(3);
    const reload = store.load();
    await reads.answered(3);
    // Written while the reload's answers (without these changes) are on their way.
    await store.putSite(site('NEW'));
    await store.putStation(station('CS-NEW', 'NEW'));
    await store.deleteStation('CS-GONE');
    reads.release();
    await reload;
    assert.deepEqual([...store.sites.keys()].sort(), ['NEW', 'OLD'], 'the site added during the reload is kept');
    assert.deepEqual([...store.stations.keys()], ['CS-NEW'], 'the assignment made during the reload is kept, the one removed stays removed');
  });

  test(`grid store (${dialect}): of two reloads, the older finishing last does not replace the newer`, async (t) => {
    const database = await openScratchDatabase(dialect, t);
    await migrate(database, gridMigrations);
    const reads = holdReads();
    const store = createGridStore({ ...database, db: database.db.withPlugin(reads.plugin) } as Database);
    reads.hold(3);
    const older = store.load();
    await reads.answered(3);
    // Another node adds a site (straight into the table), and its change event reloads here.
    await createGridStore(database).putSite(site('ELSEWHERE'));
    await store.load();
    assert.ok(store.sites.has('ELSEWHERE'));
    reads.release();
    await older;
    assert.ok(store.sites.has('ELSEWHERE'), 'the older reload\'s rows are not swapped in');
  });
}
