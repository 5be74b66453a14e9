/**
 * Database access for every module: one Kysely instance over SQLite
 * (embedded default, better-sqlite3) or PostgreSQL (cluster mode).
 * Each module owns its tables and ships its own migrations; this module only
 * opens the connection and runs every module's migrations in order.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Migration } from 'kysely';
import { defineErrors } from '../errors.js';

export const storeErrors = defineErrors({
  DATABASE_URL_INVALID: { status: 400, message: 'The database URL is not a postgres:// URL' },
  MIGRATION_FAILED: { status: 500, message: 'A database migration failed' },
});

export type Dialect = 'sqlite' | 'postgres';

export interface StoreConfig {
  /** `postgres://…` for PostgreSQL; empty for the embedded SQLite file in `dataDir`. */
  readonly databaseUrl?: string;
  readonly dataDir: string;
  /** Told when PostgreSQL drops an idle connection (restart, failover, admin kill); the pool opens a new one. */
  readonly onConnectionError?: (err: Error) => void;
}

export interface Database {
  // Modules type their own tables; the shared handle is untyped on purpose so
  // no module can see another's schema through the type system.
  readonly db: Kysely<any>;
  readonly dialect: Dialect;
  close(): Promise<void>;
}

export async function openDatabase(config: StoreConfig): Promise<Database> {
  if (config.databaseUrl) {
    if (!/^postgres(ql)?:\/\//.test(config.databaseUrl)) {
      throw storeErrors.DATABASE_URL_INVALID(`--database-url must start with postgres:// (got ${redactUrl(config.databaseUrl)})`);
    }
    const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 10 });
    // Without a listener, an idle connection that PostgreSQL terminates would be an uncaught exception.
    pool.on('error', (err) => config.onConnectionError?.(err));
    // Fail fast with a clear message instead of on the first query.
    const client = await pool.connect().catch((err: Error) => {
      throw storeErrors.MIGRATION_FAILED(`cannot connect to PostgreSQL at ${redactUrl(config.databaseUrl!)}: ${err.message}`, { cause: err });
    });
    client.release();
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', close: () => db.destroy() };
  }
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const file = new SQLite(path.join(config.dataDir, 'evguard.db'));
  // WAL with synchronous=NORMAL survives a killed process (the WAL is in the
  // OS page cache once write() returns); only an OS crash could lose the tail.
  file.pragma('journal_mode = WAL');
  file.pragma('synchronous = NORMAL');
  file.pragma('busy_timeout = 5000');
  file.pragma('foreign_keys = ON');
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: withStatementCache(file) }) });
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}

/**
 * Kysely's SQLite driver prepares every statement again on every query, and in
 * the benchmark's profile that re-preparation was the largest single cost of a
 * message. The same SQL text always prepares to the same statement, so keep
 * the most recent ones. Reuse is safe because Kysely runs one query at a time
 * on its single SQLite connection.
 */
function withStatementCache(file: SQLite.Database, max = 500) {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => file.close(),
    prepare(text: string) {
      let statement = statements.get(text);
      if (statement) {
        // Map order is insertion order: re-inserting marks it most recently used.
        statements.delete(text);
      } else {
        statement = file.prepare(text);
        if (statements.size >= max) statements.delete(statements.keys().next().value!);
      }
      statements.set(text, statement);
      return statement;
    },
  };
}

/**
 * Runs every module's migrations. Names are `<module>/<NNN>_<what>` so they
 * sort per module; modules never depend on each other's tables.
 */
export async function migrate(database: Database, migrations: Record<string, Migration>): Promise<void> {
  const migrator = new Migrator({
    db: database.db,
    provider: { getMigrations: async () => migrations },
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw storeErrors.MIGRATION_FAILED(`database migration ${failed} failed: ${(error as Error).message}`, { cause: error });
  }
}

/** Column type for JSON documents: jsonb where it exists, text elsewhere. */
export function jsonType(dialect: Dialect) {
  return dialect === 'postgres' ? sql`jsonb` : sql`text`;
}

/** Reads a JSON column written with `toJson` on either dialect. */
export function fromJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

export function toJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable URL>';
  }
}

export type { Kysely, Migration } from 'kysely';
export { sql } from 'kysely';
