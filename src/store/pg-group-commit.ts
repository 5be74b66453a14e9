/**
 * Group commit for PostgreSQL: the writes made outside an explicit
 * transaction while the previous batch commits (at least one event-loop turn)
 * go to the server as one pipelined transaction, BEGIN, the writes, COMMIT,
 * in one round of messages on one connection. Each write's promise settles
 * only after that COMMIT, so a station is answered only for what PostgreSQL
 * has made durable.
 *
 * Why: committed one by one, every write costs a round trip, a pool checkout
 * and its own WAL flush; grouped, a turn's writes share them. (The pipelining
 * itself is pg's own `pipeline` client mode.)
 *
 * Semantics:
 * - One batch is in flight at a time; writes arriving meanwhile wait for the
 *   next one (the busier the node, the larger the batch). Two batches never
 *   hold row locks against each other.
 * - A write that fails aborts PostgreSQL's transaction: its caller gets the
 *   error, and the batch's other writes (rolled back with it) run again in
 *   the next batch. A deadlock or serialization failure runs them all again,
 *   up to a bound.
 * - A connection lost mid-batch fails every write of the batch, as a lost
 *   connection fails a single statement: the caller cannot know whether the
 *   COMMIT happened, and is told so.
 * - Reads run at once on the pool, and see what is committed: a write is
 *   visible once its promise has settled.
 * - `db.transaction()` takes a pool connection of its own and commits on its
 *   own, as Kysely's PostgreSQL driver does.
 * - `db.connection()` is not one database session here: its queries go where
 *   each would go alone. Work that keeps session state (the migrator's
 *   advisory lock) uses `Database.sessions`, the same pool without grouping.
 */
import type { Writable } from 'node:stream';
import pg from 'pg';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
  PostgresAdapter,
  PostgresDriver,
  PostgresIntrospector,
  PostgresQueryCompiler,
  RawNode,
  SelectQueryNode,
} from 'kysely';
import { statementName } from './prepared.js';
import { countCommit, type GroupCommitStats } from './sqlite-group-commit.js';

/** A batch larger than this is split: one transaction's locks and WAL stay bounded. */
const MAX_BATCH = 500;
/** How many times a write that was only a bystander of failed batches runs again. */
const MAX_ATTEMPTS = 5;
/**
 * SQLSTATEs that say the database cannot take writes now (connection, resources, shutdown, system error,
 * read-only). isDatabaseUnavailable (index.ts) adds 55000, which a single write can also earn on its
 * own (currval before nextval), so it does not condemn a whole batch.
 */
export const PG_DATABASE_DOWN = /^(08|53|57P|58)|^25006$/;
/** Deadlock and serialization failure: nobody's write was wrong, all run again. */
const RETRY_ALL = new Set(['40P01', '40001']);

/**
 * pg's client with the hot path's statements named: PostgreSQL parses and
 * plans each once per connection instead of on every run. Only statements
 * built by `prepared()` have a name (a fixed, small set); of those, a
 * `SELECT *` stays unnamed, since a column added by a newer node's
 * migration would change its result type under a plan PostgreSQL keeps.
 *
 * A name never stays broken on a connection:
 * - The values are converted (pg's own `prepareValue`, which leaves its own
 *   output unchanged) before the statement is named. One pg cannot convert
 *   (a BigInt inside a JSON object, a cycle) is sent unnamed and fails alone:
 *   pg, refusing it after its Parse, closes the statement it parsed, and a
 *   named one would then be missing on the server while pg believes it
 *   prepared (every later run, the pipelined ones already sent included:
 *   "prepared statement does not exist").
 * - When the server says the statement is gone (26000) or its kept plan no
 *   longer fits the table ("cached plan must not change result type", after
 *   an ALTER COLUMN TYPE), the next run prepares it afresh under a new name
 *   on this connection, instead of failing the same way forever.
 */
export class NamingClient extends pg.Client {
  /** Per statement name, how many times it was found broken on this connection. */
  readonly #generations = new Map<string, number>();

  // pg's overloads are not expressible on a subclass; the arguments pass through unchanged.
  override query(config: any, values?: any, callback?: any): any {
    if (typeof config === 'string' && typeof values !== 'function') {
      const base = statementName(config);
      if (base && !/\*/.test(config)) {
        let converted: unknown[];
        try {
          converted = ((values ?? []) as unknown[]).map((v) => prepareValue(v));
        } catch {
          return super.query(config, values, callback);
        }
        const generation = this.#generations.get(base) ?? 0;
        const query = { name: generation ? `${base}_${generation}` : base, text: config, values: converted };
        const check = (err: unknown) => {
          if (isStaleStatement(err)) this.#generations.set(base, Math.max(generation + 1, this.#generations.get(base) ?? 0));
        };
        if (typeof callback === 'function') {
          return super.query(query, (err: Error | null, res: unknown) => {
            if (err) check(err);
            callback(err, res);
          });
        }
        return (super.query(query) as Promise<unknown>).catch((err: unknown) => {
          check(err);
          throw err;
        });
      }
    }
    return super.query(config, values, callback);
  }
}

