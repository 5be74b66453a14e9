/**
 * The trust module's tables. Only this file knows their shape and holds their
 * SQL; everything else works with the records below.
 */
import type { Kysely, Migration } from 'kysely';
import type { Database } from '../store/index.js';
import { tablesOf, type Defaulted, type Int8Column } from '../store/tables.js';

export interface TrustTables {
  trust_ca: {
    name: string;
    cert_pem: string | null;
    pending_csr_pem: string | null;
    /** 0 or 1. */
    offline: Defaulted<number>;
    crl_number: Defaulted<number>;
    updated_at: string;
  };
  trust_certificate: {
    serial_hex: string;
    kind: string;
    issuer_ca: string;
    station_id: string | null;
    subject: string;
    common_name: string;
    not_before: string;
    not_after: string;
    sha256: string;
    pem: string;
    revoked_at: string | null;
    revocation_reason: string | null;
    created_at: string;
  };
  trust_service_credential: {
    name: string;
    chain_pem: string;
    updated_at: string;
  };
  trust_contract: {
    pcid: string;
    emaid: string;
    updated_at: string;
  };
  trust_installed_certificate: {
    station_id: string;
    certificate_type: string;
    hash_algorithm: string;
    issuer_name_hash: string;
    issuer_key_hash: string;
    serial_hex: string;
    reported_at: string;
  };
  trust_renewal: {
    id: string;
    station_id: string;
    certificate_type: string;
    reason: string;
    expiring_serial: string | null;
    state: string;
    station_status: string | null;
    new_serial: string | null;
    requested_at: string;
    completed_at: string | null;
  };
  /** TLS session ticket keys, sealed (tickets.ts). */
  trust_tls_ticket_keys: {
    epoch: Int8Column;
    sealed: string;
    created_at: string;
  };
}

