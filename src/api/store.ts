/**
 * The api module's tables: operator API tokens and the append-only audit log.
 * Only this file holds their SQL; auth.ts and audit.ts work through the
 * repository below.
 */
import type { Kysely, Migration } from '../store/index.js';
import { sql, type Database } from '../store/index.js';
import { tablesOf } from '../store/tables.js';

export interface ApiTables {
  api_tokens: {
    id: string;
    name: string;
    role: string;
    token_hash: string;
    created_at: string;
    revoked_at: string | null;
  };
  audit_log: {
    id: string;
    at: string;
    actor: string;
    role: string;
    action: string;
    target: string | null;
    outcome: string;
    /** JSON text. */
    details: string;
    source_address: string | null;
  };
}

export type ApiTokenRow = ApiTables['api_tokens'];
export type AuditRow = ApiTables['audit_log'];

export const apiMigrations: Record<string, Migration> = {
  'api/001_init': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema
        .createTable('audit_log')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('source_address', 'text')
        .execute();
      await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('audit_log').execute();
      await db.schema.dropTable('api_tokens').execute();
    },
  },
  // The audit log is append-only at the database level, not just in the API.
  'api/002_audit_append_only': {
    async up(db: Kysely<any>) {
      const dialect = (db.getExecutor().adapter.constructor.name ?? '').toLowerCase();
      if (dialect.includes('postgres')) {
        await sql`CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql`.execute(db);
        await sql`CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`.execute(db);
      } else {
        await sql`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`.execute(db);
        await sql`CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`.execute(db);
      }
    },
  },
};

export function createApiStore(database: Database) {
  const db = tablesOf<ApiTables>(database);
  return {
    tokens: {
      /** The unrevoked token with this SHA-256. */
      async activeByHash(hash: string): Promise<ApiTokenRow | undefined> {
        return db.selectFrom('api_tokens').selectAll().where('token_hash', '=', hash).where('revoked_at', 'is', null).executeTakeFirst();
      },
      async insert(row: Omit<ApiTokenRow, 'revoked_at'>): Promise<void> {
        await db.insertInto('api_tokens').values(row).execute();
      },
      async list(): Promise<Pick<ApiTokenRow, 'id' | 'name' | 'role' | 'created_at' | 'revoked_at'>[]> {
        return db.selectFrom('api_tokens').select(['id', 'name', 'role', 'created_at', 'revoked_at']).orderBy('created_at').execute();
      },
      /** Marks the token revoked unless it already is; whether a row changed. */
      async revoke(id: string, at: string): Promise<boolean> {
        const res = await db.updateTable('api_tokens').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
        return Number(res.numUpdatedRows) > 0;
      },
      async count(): Promise<number> {
        const r = await db.selectFrom('api_tokens').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
        return Number(r?.n ?? 0);
      },
    },
    audit: {
      async append(row: AuditRow): Promise<void> {
        await db.insertInto('audit_log').values(row).execute();
      },
      async list(q: { since?: string; actor?: string; limit: number }): Promise<AuditRow[]> {
        let query = db.selectFrom('audit_log').selectAll();
        if (q.since) query = query.where('at', '>=', q.since);
        if (q.actor) query = query.where('actor', '=', q.actor);
        return query.orderBy('at', 'desc').limit(q.limit).execute();
      },
      /** When `action` on `target` last succeeded. */
      async lastOk(target: string, action: string): Promise<string | undefined> {
        const row = await db.selectFrom('audit_log').select('at').where('target', '=', target).where('action', '=', action).where('outcome', '=', 'ok')
          .orderBy('at', 'desc').limit(1).executeTakeFirst();
        return row?.at;
      },
    },
  };
}

export type ApiStore = ReturnType<typeof createApiStore>;