/** pg's conversion of a parameter to what it sends (`pg.utils` is not in pg's types). */
const prepareValue: (value: unknown) => unknown = (pg as unknown as { utils: { prepareValue(value: unknown): unknown } }).utils.prepareValue;

/** The server no longer has the named statement, or cannot run its kept plan any more. */
function isStaleStatement(err: unknown): boolean {
  const code = sqlState(err);
  return code === '26000' || (code === '0A000' && /cached plan must not change result type/.test((err as Error).message));
}

interface Write {
  sql: string;
  parameters: readonly unknown[];
  attempts: number;
  resolve(result: QueryResult<unknown>): void;
  reject(err: unknown): void;
}

export function toResult(result: pg.QueryResult): QueryResult<unknown> {
  // As Kysely's PostgresConnection reports it.
  const counted = result.command === 'INSERT' || result.command === 'UPDATE' || result.command === 'DELETE' || result.command === 'MERGE';
  return { ...(counted ? { numAffectedRows: BigInt(result.rowCount ?? 0) } : {}), rows: result.rows ?? [] };
}

export function isRead(query: CompiledQuery): boolean {
  return SelectQueryNode.is(query.query) || (RawNode.is(query.query) && /^\s*select\b/i.test(query.sql));
}

class PgGroupCommitDriver implements Driver {
  readonly stats: GroupCommitStats = { commits: 0, writes: 0, largestBatch: 0 };
  readonly #pool: pg.Pool;
  readonly #batches: pg.Pool;
  readonly #transactions: PostgresDriver;
  readonly #group: boolean;
  #pending: Write[] = [];
  #scheduled = false;
  #inFlight: Promise<void> | undefined;

  constructor(pool: pg.Pool, batches: pg.Pool, group: boolean) {
    this.#pool = pool;
    this.#batches = batches;
    this.#group = group;
    this.#transactions = new PostgresDriver({ pool });
  }

  async init(): Promise<void> {
    await this.#transactions.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    // A pool connection is taken only for an explicit transaction (beginTransaction).
    return new PgGroupConnection(this);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const conn = connection as PgGroupConnection;
    conn.own = await this.#transactions.acquireConnection();
    try {
      await this.#transactions.beginTransaction(conn.own, settings);
    } catch (err) {
      await this.#releaseOwn(conn);
      throw err;
    }
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await this.#transactions.commitTransaction(this.#owned(connection, 'commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await this.#transactions.rollbackTransaction(this.#owned(connection, 'rollback'));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    await this.#releaseOwn(connection as PgGroupConnection);
  }

  #destroyed: Promise<void> | undefined;

