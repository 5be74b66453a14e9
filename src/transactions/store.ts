/**
 * The transactions module's tables: one record per (station, transaction),
 * the event log each record was built from, and the OCPP 1.6 ids the CSMS
 * issued. Only this file holds their SQL; index.ts and ids.ts work through
 * the repository below, other modules through the transactions API.
 */
import type { Compilable, Selectable, Updateable } from 'kysely';
import { sql, type Database, type Dialect, type Kysely, type Migration } from '../store/index.js';
import { tablesOf, type Defaulted } from '../store/tables.js';
import { prepared, preparedRecord, type QueryRunner } from '../store/prepared.js';

export interface TransactionsTables {
  transactions: {
    /** `<stationId>:<transactionId>`. */
    id: string;
    station_id: string;
    /** The station's own id (2.x) or the one the CSMS issued (1.6); set on every row since transactions/002. */
    transaction_id: string;
    evse_id: number | null;
    connector_id: number | null;
    id_token: string | null;
    state: string;
    started_at: string | null;
    ended_at: string | null;
    energy_start_wh: number | null;
    energy_stop_wh: number | null;
    energy_wh: number | null;
    sample_min_wh: number | null;
    sample_max_wh: number | null;
    last_sample_at: string | null;
    power_w: number | null;
    soc: number | null;
    stopped_reason: string | null;
    max_seq_no: number | null;
    auth_status: string | null;
    auth_at: string | null;
    abandoned_by: string | null;
    /** JSON text: string[]. */
    flags: Defaulted<string>;
    events: Defaulted<number>;
    seq_gaps: Defaulted<number>;
    offline_events: Defaulted<number>;
    late_events: Defaulted<number>;
    implausible_events: Defaulted<number>;
    updated_at: string;
  };
  transaction_events: {
    transaction_id: string;
    dedup_key: string;
    station_id: string;
    kind: string;
    seq_no: number | null;
    timestamp: string;
    /** 0 or 1. */
    offline: Defaulted<number>;
    /** JSON text. */
    payload: string;
    /** JSON text: string[]. */
    flags: Defaulted<string>;
    received_at: string;
  };
  legacy_transaction_ids: {
    id: number;
    station_id: string;
    dedup_key: string;
  };
  /** SQLite only: PostgreSQL uses the sequence legacy_transaction_id_seq. */
  legacy_transaction_counter: {
    name: string;
    last_id: number;
  };
}

export type TransactionRow = Selectable<TransactionsTables['transactions']>;
export type TransactionEventRow = Selectable<TransactionsTables['transaction_events']>;

const isPostgres = (db: Kysely<any>) => (db.getExecutor().adapter.constructor.name ?? '').toLowerCase().includes('postgres');

/** Largest 1.6 transaction id: stations keep it in a 32-bit integer. */
export const MAX_LEGACY_ID = 2_147_483_647;

