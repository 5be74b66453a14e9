/**
 * The firmware module's tables: images, TUF metadata, campaigns with their
 * per-station rows, and download grants. Timestamps are ISO-8601 text and
 * JSON is text, so one schema serves SQLite and PostgreSQL. Only this file
 * holds their SQL; images.ts, tuf.ts, campaigns.ts and routes.ts work through
 * the repository below.
 */
import type { Insertable, Kysely, Migration, Selectable, Updateable } from 'kysely';
import type { Database } from '../store/index.js';
import { tablesOf } from '../store/tables.js';

export interface FirmwareTables {
  firmware_images: {
    id: string;
    vendor: string;
    /** JSON text: string[]. */
    models: string;
    version: string;
    sha256: string;
    length: number;
    release_counter: number;
    signature: string | null;
    signing_certificate: string | null;
    signer: string | null;
    created_at: string;
  };
  firmware_tuf: {
    repo: string;
    role: string;
    version: number;
    json: string;
  };
  firmware_campaigns: {
    id: string;
    firmware_id: string;
    state: string;
    /** JSON text. */
    spec: string;
    current_wave: number;
    halt_reason: string | null;
    created_by: string;
    created_at: string;
    updated_at: string;
  };
  firmware_campaign_stations: {
    campaign_id: string;
    station_id: string;
    wave: number;
    state: string;
    request_id: number;
    ocpp_status: string | null;
    detail: string | null;
    /** 0 or 1. */
    insecure: number;
    from_version: string | null;
    reported_version: string | null;
    install_at: string | null;
    updated_at: string;
  };
  firmware_downloads: {
    token_hash: string;
    station_id: string;
    firmware_id: string;
    campaign_id: string | null;
    expires_at: string;
  };
}

export type ImageRow = Selectable<FirmwareTables['firmware_images']>;
export type CampaignRow = Selectable<FirmwareTables['firmware_campaigns']>;
export type CampaignUpdate = Updateable<FirmwareTables['firmware_campaigns']>;
export type CampaignStationRow = Selectable<FirmwareTables['firmware_campaign_stations']>;
export type CampaignStationUpdate = Updateable<FirmwareTables['firmware_campaign_stations']>;
export type DownloadRow = Selectable<FirmwareTables['firmware_downloads']>;

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

