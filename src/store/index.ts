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
import { Kysely, Migrator, PostgresDialect, sql, type Driver, type Migration } from 'kysely';
import type { QueryRunner } from './prepared.js';
import { GroupCommitSqliteDialect, type GroupCommitStats } from './sqlite-group-commit.js';
import { startCheckpointer } from './sqlite-checkpointer.js';
import { GroupCommitPostgresDialect, NamingClient, PG_DATABASE_DOWN } from './pg-group-commit.js';
import { TransactionGroups } from './pg-transaction-groups.js';
export type { GroupCommitStats };
import { storeErrors } from './errors.js';

export { storeErrors };


export type Dialect = 'sqlite' | 'postgres';

export interface StoreConfig {
  /** `postgres://…` for PostgreSQL; empty for the embedded SQLite file in `dataDir`. */
  readonly databaseUrl?: string;
  readonly dataDir: string;
  /** Told when PostgreSQL drops a connection, idle or checked out (restart, failover, admin kill); the pool opens a new one. */
  readonly onConnectionError?: (err: Error) => void;
}

/** The shared handle's view: no tables at all. */
export type NoTables = Record<never, never>;

export interface Database {
  // Modules type their own tables (`XxxTables` in each module's store.ts, seen
  // through `tablesOf` of src/store/tables.ts); the shared handle knows none, so no module can reach
  // another's schema through the type system, nor write SQL outside its store.
  readonly db: Kysely<NoTables>;
  readonly dialect: Dialect;
  /** Group-commit counters: commits, the writes they carried, the largest batch. */
  readonly groupCommit?: GroupCommitStats;
  /**
   * The same database without group commit, where `connection()` is one
   * database session for all its queries: for work that keeps session state
   * (the migrator's advisory lock). On SQLite, `db` itself.
   */
  readonly sessions: Kysely<NoTables>;
  /**
   * Runs `work` in one database transaction, its queries compiled (on `db`)
   * and given to `connection` directly: the hot path's way (one per
   * transaction message). Kysely's own `db.transaction()` makes a new executor
   * and connection provider for every query inside; here a query is one call
   * to the driver's connection. Same driver, same semantics: a savepoint in
   * the turn's batch on SQLite, a pool connection on PostgreSQL, answered
   * after the COMMIT; rolled back (and the error rethrown) if `work` fails.
   *
   * With a `key`, on PostgreSQL, the transactions of one turn share one
   * database transaction (pg-transaction-groups.ts): the key must cover
   * every row the work locks or changes, and `work` must do database work
   * only. Transactions with the same key never run at the same time.
   */
  transaction<T>(work: (connection: QueryRunner) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Whether the database answers a query now (the readiness probe). */
  ready(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface TransactionOptions {
  /** What the work locks and changes (the transactions module: the station); lets PostgreSQL group it with others. */
  readonly key?: string;
}

export async function openDatabase(config: StoreConfig): Promise<Database> {
  if (config.databaseUrl) {
    if (!/^postgres(ql)?:\/\//.test(config.databaseUrl)) {
      throw storeErrors.DATABASE_URL_INVALID(`--database-url must start with postgres:// (got ${redactUrl(config.databaseUrl)})`);
    }
    // Reads and explicit transactions share `pool`; grouped writes go out on one pipelined connection of their own.
    const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 10, Client: NamingClient, application_name: 'evguard' });
    const batches = new pg.Pool({ connectionString: config.databaseUrl, max: 1, Client: NamingClient, application_name: 'evguard-writes', pipeline: true } as pg.PoolConfig);
    // Keyed explicit transactions, a turn's share one database transaction: one pipelined connection per group in flight.
    // A lock held elsewhere (another node's transaction) for longer than GROUP_LOCK_TIMEOUT_MS fails the work that waits
    // for it, not its whole group: the others run again without it.
    const groupsPool = new pg.Pool({ connectionString: config.databaseUrl, max: TRANSACTION_GROUPS, Client: NamingClient, application_name: 'evguard-transactions', pipeline: true, lock_timeout: GROUP_LOCK_TIMEOUT_MS } as pg.PoolConfig);
    // Without a listener, a connection that PostgreSQL terminates would be an
    // uncaught exception: the pool listens on idle clients only, so every client
    // gets its own listener for the time it is checked out. The query in flight
    // fails and the broken client is not returned to the pool.
    for (const p of [pool, batches, groupsPool]) {
      p.on('error', (err) => config.onConnectionError?.(err));
      p.on('connect', (client) => client.on('error', (err) => config.onConnectionError?.(err)));
    }
    // Fail fast with a clear message instead of on the first query.
    const client = await pool.connect().catch(async (err: Error) => {
      await Promise.all([pool.end(), batches.end(), groupsPool.end()]).catch(() => undefined);
      throw storeErrors.MIGRATION_FAILED(`cannot connect to PostgreSQL at ${redactUrl(config.databaseUrl!)}: ${err.message}`, { cause: err });
    });
    client.release();
    const grouped = groupCommit();
    // One transaction per batch of writes, each write answered after its COMMIT (pg-group-commit.ts).
    const dialect = new GroupCommitPostgresDialect(pool, batches, { group: grouped });
    const db = new Kysely<NoTables>({ dialect });
    // Over the same pool, ended by `db`'s driver: never destroyed on its own.
    const sessions = new Kysely<NoTables>({ dialect: new PostgresDialect({ pool }) });
    const groups = new TransactionGroups(groupsPool, dialect.driver.stats, TRANSACTION_GROUPS);
    const direct = directTransactions(dialect.driver);
    const transaction: Database['transaction'] = (work, options) => (grouped && options?.key !== undefined ? groups.run(options.key, work) : direct(work));
    let closed: Promise<void> | undefined;
    // Once however often it is called (a pool ended twice throws). Kysely's destroy() skips a driver that
    // never ran a query (only `sessions` did: the migrations), so the driver is destroyed directly as well;
    // it ends its two pools once.
    const close = () => (closed ??= (async () => {
      await groups.close();
      await groupsPool.end();
      await db.destroy();
      await dialect.driver.destroy();
    })());
    return { db, sessions, dialect: 'postgres', groupCommit: dialect.driver.stats, transaction, ready: (ms) => probe(db, ms), close };
  }
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const file = new SQLite(path.join(config.dataDir, 'evguard.db'));
  // WAL with synchronous=NORMAL survives a killed process (the WAL is in the
  // OS page cache once write() returns); only an OS crash could lose the tail.
  file.pragma('journal_mode = WAL');
  file.pragma('synchronous = NORMAL');
  file.pragma('busy_timeout = 5000');
  file.pragma('foreign_keys = ON');
  // Statement journals (a write inside a group commit's transaction) and the
  // scratch tables of RETURNING, IN and ORDER BY in memory: with the default,
  // each opened a 64 KiB spill buffer or a bulk page cache of about 88 KiB,
  // which the recommended MALLOC_MMAP_THRESHOLD_=65536 maps and unmaps every
  // time (a TLB shootdown across cores, and page faults): a fifth of the
  // node's time at 20,000 stations (docs/bench.md, "Temporary storage").
  file.pragma('temp_store = MEMORY');
  // Checkpoints (copying the WAL into the file, with fsyncs) on a worker thread, not in a commit (sqlite-checkpointer.ts).
  const checkpointer = startCheckpointer(file);
  // One commit per event-loop turn, each write answered after it (sqlite-group-commit.ts).
  const dialect = new GroupCommitSqliteDialect(file, { group: groupCommit() });
  const db = new Kysely<NoTables>({ dialect });
  const close = async () => {
    await checkpointer.stop();
    await db.destroy();
  };
  return { db, sessions: db, dialect: 'sqlite', groupCommit: dialect.driver.stats, transaction: directTransactions(dialect.driver), ready: async (ms) => !checkpointer.stats.failing && (await probe(db, ms, true)), close };
}

/** Groups of keyed transactions in flight at once on PostgreSQL (each on a connection of its own). */
const TRANSACTION_GROUPS = 4;
/** The longest a grouped transaction waits for a row lock. */
export const GROUP_LOCK_TIMEOUT_MS = 5_000;

/** `Database.transaction` over a dialect's driver: what Kysely's transaction does with it, minus the wrappers. */
function directTransactions(driver: Driver): Database['transaction'] {
  let initialised: Promise<void> | undefined;
  return async (work) => {
    await (initialised ??= driver.init().catch((err) => {
      initialised = undefined;
      throw err;
    }));
    const connection = await driver.acquireConnection();
    // What `work` gets: the connection while the transaction is open. A query that reaches it later (one not
    // awaited, a callback) is refused, as Kysely's transaction refuses it: on the bare connection it would run
    // outside the transaction (a plain write in the next batch, autocommit on the pool), kept after a rollback.
    let open = true;
    const runner: QueryRunner = {
      executeQuery: (query) => (open ? connection.executeQuery(query) : Promise.reject(new Error('the database transaction has already ended'))),
    };
    try {
      await driver.beginTransaction(connection, {});
      let result;
      try {
        try {
          result = await work(runner);
        } finally {
          open = false;
        }
        await driver.commitTransaction(connection);
      } catch (err) {
        // The work's (or the COMMIT's) error is what the caller hears, not a failed ROLLBACK's.
        await driver.rollbackTransaction(connection).catch(() => undefined);
        throw err;
      }
      return result;
    } finally {
      await driver.releaseConnection(connection);
    }
  };
}

/**
 * EVGUARD_GROUP_COMMIT=0 commits every write on its own: slower, equally
 * safe; it exists to measure what grouping saves.
 */
function groupCommit(): boolean {
  return process.env.EVGUARD_GROUP_COMMIT !== '0';
}

/**
 * Readiness: a query answers within the deadline, and for SQLite the file
 * also takes a write (a read-only file or a full disk reads fine and fails
 * every write) and its WAL checkpoints succeed (on a full disk a small
 * write may still fit in the WAL, but nothing can be copied into the file).
 */
async function probe(db: Kysely<NoTables>, timeoutMs = 2000, writeCheck = false): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  const check = (async () => {
    if (!writeCheck) {
      await sql`SELECT 1`.execute(db);
      return true;
    }
    // One small row rewritten: it needs a writable file and room for the WAL frame.
    await sql`CREATE TABLE IF NOT EXISTS evguard_ready (id INTEGER PRIMARY KEY, at TEXT NOT NULL)`.execute(db);
    await sql`INSERT OR REPLACE INTO evguard_ready (id, at) VALUES (1, ${new Date().toISOString()})`.execute(db);
    return true;
  })().catch(() => false);
  try {
    return await Promise.race([check, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** PostgreSQL SQLSTATE classes and codes, and SQLite result codes, that mean "the database is not there or cannot take writes", not "this input is wrong". */
const pgUnavailable = (code: string) => PG_DATABASE_DOWN.test(code) || code === '55000';
const SQLITE_UNAVAILABLE = /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN|BUSY|LOCKED|PROTOCOL|NOTADB|CORRUPT)/;
const NET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

/** True for errors that come from the database being unreachable or read-only, as opposed to a bad query. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (pgUnavailable(code) || SQLITE_UNAVAILABLE.test(code) || NET_UNAVAILABLE.has(code)) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  // pg reports a connection lost mid-query without a code.
  return /^Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(message);
}


/**
 * Runs every module's migrations. Names are `<module>/<NNN>_<what>` so they
 * sort per module; modules never depend on each other's tables.
 */
export async function migrate(database: Database, migrations: Record<string, Migration>): Promise<void> {
  const migrator = new Migrator({
    // Its lock is a session-level advisory lock, taken and released on one connection.
    db: database.sessions,
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

/** Whether the database has the table (a node migrated it), for tools that open a node's data without starting it. */
export async function tableExists(database: Database, table: string): Promise<boolean> {
  try {
    await sql`select 1 from ${sql.table(table)} where 1 = 0`.execute(database.db);
    return true;
  } catch {
    return false;
  }
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
