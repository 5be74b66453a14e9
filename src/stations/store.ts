/**
 * The stations module's tables: registered stations, connector state, and
 * reports stored as received (NotifyReport, NotifyEvent, LogStatus…), the
 * id-token registry and the addresses stations authenticated from. Only this
 * file holds their SQL; the rest of the module works through the repository
 * below, and other modules through the stations API.
 */
import type { Insertable, Kysely, Migration, Selectable, Updateable } from 'kysely';
import type { Database } from '../store/index.js';
import { tablesOf, type Defaulted } from '../store/tables.js';
import { prepared } from '../store/prepared.js';
import { batchedReads } from '../store/batched-reads.js';

export interface StationsTables {
  stations: {
    id: string;
    security_profile: number;
    password_hash: string | null;
    registration: Defaulted<string>;
    ocpp_version: string | null;
    vendor: string | null;
    model: string | null;
    serial_number: string | null;
    firmware_version: string | null;
    /** JSON text: string[]. */
    tags: Defaulted<string>;
    /** 0 or 1. */
    quarantined: Defaulted<number>;
    last_boot_at: string | null;
    last_seen_at: string | null;
    created_at: string;
    updated_at: string;
  };
  connectors: {
    station_id: string;
    evse_id: number;
    connector_id: number;
    status: string;
    error_code: string | null;
    updated_at: string;
  };
  station_reports: {
    id: string;
    station_id: string;
    kind: string;
    /** JSON text. */
    payload: string;
    received_at: string;
  };
  id_tokens: {
    id_token: string;
    type: string;
    status: string;
    expires_at: string | null;
    created_at: string;
  };
  station_addresses: {
    station_id: string;
    remote_address: string;
    last_ok_at: string;
  };
}

export type StationRow = Selectable<StationsTables['stations']>;
export type StationUpdate = Updateable<StationsTables['stations']>;
export type ConnectorRow = StationsTables['connectors'];
export type ReportRow = StationsTables['station_reports'];
export type IdTokenRow = StationsTables['id_tokens'];

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