export function createFirmwareStore(database: Database) {
  const db = tablesOf<FirmwareTables>(database);
  return {
    images: {
      async get(id: string): Promise<ImageRow | undefined> {
        return db.selectFrom('firmware_images').selectAll().where('id', '=', id).executeTakeFirst();
      },
      /** Newest first, at most 1000. */
      async list(vendor?: string): Promise<ImageRow[]> {
        let q = db.selectFrom('firmware_images').selectAll();
        if (vendor) q = q.where('vendor', '=', vendor);
        return q.orderBy('created_at', 'desc').limit(1000).execute();
      },
      async signedOf(vendor: string): Promise<ImageRow[]> {
        return db.selectFrom('firmware_images').selectAll().where('vendor', '=', vendor).where('signature', 'is not', null).execute();
      },
      /** The id of the vendor's image of this version, if there is one. */
      async idOf(vendor: string, version: string): Promise<string | undefined> {
        const row = await db.selectFrom('firmware_images').select('id').where('vendor', '=', vendor).where('version', '=', version).executeTakeFirst();
        return row?.id;
      },
      /** The vendor's highest release counter so far (0 for none). */
      async lastReleaseCounter(vendor: string): Promise<number> {
        const counter = await db.selectFrom('firmware_images').select((eb) => eb.fn.max('release_counter').as('max')).where('vendor', '=', vendor).executeTakeFirst();
        return Number(counter?.max ?? 0);
      },
      async insert(row: Insertable<FirmwareTables['firmware_images']>): Promise<void> {
        await db.insertInto('firmware_images').values(row).execute();
      },
      async setSignature(id: string, s: { signature: string; signing_certificate: string; signer: string }): Promise<void> {
        await db.updateTable('firmware_images').set(s).where('id', '=', id).execute();
      },
    },
    tuf: {
      async latest(repo: string, role: string): Promise<{ version: number; json: string } | undefined> {
        return db.selectFrom('firmware_tuf').select(['version', 'json']).where('repo', '=', repo).where('role', '=', role).orderBy('version', 'desc').limit(1).executeTakeFirst();
      },
      async byVersion(repo: string, role: string, version: number): Promise<string | undefined> {
        const row = await db.selectFrom('firmware_tuf').select('json').where('repo', '=', repo).where('role', '=', role).where('version', '=', version).executeTakeFirst();
        return row?.json;
      },
      async insert(row: FirmwareTables['firmware_tuf']): Promise<void> {
        await db.insertInto('firmware_tuf').values(row).execute();
      },
      /** Repositories with targets metadata: the one named, or with `underDirector` every `director/…` one. */
      async targetRepos(repoRoot: string, underDirector: boolean): Promise<string[]> {
        const rows = await db.selectFrom('firmware_tuf').select('repo').distinct().where('role', '=', 'targets')
          .where((eb) => (underDirector ? eb('repo', 'like', 'director/%') : eb('repo', '=', repoRoot))).execute();
        return rows.map((r) => r.repo);
      },
    },
    campaigns: {
      async get(id: string): Promise<CampaignRow | undefined> {
        return db.selectFrom('firmware_campaigns').selectAll().where('id', '=', id).executeTakeFirst();
      },
      async insert(row: Insertable<FirmwareTables['firmware_campaigns']>): Promise<void> {
        await db.insertInto('firmware_campaigns').values(row).execute();
      },
      async update(id: string, fields: CampaignUpdate): Promise<void> {
        await db.updateTable('firmware_campaigns').set(fields).where('id', '=', id).execute();
      },
      async idsInState(state: string): Promise<string[]> {
        return (await db.selectFrom('firmware_campaigns').select('id').where('state', '=', state).execute()).map((r) => r.id);
      },
      /** The newest campaigns' ids. */
      async recentIds(limit: number): Promise<string[]> {
        return (await db.selectFrom('firmware_campaigns').select('id').orderBy('created_at', 'desc').limit(limit).execute()).map((r) => r.id);
      },
    },
    campaignStations: {
      /** By wave, then station. */
      async list(campaignId: string): Promise<CampaignStationRow[]> {
        return db.selectFrom('firmware_campaign_stations').selectAll().where('campaign_id', '=', campaignId).orderBy('wave').orderBy('station_id').execute();
      },
      async insert(row: Insertable<FirmwareTables['firmware_campaign_stations']>): Promise<void> {
        await db.insertInto('firmware_campaign_stations').values(row).execute();
      },
      async update(campaignId: string, stationId: string, fields: CampaignStationUpdate): Promise<void> {
        await db.updateTable('firmware_campaign_stations').set(fields).where('campaign_id', '=', campaignId).where('station_id', '=', stationId).execute();
      },
      /** Stations with a row not in `doneStates` in a campaign in one of `campaignStates`. */
      async busyStations(campaignStates: readonly string[], doneStates: readonly string[]): Promise<string[]> {
        const rows = await db.selectFrom('firmware_campaign_stations as s').innerJoin('firmware_campaigns as c', 'c.id', 's.campaign_id')
          .select('s.station_id').where('c.state', 'in', campaignStates).where('s.state', 'not in', doneStates).execute();
        return rows.map((r) => r.station_id);
      },
      /** The station's most recently updated row in one of `rowStates`, in a campaign in one of `campaignStates`, with the campaign's image. */
      async latestFor(stationId: string, rowStates: readonly string[], campaignStates: readonly string[]): Promise<(CampaignStationRow & { firmware_id: string }) | undefined> {
        return db.selectFrom('firmware_campaign_stations as s').innerJoin('firmware_campaigns as c', 'c.id', 's.campaign_id')
          .selectAll('s').select(['c.firmware_id']).where('s.station_id', '=', stationId).where('s.state', 'in', rowStates).where('c.state', 'in', campaignStates)
          .orderBy('s.updated_at', 'desc').limit(1).executeTakeFirst();
      },
    },
    downloads: {
      async insert(row: Insertable<FirmwareTables['firmware_downloads']>): Promise<void> {
        await db.insertInto('firmware_downloads').values(row).execute();
      },
      async get(tokenHash: string): Promise<DownloadRow | undefined> {
        return db.selectFrom('firmware_downloads').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      },
    },
  };
}

export type FirmwareStore = ReturnType<typeof createFirmwareStore>;
