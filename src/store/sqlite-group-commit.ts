/**
 * Group commit for the embedded SQLite file: the writes made outside an
 * explicit transaction during one event-loop turn share one SQLite
 * transaction, committed when the turn ends (setImmediate). Each write's
 * promise settles only after that COMMIT, so a station is answered only for
 * what is in the WAL: a SIGKILL loses nothing acknowledged.
 *
 * Why a driver of our own: Kysely's SqliteDriver puts every query behind a
 * mutex and commits every statement by itself, so N stations' writes in one
 * turn cost N commits (N rounds of WAL page writes). better-sqlite3 runs each
 * statement synchronously on one handle, so no mutex is needed outside
 * explicit transactions; those still get the handle to themselves.
 *
 * Semantics:
 * - A statement that fails inside the batch is rolled back alone (SQLite's
 *   statement rollback) and its caller gets the error; the others still
 *   commit. An error that ends the whole transaction (SQLITE_FULL, IOERR)
 *   fails every write of the batch, whichever statement met it (a read too),
 *   as does a failed COMMIT.
 * - Reads run at once. They see the turn's uncommitted writes (one process,
 *   one handle); a failed COMMIT is the only way such a write does not
 *   become durable, and then its writer was told.
 * - `db.transaction()` is a savepoint in the turn's batch: it has the handle
 *   to itself (every other query waits until it ends), its rollback undoes
 *   only its own work, and its commit settles with the batch's COMMIT. A
 *   turn that ends while it is open commits when it ends; so does closing.
 *   (Savepoints inside it are not offered: nothing uses them.)
 */
