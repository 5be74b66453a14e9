import { sql, type Kysely, type Migration } from '../store/index.js';

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
