/**
 * The intel module's tables: TAXII collections' object versions, TAXII status
 * resources, enforced indicators and the pull position per remote.
 * Timestamps are stored as fixed-width ISO-8601 UTC text with microseconds so
 * text order is time order on both SQLite and PostgreSQL.
 */
import type { Kysely, Migration } from 'kysely';
import { tableExists, type Database } from '../store/index.js';
import { tablesOf } from '../store/tables.js';
import type { StixObject } from './stix.js';

export interface IntelTables {
  intel_objects: ObjectRow;
  intel_status: {
    id: string;
    collection_id: string;
    request_timestamp: string;
    /** JSON text. */
    body: string;
  };
  intel_indicators: IndicatorRow;
  intel_remotes: {
    remote: string;
    last_added: string;
    updated_at: string;
  };
}

export const intelMigrations: Record<string, Migration> = {
  'intel/001_init': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('intel_objects')
        .addColumn('collection_id', 'text', (c) => c.notNull())
        .addColumn('object_id', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('version_raw', 'text', (c) => c.notNull())
        .addColumn('object_type', 'text', (c) => c.notNull())
        .addColumn('spec_version', 'text', (c) => c.notNull())
        .addColumn('date_added', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('intel_objects_pk', ['collection_id', 'object_id', 'version'])
        .execute();
      await db.schema.createIndex('intel_objects_added').on('intel_objects').columns(['collection_id', 'date_added']).execute();
      await db.schema
        .createTable('intel_status')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('collection_id', 'text', (c) => c.notNull())
        .addColumn('request_timestamp', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('intel_indicators')
        .addColumn('indicator_id', 'text', (c) => c.primaryKey())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('name', 'text')
        .addColumn('pattern', 'text', (c) => c.notNull())
        .addColumn('terms', 'text', (c) => c.notNull())
        .addColumn('valid_from', 'text')
        .addColumn('valid_until', 'text')
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('imported_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('intel_remotes')
        .addColumn('remote', 'text', (c) => c.primaryKey())
        .addColumn('last_added', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['intel_remotes', 'intel_indicators', 'intel_status', 'intel_objects']) await db.schema.dropTable(t).ifExists().execute();
    },
  },
};

/** Fixed-width (microsecond) UTC text for any STIX/TAXII timestamp, or undefined if it is not one. */
export function sortableTime(value: string): string | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$/.exec(value);
  if (!m || Number.isNaN(Date.parse(`${m[1]}Z`))) return undefined;
  return `${m[1]}.${(m[2] ?? '').padEnd(6, '0').slice(0, 6)}Z`;
}

export interface ObjectRow {
  collection_id: string;
  object_id: string;
  version: string;
  version_raw: string;
  object_type: string;
  spec_version: string;
  date_added: string;
  body: string;
}

export interface ObjectQuery {
  collectionId: string;
  addedAfter?: string;
  ids?: string[];
  types?: string[];
  specVersions?: string[];
  /** `first`, `last`, `all` or exact (sortable) timestamps; any of them. */
  versions?: string[];
  after?: [string, string, string];
  limit: number;
}

export interface IntelStore {
  insertObject(collectionId: string, object: StixObject, dateAdded: string): Promise<'added' | 'duplicate'>;
  queryObjects(q: ObjectQuery): Promise<{ rows: ObjectRow[]; more: boolean }>;
  hasObject(collectionId: string, objectId: string): Promise<boolean>;
  deleteObject(collectionId: string, objectId: string, versions?: string[]): Promise<number>;
  putStatus(id: string, collectionId: string, requestTimestamp: string, body: unknown): Promise<void>;
  getStatus(id: string): Promise<{ collectionId: string; body: any } | undefined>;
  putIndicator(row: IndicatorRow): Promise<void>;
  deleteIndicator(id: string): Promise<void>;
  indicators(): Promise<IndicatorRow[]>;
  /** Changes whenever an indicator is imported, replaced or deleted (count and newest import time). */
  indicatorsFingerprint(): Promise<string>;
  remotePosition(remote: string): Promise<string | undefined>;
  setRemotePosition(remote: string, lastAdded: string, now: string): Promise<void>;
}

export interface IndicatorRow {
  indicator_id: string;
  version: string;
  name: string | null;
  pattern: string;
  terms: string;
  valid_from: string | null;
  valid_until: string | null;
  source: string;
  imported_at: string;
}

export function createIntelStore(database: Database): IntelStore {
  const db = tablesOf<IntelTables>(database);
  const hasObject = async (collectionId: string, objectId: string) => {
    const row = await db.selectFrom('intel_objects').select('object_id').where('collection_id', '=', collectionId).where('object_id', '=', objectId).limit(1).executeTakeFirst();
    return !!row;
  };
  return {
    hasObject,
    async insertObject(collectionId, object, dateAdded) {
      const raw = object.modified ?? object.created;
      if (raw === undefined) {
        // Observables and markings have no version: one copy per id is the object.
        if (await hasObject(collectionId, object.id)) return 'duplicate';
      }
      const version = raw !== undefined ? sortableTime(raw)! : dateAdded;
      const row: ObjectRow = {
        collection_id: collectionId, object_id: object.id, version, version_raw: raw ?? dateAdded,
        object_type: object.type, spec_version: object.spec_version ?? '2.1', date_added: dateAdded, body: JSON.stringify(object),
      };
      // ON CONFLICT DO NOTHING is spelt the same on both dialects, and makes re-sharing idempotent under races too.
      const result = await db.insertInto('intel_objects').values(row).onConflict((oc) => oc.doNothing()).executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0 ? 'added' : 'duplicate';
    },

    async queryObjects(q) {
      let query = db.selectFrom('intel_objects as o').selectAll().where('o.collection_id', '=', q.collectionId);
      if (q.addedAfter) query = query.where('o.date_added', '>', q.addedAfter);
      if (q.ids?.length) query = query.where('o.object_id', 'in', q.ids);
      if (q.types?.length) query = query.where('o.object_type', 'in', q.types);
      if (q.specVersions?.length) query = query.where('o.spec_version', 'in', q.specVersions);
      const versions = q.versions?.length ? q.versions : ['last'];
      if (!versions.includes('all')) {
        query = query.where((eb) =>
          eb.or(versions.map((v) => {
            if (v === 'first' || v === 'last') {
              const agg = eb.selectFrom('intel_objects as o2')
                .select((e2) => (v === 'last' ? e2.fn.max('o2.version') : e2.fn.min('o2.version')).as('v'))
                .whereRef('o2.collection_id', '=', 'o.collection_id')
                .whereRef('o2.object_id', '=', 'o.object_id');
              return eb('o.version', '=', agg);
            }
            return eb('o.version', '=', v);
          })),
        );
      }
      if (q.after) {
        const [d, id, v] = q.after;
        query = query.where((eb) => eb.or([
          eb('o.date_added', '>', d),
          eb.and([eb('o.date_added', '=', d), eb('o.object_id', '>', id)]),
          eb.and([eb('o.date_added', '=', d), eb('o.object_id', '=', id), eb('o.version', '>', v)]),
        ]));
      }
      const rows = (await query.orderBy('o.date_added').orderBy('o.object_id').orderBy('o.version').limit(q.limit + 1).execute()) as ObjectRow[];
      return { rows: rows.slice(0, q.limit), more: rows.length > q.limit };
    },

    async deleteObject(collectionId, objectId, versions) {
      let q = db.deleteFrom('intel_objects').where('collection_id', '=', collectionId).where('object_id', '=', objectId);
      if (versions?.length) q = q.where('version', 'in', versions);
      const result = await q.executeTakeFirst();
      return Number(result.numDeletedRows ?? 0);
    },

    async putStatus(id, collectionId, requestTimestamp, body) {
      await db.insertInto('intel_status').values({ id, collection_id: collectionId, request_timestamp: requestTimestamp, body: JSON.stringify(body) }).execute();
    },

    async getStatus(id) {
      const row = await db.selectFrom('intel_status').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? { collectionId: row.collection_id as string, body: JSON.parse(row.body as string) } : undefined;
    },

    async putIndicator(row) {
      await db.insertInto('intel_indicators').values(row)
        .onConflict((oc) => oc.column('indicator_id').doUpdateSet({
          version: row.version, name: row.name, pattern: row.pattern, terms: row.terms, valid_from: row.valid_from,
          valid_until: row.valid_until, source: row.source, imported_at: row.imported_at,
        }))
        .execute();
    },

    async deleteIndicator(id) {
      await db.deleteFrom('intel_indicators').where('indicator_id', '=', id).execute();
    },

    async indicators() {
      return (await db.selectFrom('intel_indicators').selectAll().orderBy('indicator_id').execute()) as IndicatorRow[];
    },

    async indicatorsFingerprint() {
      const r: any = await db.selectFrom('intel_indicators').select((eb) => [eb.fn.countAll().as('n'), eb.fn.max('imported_at').as('newest')]).executeTakeFirst();
      return `${Number(r?.n ?? 0)}|${r?.newest ?? ''}`;
    },

    async remotePosition(remote) {
      const row = await db.selectFrom('intel_remotes').select('last_added').where('remote', '=', remote).executeTakeFirst();
      return row?.last_added as string | undefined;
    },

    async setRemotePosition(remote, lastAdded, now) {
      await db.insertInto('intel_remotes').values({ remote, last_added: lastAdded, updated_at: now })
        .onConflict((oc) => oc.column('remote').doUpdateSet({ last_added: lastAdded, updated_at: now }))
        .execute();
    },
  };
}

/** Whether the database holds intel's tables (a node migrated it), for tools that open a node's data without starting it. */
export function intelTablesExist(database: Database): Promise<boolean> {
  return tableExists(database, 'intel_objects');
}
