/**
 * The grid's tables: feeders, sites (each optionally on a feeder) and the
 * assignment of stations to sites with their maximum power. Small tables,
 * read whole into memory at start and written through on every change, so the
 * guard decides without touching the database; another node's change is
 * re-read on its `grid.limits.changed` event and every STALE_BOUND_MS.
 */
import { PostgresAdapter, type Kysely, type Migration } from 'kysely';
import { sql, type Database } from '../store/index.js';
import { tablesOf, type Int8Column, type SerialIdColumn } from '../store/tables.js';

export interface GridTables {
  grid_feeders: {
    id: string;
    name: string;
    limit_kw: number;
    ramp_kw_per_s: number | null;
    updated_at: string;
  };
  grid_sites: {
    id: string;
    name: string;
    feeder_id: string | null;
    limit_kw: number;
    ramp_kw_per_s: number | null;
    updated_at: string;
  };
  grid_stations: {
    station_id: string;
    site_id: string;
    max_power_w: number;
    updated_at: string;
  };
  /** The guard's shared ledger in cluster mode (ledger.ts). */
  grid_guard_log: {
    id: SerialIdColumn;
    origin: string;
    at_ms: Int8Column;
    /** JSON text: one LedgerEntry. */
    entry: string;
  };
}

export const gridMigrations: Record<string, Migration> = {
  'grid/001_init': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('grid_feeders')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('limit_kw', 'double precision', (c) => c.notNull())
        .addColumn('ramp_kw_per_s', 'double precision')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('grid_sites')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('feeder_id', 'text')
        .addColumn('limit_kw', 'double precision', (c) => c.notNull())
        .addColumn('ramp_kw_per_s', 'double precision')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('grid_stations')
        .addColumn('station_id', 'text', (c) => c.primaryKey())
        .addColumn('site_id', 'text', (c) => c.notNull())
        .addColumn('max_power_w', 'double precision', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('grid_stations_site').on('grid_stations').column('site_id').execute();
    },
  },
  'grid/002_guard_log': {
    // The guard's shared ledger in cluster mode (ledger.ts): ramp, reservations, bookings and mass log, appended under a lock.
    async up(db: Kysely<any>) {
      const pg = db.getExecutor().adapter instanceof PostgresAdapter;
      await db.schema
        .createTable('grid_guard_log')
        .addColumn('id', pg ? 'bigserial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('origin', 'text', (c) => c.notNull())
        .addColumn('at_ms', 'bigint', (c) => c.notNull())
        .addColumn('entry', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('grid_guard_log_at').on('grid_guard_log').column('at_ms').execute();
    },
  },
};

export interface Feeder { id: string; name: string; limitKw: number; rampKwPerS?: number; updatedAt: string }
export interface Site { id: string; name: string; feederId?: string; limitKw: number; rampKwPerS?: number; updatedAt: string }
export interface StationAssignment { stationId: string; siteId: string; maxPowerW: number; updatedAt: string }

const opt = (v: unknown) => (v === null || v === undefined ? undefined : Number(v));

export function createGridStore(database: Database) {
  const db = tablesOf<GridTables>(database);
  const feeders = new Map<string, Feeder>();
  const sites = new Map<string, Site>();
  const stations = new Map<string, StationAssignment>();
  // A reload's rows can be older than the maps by the time it swaps them in: a write here may commit and
  // set its entry while the reads are in flight (a write waits for its batch's COMMIT, reads run at once),
  // and of two reloads the older may finish last. Swapped in, such rows would undo the write (a site just
  // added "not found") until the next reload. `writes` counts this node's changes to the maps; `started`
  // and `applied` order the reloads by when their reads began.
  let writes = 0;
  let started = 0;
  let applied = 0;
  const wrote = () => void writes++;

  return {
    feeders,
    sites,
    stations,
    /** Reads the three tables whole, then swaps them in (a decision never sees half a reload). */
    async load() {
      for (;;) {
        const seq = ++started;
        const writesBefore = writes;
        const [f, si, st] = await Promise.all([
          db.selectFrom('grid_feeders').selectAll().execute(),
          db.selectFrom('grid_sites').selectAll().execute(),
          db.selectFrom('grid_stations').selectAll().execute(),
        ]);
        // A reload begun later is already in: these rows are no newer.
        if (seq < applied) return;
        // A write here landed during the reads: the rows may predate it, so read again.
        if (writes !== writesBefore) continue;
        applied = seq;
        feeders.clear();
        sites.clear();
        stations.clear();
        for (const r of f) feeders.set(r.id, { id: r.id, name: r.name, limitKw: Number(r.limit_kw), rampKwPerS: opt(r.ramp_kw_per_s), updatedAt: r.updated_at });
        for (const r of si) sites.set(r.id, { id: r.id, name: r.name, feederId: r.feeder_id ?? undefined, limitKw: Number(r.limit_kw), rampKwPerS: opt(r.ramp_kw_per_s), updatedAt: r.updated_at });
        for (const r of st) stations.set(r.station_id, { stationId: r.station_id, siteId: r.site_id, maxPowerW: Number(r.max_power_w), updatedAt: r.updated_at });
        return;
      }
    },
    async putFeeder(f: Feeder) {
      const row = { id: f.id, name: f.name, limit_kw: f.limitKw, ramp_kw_per_s: f.rampKwPerS ?? null, updated_at: f.updatedAt };
      await db.insertInto('grid_feeders').values(row).onConflict((oc) => oc.column('id').doUpdateSet({ name: row.name, limit_kw: row.limit_kw, ramp_kw_per_s: row.ramp_kw_per_s, updated_at: row.updated_at })).execute();
      feeders.set(f.id, f);
      wrote();
    },
    async deleteFeeder(id: string) {
      await db.deleteFrom('grid_feeders').where('id', '=', id).execute();
      feeders.delete(id);
      wrote();
    },
    async putSite(s: Site) {
      const row = { id: s.id, name: s.name, feeder_id: s.feederId ?? null, limit_kw: s.limitKw, ramp_kw_per_s: s.rampKwPerS ?? null, updated_at: s.updatedAt };
      await db.insertInto('grid_sites').values(row).onConflict((oc) => oc.column('id').doUpdateSet({ name: row.name, feeder_id: row.feeder_id, limit_kw: row.limit_kw, ramp_kw_per_s: row.ramp_kw_per_s, updated_at: row.updated_at })).execute();
      sites.set(s.id, s);
      wrote();
    },
    async deleteSite(id: string) {
      await db.deleteFrom('grid_sites').where('id', '=', id).execute();
      sites.delete(id);
      wrote();
    },
    async putStation(a: StationAssignment) {
      const row = { station_id: a.stationId, site_id: a.siteId, max_power_w: a.maxPowerW, updated_at: a.updatedAt };
      await db.insertInto('grid_stations').values(row).onConflict((oc) => oc.column('station_id').doUpdateSet({ site_id: row.site_id, max_power_w: row.max_power_w, updated_at: row.updated_at })).execute();
      stations.set(a.stationId, a);
      wrote();
    },
    async deleteStation(stationId: string) {
      await db.deleteFrom('grid_stations').where('station_id', '=', stationId).execute();
      stations.delete(stationId);
      wrote();
    },
  };
}

export type GridStore = ReturnType<typeof createGridStore>;

/** One turn of the cluster's guard ledger, inside its database transaction and under its lock. */
export interface GuardLogTurn {
  /** Entries appended after `afterId`, in id order. */
  since(afterId: number): Promise<{ id: number; origin: string; entry: string }[]>;
  /** Appends the rows; their ids. */
  append(rows: { origin: string; atMs: number; entry: string }[]): Promise<number[]>;
  /** Deletes the entries appended before `atMs`. */
  prune(beforeMs: number): Promise<void>;
}

/** The guard's shared ledger (PostgreSQL only): turns serialised across the cluster by a transaction-level advisory lock. */
export function createGuardLog(database: Database) {
  const db = tablesOf<GridTables>(database);
  return {
    async turn(lockKey: string, work: (log: GuardLogTurn) => Promise<void>): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await sql`SELECT pg_advisory_xact_lock(hashtext(${lockKey}))`.execute(trx);
        await work({
          async since(afterId) {
            const rows = await trx.selectFrom('grid_guard_log').select(['id', 'origin', 'entry']).where('id', '>', afterId).orderBy('id').execute();
            return rows.map((r) => ({ id: Number(r.id), origin: r.origin, entry: r.entry }));
          },
          async append(rows) {
            const ids = await trx.insertInto('grid_guard_log').values(rows.map((r) => ({ origin: r.origin, at_ms: r.atMs, entry: r.entry }))).returning('id').execute();
            return ids.map((r) => Number(r.id));
          },
          async prune(beforeMs) {
            await trx.deleteFrom('grid_guard_log').where('at_ms', '<', beforeMs).execute();
          },
        });
      });
    },
  };
}