export function createStationsStore(database: Database) {
  const db = tablesOf<StationsTables>(database);
  // One of these per heartbeat, per stored report and per message of a station not read in the last
  // few seconds (the registry's cache bound): compiled once (src/store/prepared.ts).
  const getStation = prepared(db, 1, (id: string) => db.selectFrom('stations').selectAll().where('id', '=', id));
  // On PostgreSQL the stations asked for in one turn are read with one query (src/store/batched-reads.ts).
  const readStation = batchedReads<StationRow>(database.dialect, async (ids) => {
    const rows = ids.length === 1 ? await getStation(ids[0]!) : await db.selectFrom('stations').selectAll().where('id', 'in', ids).execute();
    return new Map(rows.map((r) => [r.id, r as StationRow]));
  });
  const touch = prepared(db, 2, (id: string, at: string) => db.updateTable('stations').set({ last_seen_at: at }).where('id', '=', id));
  const touchVersion = prepared(db, 3, (id: string, at: string, version: string) => db.updateTable('stations').set({ last_seen_at: at, ocpp_version: version }).where('id', '=', id));
  // Once per station and node start: a reconnect storm writes one for every station.
  const rememberAddress = prepared(db, 3, (stationId: string, address: string, at: string) =>
    db
      .insertInto('station_addresses')
      .values({ station_id: stationId, remote_address: address, last_ok_at: at })
      .onConflict((oc) => oc.columns(['station_id', 'remote_address']).doUpdateSet({ last_ok_at: at })),
  );
  const insertReport = prepared(db, 5, (id: string, stationId: string, kind: string, payload: string, at: string) =>
    db.insertInto('station_reports').values({ id, station_id: stationId, kind, payload, received_at: at }),
  );
  return {
    stations: {
      get(id: string): Promise<StationRow | undefined> {
        return readStation(id);
      },
      /** Only the columns a live session is admitted under (sessions.ts), for the periodic re-check of every session. */
      async securityStates(ids: readonly string[]): Promise<Pick<StationRow, 'id' | 'password_hash' | 'security_profile' | 'registration' | 'quarantined'>[]> {
        return db.selectFrom('stations').select(['id', 'password_hash', 'security_profile', 'registration', 'quarantined']).where('id', 'in', ids).execute();
      },
      async list(limit: number, offset: number): Promise<StationRow[]> {
        return db.selectFrom('stations').selectAll().orderBy('id').limit(limit).offset(offset).execute();
      },
      async insert(row: Insertable<StationsTables['stations']>): Promise<void> {
        await db.insertInto('stations').values(row).execute();
      },
      /** Whether the station exists (and so was updated). */
      async update(id: string, fields: StationUpdate): Promise<boolean> {
        const res = await db.updateTable('stations').set(fields).where('id', '=', id).executeTakeFirst();
        return Number(res.numUpdatedRows) > 0;
      },
      /** The station was heard from (a heartbeat): its last-seen time, and the OCPP version it spoke. */
      async touch(id: string, at: string, ocppVersion?: string): Promise<void> {
        await (ocppVersion ? touchVersion(id, at, ocppVersion) : touch(id, at));
      },
      /** Whether the station existed. */
      async remove(id: string): Promise<boolean> {
        const res = await db.deleteFrom('stations').where('id', '=', id).executeTakeFirst();
        return Number(res.numDeletedRows) > 0;
      },
    },
    addresses: {
      async forget(stationId: string): Promise<void> {
        await db.deleteFrom('station_addresses').where('station_id', '=', stationId).execute();
      },
      async remember(stationId: string, address: string, at: string): Promise<void> {
        await rememberAddress(stationId, address, at);
      },
      /** Whether the station authenticated from `address` after `since`. */
      async knownSince(stationId: string, address: string, since: string): Promise<boolean> {
        const row = await db.selectFrom('station_addresses').select('station_id').where('station_id', '=', stationId).where('remote_address', '=', address).where('last_ok_at', '>', since).executeTakeFirst();
        return !!row;
      },
    },
    connectors: {
      async put(row: ConnectorRow): Promise<void> {
        await db
          .insertInto('connectors')
          .values(row)
          .onConflict((oc) => oc.columns(['station_id', 'evse_id', 'connector_id']).doUpdateSet({ status: row.status, error_code: row.error_code, updated_at: row.updated_at }))
          .execute();
      },
      async list(stationId: string): Promise<ConnectorRow[]> {
        return db.selectFrom('connectors').selectAll().where('station_id', '=', stationId).orderBy('evse_id').orderBy('connector_id').execute();
      },
    },
    reports: {
      async insert(row: ReportRow): Promise<void> {
        await insertReport(row.id, row.station_id, row.kind, row.payload, row.received_at);
      },
      /** The station's newest 500 reports, of one kind or all. */
      async list(stationId: string, kind?: string): Promise<ReportRow[]> {
        let q = db.selectFrom('station_reports').selectAll().where('station_id', '=', stationId);
        if (kind) q = q.where('kind', '=', kind);
        return q.orderBy('received_at', 'desc').limit(500).execute();
      },
    },
    idTokens: {
      async put(row: IdTokenRow): Promise<void> {
        await db
          .insertInto('id_tokens')
          .values(row)
          .onConflict((oc) => oc.column('id_token').doUpdateSet({ type: row.type, status: row.status, expires_at: row.expires_at }))
          .execute();
      },
      async list(limit: number): Promise<IdTokenRow[]> {
        return db.selectFrom('id_tokens').selectAll().orderBy('id_token').limit(limit).execute();
      },
      async remove(idToken: string): Promise<void> {
        await db.deleteFrom('id_tokens').where('id_token', '=', idToken).execute();
      },
      async get(idToken: string): Promise<IdTokenRow | undefined> {
        return db.selectFrom('id_tokens').selectAll().where('id_token', '=', idToken).executeTakeFirst();
      },
    },
  };
}

export type StationsStore = ReturnType<typeof createStationsStore>;