import type SQLite from 'better-sqlite3';
import {
  type CompiledQuery,
  SelectQueryNode,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

/**
 * Prepared statements by SQL text, least recently used dropped first
 * (preparing again on every query was the largest single cost of a message
 * in the benchmark's profile). Reuse is safe: each statement runs to the end
 * synchronously before another can start.
 */
function statementCache(file: SQLite.Database, max = 500) {
  const statements = new Map<string, SQLite.Statement>();
  return (text: string): SQLite.Statement => {
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
  };
}

interface Batch {
  /** Settles after the batch's COMMIT (or its failure). */
  committed: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
  writes: number;
  /** Why the batch failed, once it has. */
  failure?: unknown;
}

interface Exclusive {
  owner: GroupCommitConnection;
  batch: Batch;
  done: Promise<void>;
  release(): void;
}

/** Counters for the benchmark and the tests. */
export interface GroupCommitStats {
  commits: number;
  writes: number;
  largestBatch: number;
}

/** Counts one COMMIT that carried `writes` writes. */
export function countCommit(stats: GroupCommitStats, writes: number): void {
  stats.commits++;
  stats.writes += writes;
  if (writes > stats.largestBatch) stats.largestBatch = writes;
}

/** An explicit transaction is a savepoint in the turn's batch. One at a time: it has the handle to itself. */
const SAVEPOINT = 'evguard_tx';

class GroupCommitDriver implements Driver {
  readonly stats: GroupCommitStats = { commits: 0, writes: 0, largestBatch: 0 };
  readonly #file: SQLite.Database;
  readonly #prepare: (text: string) => SQLite.Statement;
  #batch: Batch | undefined;
  #exclusive: Exclusive | undefined;
  /** The turn ended while an explicit transaction held the handle: commit when it lets go. */
  #commitWhenFree = false;

  /** False: every write commits at once (one commit per write), to measure what grouping saves. */
  readonly #group: boolean;

  constructor(file: SQLite.Database, group: boolean) {
    this.#file = file;
    this.#group = group;
    this.#prepare = statementCache(file);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new GroupCommitConnection(this);
  }

  async releaseConnection(): Promise<void> {}

  async beginTransaction(connection: DatabaseConnection, _settings: TransactionSettings): Promise<void> {
    const conn = connection as GroupCommitConnection;
    while (this.#exclusive) await this.#exclusive.done;
    const batch = this.#openBatch();
    let release!: () => void;
    const done = new Promise<void>((r) => (release = r));
    this.#exclusive = { owner: conn, batch, done, release };
    this.#run(`savepoint ${SAVEPOINT}`);
  }

  /** Ends the savepoint, then waits for the batch's COMMIT like any write. */
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const { batch } = this.#owned(connection as GroupCommitConnection, 'commit');
    try {
      // A failed statement may already have ended the whole transaction (SQLite does on some errors).
      if (this.#file.inTransaction) this.#run(`release ${SAVEPOINT}`);
      batch.writes++;
    } finally {
      this.#letGo();
    }
    if (!this.#group) this.#commitBatch(batch);
    await batch.committed;
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    // After a failed commit the savepoint is gone already: nothing left to undo.
    if (this.#exclusive?.owner !== connection) return;
    try {
      if (this.#file.inTransaction) {
        this.#run(`rollback to ${SAVEPOINT}`);
        this.#run(`release ${SAVEPOINT}`);
      }
    } finally {
      this.#letGo();
    }
  }

  /** Lets an explicit transaction in progress finish first: closing under it would roll back its whole batch, the plain writes before it too. */
  async destroy(): Promise<void> {
    while (this.#exclusive) await this.#exclusive.done;
    this.#commitBatch();
    this.#file.close();
  }

  /**
   * What to wait for while another connection holds the handle for an explicit
   * transaction; undefined when the handle is free. Callers check again after
   * each wait and then run without awaiting in between, or a transaction could
   * begin in the gap.
   */
  busyFor(conn: GroupCommitConnection): Promise<void> | undefined {
    return this.#exclusive && this.#exclusive.owner !== conn ? this.#exclusive.done : undefined;
  }

  /** Runs a statement at once; a write joins the turn's batch, whose COMMIT the caller awaits (outside a transaction). */
  execute(conn: GroupCommitConnection, sql: string, parameters: readonly unknown[]): { result: QueryResult<unknown>; committed?: Promise<void> } {
    const statement = this.#prepare(sql);
    try {
      if (statement.readonly) return { result: run(statement, parameters) };
      const inTransaction = this.#exclusive?.owner === conn;
      // The batch under this transaction failed as a whole (SQLITE_FULL, IOERR): its savepoint is gone too.
      if (inTransaction && this.#exclusive!.batch !== this.#batch) throw abortedBy(this.#exclusive!.batch.failure);
      const batch = this.#openBatch();
      const result = run(statement, parameters);
      if (inTransaction) return { result };
      batch.writes++;
      if (!this.#group) this.#commitBatch(batch);
      return { result, committed: batch.committed };
    } catch (err) {
      // An error that ended the whole transaction takes the batch with it. A read
      // can end it too: loading a page may spill the batch's dirty pages to a
      // full disk. A batch left open after that would run its next writes
      // outside any transaction and acknowledge the lost ones at its COMMIT.
      if (this.#batch && !this.#file.inTransaction) this.#failBatch(this.#batch, err);
      throw err;
    }
  }

  #openBatch(): Batch {
    if (this.#batch) return this.#batch;
    this.#run('begin');
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const committed = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    // A batch whose writers all failed has no listener; its rejection is not news.
    committed.catch(() => undefined);
    const batch: Batch = { committed, resolve, reject, writes: 0 };
    this.#batch = batch;
    setImmediate(() => this.#commitBatch(batch));
    return batch;
  }

  #commitBatch(batch = this.#batch): void {
    if (!batch || batch !== this.#batch) return;
    if (this.#exclusive) {
      this.#commitWhenFree = true;
      return;
    }
    this.#batch = undefined;
    try {
      this.#run('commit');
    } catch (err) {
      // This runs from setImmediate: nothing may escape it as an uncaught exception.
      try {
        if (this.#file.inTransaction) this.#run('rollback');
      } catch {
        // The writers hear of the COMMIT's failure; a failed ROLLBACK leaves SQLite to roll back on its own.
      }
      batch.reject(err);
      return;
    }
    countCommit(this.stats, batch.writes);
    batch.resolve();
  }

  #failBatch(batch: Batch, err: unknown): void {
    if (batch !== this.#batch) return;
    this.#batch = undefined;
    batch.failure = err;
    batch.reject(err);
  }

  #owned(conn: GroupCommitConnection, command: string): Exclusive {
    const exclusive = this.#exclusive;
    if (!exclusive || exclusive.owner !== conn) throw new Error(`${command} without a transaction on this connection`);
    return exclusive;
  }

  #letGo(): void {
    const exclusive = this.#exclusive!;
    this.#exclusive = undefined;
    exclusive.release();
    if (this.#commitWhenFree) {
      this.#commitWhenFree = false;
      this.#commitBatch();
    }
  }

  #run(sql: string): void {
    this.#prepare(sql).run();
  }
}

function run(statement: SQLite.Statement, parameters: readonly unknown[]): QueryResult<unknown> {
  if (statement.reader) return { rows: statement.all(parameters) };
  const { changes, lastInsertRowid } = statement.run(parameters);
  return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
}

class GroupCommitConnection implements DatabaseConnection {
  readonly #driver: GroupCommitDriver;
  constructor(driver: GroupCommitDriver) {
    this.#driver = driver;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    for (let busy = this.#driver.busyFor(this); busy; busy = this.#driver.busyFor(this)) await busy;
    const { result, committed } = this.#driver.execute(this, compiledQuery.sql, compiledQuery.parameters);
    if (committed) await committed;
    return result as QueryResult<R>;
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(compiledQuery.query)) throw new Error('SQLite streams select queries only');
    // Read whole, then yielded: an iterating statement would stay busy across
    // awaits, and the cached statement could not serve another query meanwhile.
    const { rows } = await this.executeQuery<R>(compiledQuery);
    for (const row of rows) yield { rows: [row] };
  }
}

/** Kysely's SQLite dialect, with the group-commit driver in place of its own. */
export class GroupCommitSqliteDialect implements Dialect {
  readonly driver: GroupCommitDriver;
  /** `group: false` commits every write at once: the same driver, without grouping (the benchmark's comparison). */
  constructor(file: SQLite.Database, opts: { group?: boolean } = {}) {
    this.driver = new GroupCommitDriver(file, opts.group ?? true);
  }
  createAdapter() {
    return new SqliteAdapter();
  }
  createDriver(): Driver {
    return this.driver;
  }
  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }
  createIntrospector(db: Kysely<any>) {
    return new SqliteIntrospector(db);
  }
}

/**
 * A statement of a transaction whose batch already failed: it carries the
 * failure's SQLite code (SQLITE_FULL, SQLITE_IOERR…), so callers tell an
 * unwritable database (503, retry later) from a bad query.
 */
function abortedBy(failure: unknown): Error {
  const code = (failure as { code?: unknown } | undefined)?.code;
  return Object.assign(new Error(`the database transaction was aborted by an earlier error${typeof code === 'string' ? ` (${code})` : ''}`, { cause: failure }), typeof code === 'string' ? { code } : {});
}
