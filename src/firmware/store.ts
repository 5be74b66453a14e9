/**
 * The firmware module's tables: images, TUF metadata, campaigns with their
 * per-station rows, and download grants. Timestamps are ISO-8601 text and
 * JSON is text, so one schema serves SQLite and PostgreSQL.
 */
import type { Kysely, Migration } from 'kysely';

export const firmwareMigrations: Record<string, Migration> = {
  'firmware/001_init': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('firmware_images')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('vendor', 'text', (c) => c.notNull())
        .addColumn('models', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('length', 'integer', (c) => c.notNull())
        .addColumn('release_counter', 'integer', (c) => c.notNull())
        .addColumn('signature', 'text')
        .addColumn('signing_certificate', 'text')
        .addColumn('signer', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('firmware_images_version', ['vendor', 'version'])
        .execute();
      await db.schema
        .createTable('firmware_tuf')
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('json', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('firmware_tuf_pk', ['repo', 'role', 'version'])
        .execute();
      await db.schema
        .createTable('firmware_campaigns')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('firmware_id', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('current_wave', 'integer', (c) => c.notNull())
        .addColumn('halt_reason', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('firmware_campaign_stations')
        .addColumn('campaign_id', 'text', (c) => c.notNull())
        .addColumn('station_id', 'text', (c) => c.notNull())
        .addColumn('wave', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('request_id', 'integer', (c) => c.notNull())
        .addColumn('ocpp_status', 'text')
        .addColumn('detail', 'text')
        .addColumn('insecure', 'integer', (c) => c.notNull())
        .addColumn('from_version', 'text')
        .addColumn('reported_version', 'text')
        .addColumn('install_at', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('firmware_campaign_stations_pk', ['campaign_id', 'station_id'])
        .execute();
      await db.schema.createIndex('firmware_campaign_stations_station').on('firmware_campaign_stations').columns(['station_id', 'state']).execute();
      await db.schema
        .createTable('firmware_downloads')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('station_id', 'text', (c) => c.notNull())
        .addColumn('firmware_id', 'text', (c) => c.notNull())
        .addColumn('campaign_id', 'text')
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
};