export const transactionsMigrations: Record<string, Migration> = {
  'transactions/001_init': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('transactions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('station_id', 'text', (c) => c.notNull())
        .addColumn('evse_id', 'integer')
        .addColumn('connector_id', 'integer')
        .addColumn('id_token', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('ended_at', 'text')
        .addColumn('energy_start_wh', 'double precision')
        .addColumn('energy_wh', 'double precision')
        .addColumn('power_w', 'double precision')
        .addColumn('soc', 'double precision')
        .addColumn('stopped_reason', 'text')
        .addColumn('max_seq_no', 'integer')
        .addColumn('events', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('seq_gaps', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('offline_events', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('transactions_station').on('transactions').columns(['station_id', 'updated_at']).execute();
      await db.schema
        .createTable('transaction_events')
        .addColumn('transaction_id', 'text', (c) => c.notNull())
        .addColumn('dedup_key', 'text', (c) => c.notNull())
        .addColumn('station_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('seq_no', 'integer')
        .addColumn('timestamp', 'text', (c) => c.notNull())
        .addColumn('offline', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('transaction_events_pk', ['transaction_id', 'dedup_key'])
        .execute();
      // 1.6 transaction ids are integers the CSMS assigns; one row per StartTransaction, so a replayed start maps to the same id.
      await db.schema
        .createTable('legacy_transaction_ids')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('station_id', 'text', (c) => c.notNull())
        .addColumn('dedup_key', 'text', (c) => c.notNull())
        .addUniqueConstraint('legacy_transaction_ids_start', ['station_id', 'dedup_key'])
        .execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['legacy_transaction_ids', 'transaction_events', 'transactions']) await db.schema.dropTable(t).execute();
    },
  },
  /**
   * Per-station identity: a transaction is (station, its transactionId); the
   * row id becomes `<stationId>:<transactionId>` (station ids have no colon,
   * so it reads back unambiguously). 1.6 ids come from a CSMS-owned sequence
   * (PostgreSQL) or counter row (SQLite) instead of "highest so far + 1",
   * which a station could advance or block. The record also gains its
   * lifecycle fields: stop register, newest sample time, authorization,
   * flags, and per-event flags in the event log.
   */
  'transactions/002_per_station': {
    async up(db: Kysely<any>) {
      const columns: [string, 'text' | 'integer' | 'double precision', string?][] = [
        ['transaction_id', 'text'],
        ['energy_stop_wh', 'double precision'],
        ['sample_min_wh', 'double precision'],
        ['sample_max_wh', 'double precision'],
        ['last_sample_at', 'text'],
        ['auth_status', 'text'],
        ['auth_at', 'text'],
        ['abandoned_by', 'text'],
        ['flags', 'text', "'[]'"],
        ['late_events', 'integer', '0'],
        ['implausible_events', 'integer', '0'],
      ];
      for (const [name, type, dflt] of columns) {
        await db.schema.alterTable('transactions').addColumn(name, type, (c) => (dflt === undefined ? c : c.notNull().defaultTo(sql.raw(dflt)))).execute();
      }
      // Rows written before this migration: their id was the station's own id; the stop register is the last one stored.
      await sql`UPDATE transactions SET transaction_id = id, id = station_id || ':' || id`.execute(db);
      await sql`UPDATE transactions SET energy_stop_wh = energy_wh WHERE state = 'Ended'`.execute(db);
      await db.schema.createIndex('transactions_station_tx').unique().on('transactions').columns(['station_id', 'transaction_id']).execute();
      await db.schema.createIndex('transactions_connector').on('transactions').columns(['station_id', 'evse_id', 'state']).execute();
      await db.schema.createIndex('transactions_ended').on('transactions').columns(['ended_at']).execute();
      await sql`UPDATE transaction_events SET transaction_id = station_id || ':' || transaction_id`.execute(db);
      await db.schema.alterTable('transaction_events').addColumn('flags', 'text', (c) => c.notNull().defaultTo('[]')).execute();
      const max = await db.selectFrom('legacy_transaction_ids').select((eb) => eb.fn.max('id').as('max')).executeTakeFirst();
      const last = Number(max?.max ?? 0);
      if (isPostgres(db)) {
        await sql.raw(`CREATE SEQUENCE legacy_transaction_id_seq AS integer MINVALUE 1 MAXVALUE ${MAX_LEGACY_ID} START WITH ${last + 1}`).execute(db);
      } else {
        await db.schema.createTable('legacy_transaction_counter').addColumn('name', 'text', (c) => c.primaryKey()).addColumn('last_id', 'integer', (c) => c.notNull()).execute();
        await db.insertInto('legacy_transaction_counter').values({ name: 'ocpp1.6', last_id: last }).execute();
      }
    },
  },
};

type TransactionColumn = keyof TransactionsTables['transactions'];
type EventColumn = keyof TransactionsTables['transaction_events'];

/** Every column, named (not `SELECT *`, so PostgreSQL may keep the statement by name; see src/store/pg-group-commit.ts). */
const TRANSACTION_COLUMNS = [
  'id', 'station_id', 'transaction_id', 'evse_id', 'connector_id', 'id_token', 'state', 'started_at', 'ended_at',
  'energy_start_wh', 'energy_stop_wh', 'energy_wh', 'sample_min_wh', 'sample_max_wh', 'last_sample_at', 'power_w', 'soc',
  'stopped_reason', 'max_seq_no', 'auth_status', 'auth_at', 'abandoned_by', 'flags', 'events', 'seq_gaps',
  'offline_events', 'late_events', 'implausible_events', 'updated_at',
] as const satisfies readonly TransactionColumn[];
const EVENT_COLUMNS = [
  'transaction_id', 'dedup_key', 'station_id', 'kind', 'seq_no', 'timestamp', 'offline', 'payload', 'flags', 'received_at',
] as const satisfies readonly EventColumn[];
/** The columns in the table's secondary indexes besides updated_at (see the migrations above); a meter update changes none of them. */
const INDEXED_COLUMNS = ['station_id', 'transaction_id', 'evse_id', 'state', 'ended_at'] as const satisfies readonly TransactionColumn[];
const PROGRESS_COLUMNS = TRANSACTION_COLUMNS.filter((c): c is Exclude<TransactionColumn, (typeof INDEXED_COLUMNS)[number]> => !(INDEXED_COLUMNS as readonly string[]).includes(c));
// Fails to compile if a column is added to the tables above and not to the lists.
type Missing<T, L extends readonly unknown[]> = Exclude<T, L[number]>;
const complete: [Missing<TransactionColumn, typeof TRANSACTION_COLUMNS>, Missing<EventColumn, typeof EVENT_COLUMNS>] extends [never, never] ? true : never = true;
void complete;

/**
 * The statements of a station's transaction message (every TransactionEvent,
 * 1.6 MeterValues, Start and Stop), compiled once (src/store/prepared.ts):
 * building the whole-record update was most of the message's query cost.
 */
function hotStatements(db: Kysely<TransactionsTables>, dialect: Dialect) {
  return {
    getForUpdate: prepared(db, 1, (id: string) => {
      const read = db.selectFrom('transactions').select(TRANSACTION_COLUMNS).where('id', '=', id);
      return dialect === 'postgres' ? read.forUpdate() : read;
    }),
    eventStored: prepared(db, 2, (transactionId: string, dedupKey: string) =>
      db.selectFrom('transaction_events').select('dedup_key').where('transaction_id', '=', transactionId).where('dedup_key', '=', dedupKey),
    ),
    insertEvent: preparedRecord(db, EVENT_COLUMNS, (row) =>
      db.insertInto('transaction_events').values(row).onConflict((oc) => oc.columns(['transaction_id', 'dedup_key']).doNothing()),
    ),
    insert: preparedRecord(db, TRANSACTION_COLUMNS, (row) => db.insertInto('transactions').values(row)),
    updateRecord: preparedRecord(db, TRANSACTION_COLUMNS, ({ id, ...rest }) => db.updateTable('transactions').set(rest).where('id', '=', id)),
    // SQLite rewrites an index's entry for every indexed column an UPDATE sets, changed or not.
    updateProgress: preparedRecord(db, PROGRESS_COLUMNS, ({ id, ...rest }) => db.updateTable('transactions').set(rest).where('id', '=', id)),
    stationOfLegacyId: prepared(db, 1, (id: number) => db.selectFrom('legacy_transaction_ids').select('station_id').where('id', '=', id)),
    // Asked when a station with a load comes back (the grid's randomised resume): every charging station of a storm.
    openIdOf: prepared(db, 1, (stationId: string) =>
      db.selectFrom('transactions').select('id').where('station_id', '=', stationId).where('ended_at', 'is', null).where('abandoned_by', 'is', null).limit(1),
    ),
  };
}

type HotStatements = ReturnType<typeof hotStatements>;

/**
 * The repository over the database, or over one database transaction's
 * connection: queries are built on `db` and run on `runner` (the same
 * database, or a transaction of it).
 */
function repository(db: Kysely<TransactionsTables>, runner: QueryRunner, dialect: Dialect, hot: HotStatements) {
  const all = async <R>(query: Compilable<R>): Promise<R[]> => (await runner.executeQuery<R>(query.compile())).rows;
  const first = async <R>(query: Compilable<R>): Promise<R | undefined> => (await all<R>(query))[0];
  return {
    async get(id: string): Promise<TransactionRow | undefined> {
      return first(db.selectFrom('transactions').selectAll().where('id', '=', id));
    },
    /**
     * The record, locked until the database transaction ends on PostgreSQL, so
     * a racing message waits and reads what the first one wrote (SQLite runs
     * one writer anyway).
     */
    async getForUpdate(id: string): Promise<TransactionRow | undefined> {
      return (await hot.getForUpdate.on(runner, id))[0] as TransactionRow | undefined;
    },
    /** A new record, every column given. */
    async insert(row: TransactionRow): Promise<void> {
      await hot.insert.on(runner, row);
    },
    /**
     * Writes the record over `previous` (as read in this database transaction):
     * every column, or when no indexed column changed (a meter update), only
     * the others, so the indexes' entries are not rewritten.
     */
    async updateRecord(row: TransactionRow, previous: TransactionRow): Promise<void> {
      const keysKept = INDEXED_COLUMNS.every((c) => row[c] === previous[c]);
      await (keysKept ? hot.updateProgress : hot.updateRecord).on(runner, row);
    },
    async update(id: string, change: Updateable<TransactionsTables['transactions']>): Promise<void> {
      await all(db.updateTable('transactions').set(change).where('id', '=', id));
    },
    /**
     * Transactions on the connector that never ended and were not abandoned, other than `exceptId`: locked
     * on PostgreSQL, so that an Ended another node is storing for one of them is waited for (and the row,
     * read again, no longer matches) instead of overwritten by its abandonment.
     */
    async openOnEvse(stationId: string, evseId: number, exceptId: string): Promise<TransactionRow[]> {
      const open = db.selectFrom('transactions').selectAll()
        .where('station_id', '=', stationId).where('evse_id', '=', evseId).where('id', '!=', exceptId)
        .where('ended_at', 'is', null).where('abandoned_by', 'is', null).limit(1000);
      return all(dialect === 'postgres' ? open.forUpdate() : open);
    },
    /** Whether the station has a transaction that never ended and was not abandoned. */
    async hasOpen(stationId: string): Promise<boolean> {
      return (await hot.openIdOf.on(runner, stationId)).length > 0;
    },
    async list(q: { stationId?: string; state?: string; endedFrom?: string; endedTo?: string; limit: number; offset: number }): Promise<TransactionRow[]> {
      let query = db.selectFrom('transactions').selectAll();
      if (q.stationId) query = query.where('station_id', '=', q.stationId);
      if (q.state) query = query.where('state', '=', q.state);
      if (q.endedFrom) query = query.where('ended_at', '>=', q.endedFrom);
      if (q.endedTo) query = query.where('ended_at', '<', q.endedTo);
      return all(query.orderBy('updated_at', 'desc').orderBy('id').limit(q.limit).offset(q.offset));
    },
    /** Whether the event log holds the message (transaction key, dedup key) already. */
    async eventStored(transactionKey: string, dedupKey: string): Promise<boolean> {
      return (await hot.eventStored.on(runner, transactionKey, dedupKey)).length > 0;
    },
    /** Stores a message in the event log unless one with the same key is there; whether it was stored. */
    async insertEvent(row: TransactionEventRow): Promise<boolean> {
      return (await hot.insertEvent.changedOn(runner, row)) > 0;
    },
    /** The transaction's event log in arrival order. */
    async events(transactionKey: string): Promise<TransactionEventRow[]> {
      return all(db.selectFrom('transaction_events').selectAll().where('transaction_id', '=', transactionKey).orderBy('received_at').orderBy('seq_no'));
    },
    legacyIds: {
      /** The 1.6 id already issued for this start (station, dedup key). */
      async issuedFor(stationId: string, dedupKey: string): Promise<number | undefined> {
        const row = await first(db.selectFrom('legacy_transaction_ids').select('id').where('station_id', '=', stationId).where('dedup_key', '=', dedupKey));
        return row ? Number(row.id) : undefined;
      },
      /** The next number of the CSMS's own 1.6 id sequence (throws PostgreSQL's 2200H once the sequence is spent). */
      async next(): Promise<number> {
        if (dialect === 'postgres') {
          const nextval = sql<{ id: string }>`SELECT nextval('legacy_transaction_id_seq') AS id`;
          const row = await first({ compile: () => nextval.compile(db) });
          return Number(row!.id);
        }
        const row = await first(db.updateTable('legacy_transaction_counter').set((eb) => ({ last_id: eb('last_id', '+', 1) })).where('name', '=', 'ocpp1.6').returning('last_id'));
        if (!row) throw new Error('the 1.6 transaction id counter is missing');
        return Number(row.last_id);
      },
      async record(id: number, stationId: string, dedupKey: string): Promise<void> {
        await all(db.insertInto('legacy_transaction_ids').values({ id, station_id: stationId, dedup_key: dedupKey }));
      },
      /** The station a 1.6 id was issued to. */
      async stationOf(id: number): Promise<string | undefined> {
        const row = (await hot.stationOfLegacyId.on(runner, id))[0] as { station_id: string } | undefined;
        return row?.station_id;
      },
    },
  };
}

export type TransactionsRepository = ReturnType<typeof repository>;

export function createTransactionsStore(database: Database) {
  const db = tablesOf<TransactionsTables>(database);
  const hot = hotStatements(db, database.dialect);
  return {
    ...repository(db, db, database.dialect, hot),
    /**
     * Runs `work` in one database transaction, with the repository bound to it. `stationId`: the station
     * whose rows it locks and changes (all of a message's rows are its station's), so that on PostgreSQL
     * it may share a database transaction with other stations' messages.
     */
    transaction<T>(stationId: string, work: (tx: TransactionsRepository) => Promise<T>): Promise<T> {
      return database.transaction((connection) => work(repository(db, connection, database.dialect, hot)), { key: stationId });
    },
  };
}

export type TransactionsStore = ReturnType<typeof createTransactionsStore>;
