/**
 * The stations module's tables: registered stations, connector state, and
 * reports stored as received (NotifyReport, NotifyEvent, LogStatus…).
 */
import type { Kysely, Migration } from '../store/index.js';

export const stationsMigrations: Record<string, Migration> = {
  'stations/001_init': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('stations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('security_profile', 'integer', (c) => c.notNull())
        .addColumn('password_hash', 'text')
        .addColumn('registration', 'text', (c) => c.notNull().defaultTo('Accepted'))
        .addColumn('ocpp_version', 'text')
        .addColumn('vendor', 'text')
        .addColumn('model', 'text')
        .addColumn('serial_number', 'text')
        .addColumn('firmware_version', 'text')
        .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('quarantined', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_boot_at', 'text')
        .addColumn('last_seen_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('connectors')
        .addColumn('station_id', 'text', (c) => c.notNull())
        .addColumn('evse_id', 'integer', (c) => c.notNull())
        .addColumn('connector_id', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('error_code', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('connectors_pk', ['station_id', 'evse_id', 'connector_id'])
        .execute();
      await db.schema
        .createTable('station_reports')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('station_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('station_reports_station').on('station_reports').columns(['station_id', 'received_at']).execute();
      await db.schema
        .createTable('id_tokens')
        .addColumn('id_token', 'text', (c) => c.primaryKey())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['id_tokens', 'station_reports', 'connectors', 'stations']) await db.schema.dropTable(t).execute();
    },
  },
  'stations/002_known_addresses': {
    // Where each station has authenticated from: an address lock-out spares a station known there (a shared NAT), and a distributed guesser's slow-down spares its known addresses.
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('station_addresses')
        .addColumn('station_id', 'text', (c) => c.notNull())
        .addColumn('remote_address', 'text', (c) => c.notNull())
        .addColumn('last_ok_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('station_addresses_pk', ['station_id', 'remote_address'])
        .execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('station_addresses').execute();
    },
  },
};