  /**
   * Waits for the writes already made to commit, then closes both pools, once however often it is called.
   * Called directly by `Database.close()` too: Kysely destroys only a driver it has initialised, and a
   * database whose only work was the migrations (run on `Database.sessions`) never initialised this one.
   */
  destroy(): Promise<void> {
    return (this.#destroyed ??= (async () => {
      while (this.#inFlight || this.#pending.length) await (this.#inFlight ?? this.#flush());
      await this.#batches.end();
      // The pool itself, not `#transactions.destroy()`: that ends it only if it was initialised.
      await this.#pool.end();
    })());
  }

  /** A read (or, without grouping, any statement) runs at once on the pool; a write joins the next batch. */
  execute(sql: string, parameters: readonly unknown[], read: boolean): Promise<QueryResult<unknown>> {
    if (read || !this.#group) return this.#pool.query(sql, parameters as unknown[]).then(toResult);
    return new Promise((resolve, reject) => {
      this.#pending.push({ sql, parameters, attempts: 0, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight || !this.#pending.length) return;
    this.#scheduled = true;
    // After the turn: the writes of the handlers running now join this batch.
    setImmediate(() => void this.#flush());
  }

  #flush(): Promise<void> {
    this.#scheduled = false;
    if (this.#inFlight || !this.#pending.length) return this.#inFlight ?? Promise.resolve();
    const batch = this.#pending.splice(0, MAX_BATCH);
    this.#inFlight = this.#commit(batch).finally(() => {
      this.#inFlight = undefined;
      this.#schedule();
    });
    return this.#inFlight;
  }

  /** Never rejects: every write of the batch is settled or queued again. */
  async #commit(batch: Write[]): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.#batches.connect();
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    // All sent at once (pg's pipeline mode); each answer arrives in order. pg
    // corks its socket per query; corked around the whole batch too, the batch
    // leaves in one write instead of one system call per statement.
    const socket = (client as unknown as { connection?: { stream?: Partial<Writable> } }).connection?.stream;
    socket?.cork?.();
    let sent: Promise<pg.QueryResult>[];
    try {
      sent = [client.query('BEGIN'), ...batch.map((w) => client.query(w.sql, w.parameters as unknown[])), client.query('COMMIT')];
    } finally {
      socket?.uncork?.();
    }
    const settled = await Promise.allSettled(sent);
    const begin = settled[0]!;
    const commit = settled[settled.length - 1]!;
    const results = settled.slice(1, -1);
    const lost = [begin, commit].find((s): s is PromiseRejectedResult => s.status === 'rejected' && !sqlState(s.reason));
    client.release(lost?.reason);
    if (lost || begin.status === 'rejected' || commit.status === 'rejected') {
      // The connection failed (or the server refused the transaction itself): nothing can be said of the writes.
      const reason = lost?.reason ?? (begin.status === 'rejected' ? begin.reason : (commit as PromiseRejectedResult).reason);
      for (const w of batch) w.reject(reason);
      return;
    }
    if (commit.value.command === 'COMMIT') {
      countCommit(this.stats, batch.length);
      // A statement pg refused before sending it (a parameter it cannot serialize) fails alone.
      batch.forEach((w, i) => {
        const r = results[i]!;
        if (r.status === 'fulfilled') w.resolve(toResult(r.value));
        else w.reject(r.reason);
      });
      return;
    }
    // PostgreSQL rolled the batch back: some write failed. It alone hears of it; the rest run again.
    // The culprit is the first write the server refused (every one after it got 25P02, whatever
    // its own fate; a write whose own error is 25P02 is still the first); one that pg refused
    // itself never reached the server's transaction and fails on its own.
    const first = results.findIndex((r) => r.status === 'rejected' && sqlState(r.reason));
    const cause = first >= 0 ? (results[first] as PromiseRejectedResult).reason : undefined;
    if (PG_DATABASE_DOWN.test(sqlState(cause) ?? '')) {
      // Not the write's fault: the database cannot take writes now (read-only, shutting down, disk full), and no
      // write of the batch would fare better run again. All are told so, as a single write would be.
      for (const w of batch) w.reject(cause);
      return;
    }
    const retryAll = RETRY_ALL.has(sqlState(cause) ?? '');
    const again: Write[] = [];
    batch.forEach((w, i) => {
      const r = results[i]!;
      const culprit = r.status === 'rejected' && (!sqlState(r.reason) || (i === first && !retryAll));
      // A deadlock's victim, out of attempts, hears its own error; its bystanders, whose own answer was only 25P02, hear why they failed.
      if (culprit || i === first) {
        if (culprit || ++w.attempts >= MAX_ATTEMPTS) w.reject((r as PromiseRejectedResult).reason);
        else again.push(w);
      } else if (++w.attempts >= MAX_ATTEMPTS) w.reject(new Error('the write was rolled back with its batch too often', { cause }));
      else again.push(w);
    });
    this.#pending.unshift(...again);
  }

  #owned(connection: DatabaseConnection, command: string): DatabaseConnection {
    const own = (connection as PgGroupConnection).own;
    if (!own) throw new Error(`${command} without a transaction on this connection`);
    return own;
  }

  async #releaseOwn(conn: PgGroupConnection): Promise<void> {
    const own = conn.own;
    if (!own) return;
    conn.own = undefined;
    await this.#transactions.releaseConnection(own as Parameters<PostgresDriver["releaseConnection"]>[0]);
  }
}

export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

class PgGroupConnection implements DatabaseConnection {
  /** The pool connection of an explicit transaction, while one is open. */
  own: DatabaseConnection | undefined;
  readonly #driver: PgGroupCommitDriver;
  constructor(driver: PgGroupCommitDriver) {
    this.#driver = driver;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    if (this.own) return this.own.executeQuery<R>(compiledQuery);
    return (await this.#driver.execute(compiledQuery.sql, compiledQuery.parameters, isRead(compiledQuery))) as QueryResult<R>;
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    if (!isRead(compiledQuery)) throw new Error('only reads are streamed');
    // Read whole, then yielded: no cursor holds a pool connection between rows.
    const { rows } = await this.executeQuery<R>(compiledQuery);
    for (const row of rows) yield { rows: [row] };
  }
}

/** Kysely's PostgreSQL dialect, with the group-commit driver in place of its own. */
export class GroupCommitPostgresDialect implements Dialect {
  readonly driver: PgGroupCommitDriver;
  /**
   * `pool` serves reads and explicit transactions; `batches` (one pipelined
   * connection is enough) carries the grouped writes. `group: false` sends
   * every write at once on the pool, committed alone (the benchmark's comparison).
   */
  constructor(pool: pg.Pool, batches: pg.Pool, opts: { group?: boolean } = {}) {
    this.driver = new PgGroupCommitDriver(pool, batches, opts.group ?? true);
  }
  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return this.driver;
  }
  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }
  createIntrospector(db: Kysely<any>) {
    return new PostgresIntrospector(db);
  }
}
