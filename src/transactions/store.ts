import type { Kysely, Migration } from '../store/index.js';

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
};
