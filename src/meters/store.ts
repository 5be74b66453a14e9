/**
 * The meters module's table: registered meter public keys, one per station
 * and meter serial (`*` for any meter of the station). Only this file holds
 * its SQL.
 */
import type { Kysely, Migration } from 'kysely';
import type { Database } from '../store/index.js';
import { tablesOf } from '../store/tables.js';

export const meterMigrations: Record<string, Migration> = {
  'meters/001_init': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('meter_keys')
        .addColumn('station_id', 'text', (c) => c.notNull())
        .addColumn('meter_serial', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('key_type', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('meter_keys_pk', ['station_id', 'meter_serial'])
        .execute();
    },
  },
};

export interface MetersTables {
  meter_keys: {
    station_id: string;
    meter_serial: string;
    /** Base64 DER SubjectPublicKeyInfo. */
    public_key: string;
    key_type: string;
    updated_at: string;
  };
}

export type MeterKeyRow = MetersTables['meter_keys'];

export function createMetersStore(database: Database) {
  const db = tablesOf<MetersTables>(database);
  return {
    async all(): Promise<MeterKeyRow[]> {
      return db.selectFrom('meter_keys').selectAll().execute();
    },
    /** Registers or replaces the key of (station, meter serial). */
    async put(row: MeterKeyRow): Promise<void> {
      await db.insertInto('meter_keys').values(row)
        .onConflict((oc) => oc.columns(['station_id', 'meter_serial']).doUpdateSet({ public_key: row.public_key, key_type: row.key_type, updated_at: row.updated_at }))
        .execute();
    },
    /** Removes one meter's key, or every key of the station when no serial is given. */
    async remove(stationId: string, meterSerial?: string): Promise<void> {
      let q = db.deleteFrom('meter_keys').where('station_id', '=', stationId);
      if (meterSerial !== undefined) q = q.where('meter_serial', '=', meterSerial);
      await q.execute();
    },
  };
}