export const trustMigrations: Record<string, Migration> = {
  'trust/001_init': {
    async up(db: Kysely<any>) {
      await db.schema.createTable('trust_ca')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('cert_pem', 'text')
        .addColumn('pending_csr_pem', 'text')
        .addColumn('offline', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('crl_number', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('trust_certificate')
        .addColumn('serial_hex', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('issuer_ca', 'text', (c) => c.notNull())
        .addColumn('station_id', 'text')
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('common_name', 'text', (c) => c.notNull())
        .addColumn('not_before', 'text', (c) => c.notNull())
        .addColumn('not_after', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('pem', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .addColumn('revocation_reason', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('trust_certificate_station').on('trust_certificate').column('station_id').execute();
      await db.schema.createTable('trust_service_credential')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('chain_pem', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('trust_contract')
        .addColumn('pcid', 'text', (c) => c.primaryKey())
        .addColumn('emaid', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('trust_installed_certificate')
        .addColumn('station_id', 'text', (c) => c.notNull())
        .addColumn('certificate_type', 'text', (c) => c.notNull())
        .addColumn('hash_algorithm', 'text', (c) => c.notNull())
        .addColumn('issuer_name_hash', 'text', (c) => c.notNull())
        .addColumn('issuer_key_hash', 'text', (c) => c.notNull())
        .addColumn('serial_hex', 'text', (c) => c.notNull())
        .addColumn('reported_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('trust_installed_certificate_pk', ['station_id', 'certificate_type', 'serial_hex'])
        .execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['trust_installed_certificate', 'trust_contract', 'trust_service_credential', 'trust_certificate', 'trust_ca']) {
        await db.schema.dropTable(t).ifExists().execute();
      }
    },
  },
  // Certificate renewals the CSMS asked stations for (TriggerMessage / ExtendedTriggerMessage), scheduled or by an operator.
  'trust/002_renewals': {
    async up(db: Kysely<any>) {
      await db.schema.createTable('trust_renewal')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('station_id', 'text', (c) => c.notNull())
        .addColumn('certificate_type', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('expiring_serial', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('station_status', 'text')
        .addColumn('new_serial', 'text')
        .addColumn('requested_at', 'text', (c) => c.notNull())
        .addColumn('completed_at', 'text')
        .execute();
      await db.schema.createIndex('trust_renewal_station').on('trust_renewal').columns(['station_id', 'requested_at']).execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('trust_renewal').ifExists().execute();
    },
  },
  // TLS session ticket keys, sealed, one per rotation epoch (src/trust/tickets.ts).
  'trust/003_tls_ticket_keys': {
    async up(db: Kysely<any>) {
      await db.schema.createTable('trust_tls_ticket_keys')
        .addColumn('epoch', 'bigint', (c) => c.primaryKey())
        .addColumn('sealed', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('trust_tls_ticket_keys').ifExists().execute();
    },
  },
};

/** requested: the station accepted the trigger; refused: it did not; completed: a new certificate was issued; failed: the call failed. */
export type RenewalState = 'requested' | 'refused' | 'completed' | 'failed';

export interface Renewal {
  id: string;
  stationId: string;
  certificateType: 'ChargingStationCertificate' | 'V2GCertificate';
  reason: 'scheduled' | 'operator';
  expiringSerial?: string;
  state: RenewalState;
  stationStatus?: string;
  newSerial?: string;
  requestedAt: string;
  completedAt?: string;
}

export type CertificateKind = 'ca' | 'station' | 'secc' | 'server' | 'cps' | 'oem-provisioning' | 'contract' | 'code-signing';

export interface CertificateRecord {
  serialHex: string;
  kind: CertificateKind;
  issuerCa: string;
  stationId?: string;
  subject: string;
  commonName: string;
  notBefore: string;
  notAfter: string;
  sha256: string;
  revokedAt?: string;
  revocationReason?: string;
}

export interface CaRow {
  name: string;
  certPem?: string;
  pendingCsrPem?: string;
  offline: boolean;
  crlNumber: number;
}

export interface InstalledCertificate {
  stationId: string;
  certificateType: string;
  hashAlgorithm: string;
  issuerNameHash: string;
  issuerKeyHash: string;
  serialHex: string;
  reportedAt: string;
}

/** Kysely rows come back with `null` for absent values; records use undefined. */
const opt = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

export function createTrustStore(database: Database) {
  const db = tablesOf<TrustTables>(database);
  const toRecord = (r: any): CertificateRecord => ({
    serialHex: r.serial_hex, kind: r.kind, issuerCa: r.issuer_ca, stationId: opt(r.station_id), subject: r.subject,
    commonName: r.common_name, notBefore: r.not_before, notAfter: r.not_after, sha256: r.sha256,
    revokedAt: opt(r.revoked_at), revocationReason: opt(r.revocation_reason),
  });
  return {
    async listCas(): Promise<CaRow[]> {
      const rows = await db.selectFrom('trust_ca').selectAll().execute();
      return rows.map((r: any) => ({ name: r.name, certPem: opt(r.cert_pem), pendingCsrPem: opt(r.pending_csr_pem), offline: Number(r.offline) === 1, crlNumber: Number(r.crl_number) }));
    },
    async saveCa(row: CaRow, now: string): Promise<void> {
      const values = { cert_pem: row.certPem ?? null, pending_csr_pem: row.pendingCsrPem ?? null, offline: row.offline ? 1 : 0, crl_number: row.crlNumber, updated_at: now };
      await db.insertInto('trust_ca').values({ name: row.name, ...values })
        .onConflict((oc) => oc.column('name').doUpdateSet(values)).execute();
    },
    /** Returns the next CRL number, persisted before use so numbers never repeat (RFC 5280 5.2.3). */
    async nextCrlNumber(name: string, now: string): Promise<number> {
      return db.transaction().execute(async (trx) => {
        const row: any = await trx.selectFrom('trust_ca').select('crl_number').where('name', '=', name).executeTakeFirst();
        const next = Number(row?.crl_number ?? 0) + 1;
        await trx.updateTable('trust_ca').set({ crl_number: next, updated_at: now }).where('name', '=', name).execute();
        return next;
      });
    },
    async listCertificates(): Promise<CertificateRecord[]> {
      const rows = await db.selectFrom('trust_certificate')
        .select(['serial_hex', 'kind', 'issuer_ca', 'station_id', 'subject', 'common_name', 'not_before', 'not_after', 'sha256', 'revoked_at', 'revocation_reason'])
        // Issue order, so "the newest certificate" survives a restart.
        .orderBy('created_at').orderBy('serial_hex')
        .execute();
      return rows.map(toRecord);
    },
    async certificatePem(serialHex: string): Promise<string | undefined> {
      const row: any = await db.selectFrom('trust_certificate').select('pem').where('serial_hex', '=', serialHex).executeTakeFirst();
      return row?.pem;
    },
    async getCertificate(serialHex: string): Promise<CertificateRecord | undefined> {
      const row = await db.selectFrom('trust_certificate').selectAll().where('serial_hex', '=', serialHex).executeTakeFirst();
      return row ? toRecord(row) : undefined;
    },
    async insertCertificate(rec: CertificateRecord, pem: string, now: string): Promise<void> {
      const values = {
        kind: rec.kind, issuer_ca: rec.issuerCa, station_id: rec.stationId ?? null, subject: rec.subject, common_name: rec.commonName,
        not_before: rec.notBefore, not_after: rec.notAfter, sha256: rec.sha256, pem, revoked_at: rec.revokedAt ?? null,
        revocation_reason: rec.revocationReason ?? null, created_at: now,
      };
      await db.insertInto('trust_certificate').values({ serial_hex: rec.serialHex, ...values })
        .onConflict((oc) => oc.column('serial_hex').doUpdateSet({ ...values, revoked_at: rec.revokedAt ?? null })).execute();
    },
    /** Revocations recorded at or after `sinceIso` (by any node). */
    async revokedSince(sinceIso: string): Promise<{ serialHex: string; revokedAt: string; reason?: string }[]> {
      const rows: any[] = await db.selectFrom('trust_certificate').select(['serial_hex', 'revoked_at', 'revocation_reason']).where('revoked_at', '>=', sinceIso).execute();
      return rows.map((r) => ({ serialHex: r.serial_hex, revokedAt: r.revoked_at, reason: r.revocation_reason ?? undefined }));
    },
    async markRevoked(serialHex: string, at: string, reason: string): Promise<void> {
      await db.updateTable('trust_certificate').set({ revoked_at: at, revocation_reason: reason })
        .where('serial_hex', '=', serialHex).where('revoked_at', 'is', null).execute();
    },
    async getServiceCredential(name: string): Promise<string | undefined> {
      const row: any = await db.selectFrom('trust_service_credential').select('chain_pem').where('name', '=', name).executeTakeFirst();
      return row?.chain_pem;
    },
    async saveServiceCredential(name: string, chainPem: string, now: string): Promise<void> {
      await db.insertInto('trust_service_credential').values({ name, chain_pem: chainPem, updated_at: now })
        .onConflict((oc) => oc.column('name').doUpdateSet({ chain_pem: chainPem, updated_at: now })).execute();
    },
    async contractFor(pcid: string): Promise<string | undefined> {
      const row: any = await db.selectFrom('trust_contract').select('emaid').where('pcid', '=', pcid).executeTakeFirst();
      return row?.emaid;
    },
    async saveContract(pcid: string, emaid: string, now: string): Promise<void> {
      await db.insertInto('trust_contract').values({ pcid, emaid, updated_at: now })
        .onConflict((oc) => oc.column('pcid').doUpdateSet({ emaid, updated_at: now })).execute();
    },
    async replaceInstalled(stationId: string, entries: InstalledCertificate[]): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('trust_installed_certificate').where('station_id', '=', stationId).execute();
        for (const e of entries) {
          await trx.insertInto('trust_installed_certificate').values({
            station_id: e.stationId, certificate_type: e.certificateType, hash_algorithm: e.hashAlgorithm,
            issuer_name_hash: e.issuerNameHash, issuer_key_hash: e.issuerKeyHash, serial_hex: e.serialHex, reported_at: e.reportedAt,
          }).onConflict((oc) => oc.columns(['station_id', 'certificate_type', 'serial_hex']).doNothing()).execute();
        }
      });
    },
    async removeInstalled(stationId: string, serialHex: string): Promise<void> {
      await db.deleteFrom('trust_installed_certificate').where('station_id', '=', stationId).where('serial_hex', '=', serialHex).execute();
    },
    async saveRenewal(r: Renewal): Promise<void> {
      const values = {
        station_id: r.stationId, certificate_type: r.certificateType, reason: r.reason, expiring_serial: r.expiringSerial ?? null, state: r.state,
        station_status: r.stationStatus ?? null, new_serial: r.newSerial ?? null, requested_at: r.requestedAt, completed_at: r.completedAt ?? null,
      };
      await db.insertInto('trust_renewal').values({ id: r.id, ...values }).onConflict((oc) => oc.column('id').doUpdateSet(values)).execute();
    },
    /** Records the station's answer to the trigger; the state moves only from `requested`, so a completion already recorded stays. */
    async recordRenewalAnswer(id: string, stationStatus: string, state: RenewalState): Promise<void> {
      await db.updateTable('trust_renewal').set({ station_status: stationStatus }).where('id', '=', id).execute();
      if (state !== 'requested') await db.updateTable('trust_renewal').set({ state }).where('id', '=', id).where('state', '=', 'requested').execute();
    },
    async completeRenewal(id: string, newSerial: string, at: string): Promise<void> {
      await db.updateTable('trust_renewal').set({ state: 'completed', new_serial: newSerial, completed_at: at }).where('id', '=', id).where('state', '=', 'requested').execute();
    },
    async listRenewals(stationId: string, limit = 50): Promise<Renewal[]> {
      const rows = await db.selectFrom('trust_renewal').selectAll().where('station_id', '=', stationId)
        .orderBy('requested_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
      return rows.map((r: any) => ({
        id: r.id, stationId: r.station_id, certificateType: r.certificate_type, reason: r.reason, expiringSerial: opt(r.expiring_serial), state: r.state,
        stationStatus: opt(r.station_status), newSerial: opt(r.new_serial), requestedAt: r.requested_at, completedAt: opt(r.completed_at),
      }));
    },
    /** TLS session ticket keys: one sealed key per rotation epoch, shared by every node. */
    ticketKeys: {
      /** Stores the key for `epoch` unless a node already did. */
      async offer(epoch: number, sealed: string, at: string): Promise<void> {
        await db
          .insertInto('trust_tls_ticket_keys')
          .values({ epoch, sealed, created_at: at })
          .onConflict((oc) => oc.column('epoch').doNothing())
          .execute();
      },
      /** The sealed key stored for `epoch`. */
      async get(epoch: number): Promise<string> {
        const row = await db.selectFrom('trust_tls_ticket_keys').select('sealed').where('epoch', '=', epoch).executeTakeFirstOrThrow();
        return row.sealed;
      },
      async deleteBefore(epoch: number): Promise<void> {
        await db.deleteFrom('trust_tls_ticket_keys').where('epoch', '<', epoch).execute();
      },
    },
    async listInstalled(stationId: string): Promise<InstalledCertificate[]> {
      const rows = await db.selectFrom('trust_installed_certificate').selectAll().where('station_id', '=', stationId).execute();
      return rows.map((r: any) => ({ stationId: r.station_id, certificateType: r.certificate_type, hashAlgorithm: r.hash_algorithm,
        issuerNameHash: r.issuer_name_hash, issuerKeyHash: r.issuer_key_hash, serialHex: r.serial_hex, reportedAt: r.reported_at }));
    },
  };
}

export type TrustStore = ReturnType<typeof createTrustStore>;
