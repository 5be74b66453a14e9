/**
 * Explicit transactions on PostgreSQL, grouped: the transactions started in
 * one event-loop turn run side by side in one database transaction on one
 * pipelined connection, and each settles only after that COMMIT.
 *
 * Why: alone, a transaction message costs BEGIN, its reads, its writes and
 * COMMIT, each a round trip that waits for a turn of a busy event loop, on a
 * pool connection it holds throughout; at saturation a node carried about 60
 * such messages a second on PostgreSQL (SQLite, with its savepoints in the
 * turn's batch, over 1,200). Grouped, a turn's transactions share every round
 * trip, its COMMIT and its WAL flush.
 *
 * Semantics (what a caller of `Database.transaction` with a `key` gets):
 * - Transactions with the same key never run at the same time on this node,
 *   nor in the same group: two that read the same row for update would both
 *   read it before either wrote (one database transaction holds no lock
 *   against itself). The key must cover every row the work locks or
 *   changes; the transactions module passes the station.
 * - A work that throws after a read only is rejected alone; the rest commit.
 * - A work that throws after a write, or whose query the server refuses
 *   (which aborts the database transaction for everyone), is rejected with
 *   its error; the group is rolled back and its other works run again, split
 *   in two groups of their own that no other work joins. A group holding
 *   several failing works thus halves until each good work is in one
 *   without: at most log2(MAX_GROUP) runs again, however many failing
 *   messages hostile stations send. A deadlock or serialization failure runs
 *   every work again, a bounded number of times.
 * - A connection lost mid-group fails every work of it: whether the COMMIT
 *   happened cannot be known, as with a single transaction.
 * - A work must do database work only: the group waits for its slowest work.
 */
import pg from 'pg';
import type { CompiledQuery, QueryResult } from 'kysely';
import type { QueryRunner } from './prepared.js';
import { isRead, PG_DATABASE_DOWN, sqlState, toResult } from './pg-group-commit.js';
import { countCommit, type GroupCommitStats } from './sqlite-group-commit.js';
import { storeErrors } from './errors.js';

/** At most this many works in one group: one database transaction's locks and WAL stay bounded. */
const MAX_GROUP = 200;
/** How many times a deadlock or serialization failure runs a group again. */
const MAX_ATTEMPTS = 5;
/** Deadlock and serialization failure: nobody's work was wrong, all run again. */
const RETRY_ALL = new Set(['40P01', '40001']);
/** What a work's query gets once its group is being rolled back: nothing more is sent. */
const ABORTED = '25P02';

interface Entry {
  readonly key: string;
  readonly work: (runner: QueryRunner) => Promise<unknown>;
  /** Deadlocks and serialization failures met so far. */
  attempts: number;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/** How one work of a group ended. */
interface Run {
  readonly entry: Entry;
  /** One of its writes succeeded: only a rollback undoes it. */
  wrote: boolean;
  /** One of its queries was refused only because another work's query failed first (25P02). */
  aborted: boolean;
  outcome?: PromiseSettledResult<unknown>;
}

export class TransactionGroups {
  readonly #pool: pg.Pool;
  readonly #stats: GroupCommitStats;
  readonly #groups: number;
  /** Fresh works, in arrival order. */
  #pending: Entry[] = [];
  /** Groups to run again (the survivors of rolled-back ones), before any fresh work. */
  readonly #retries: Entry[][] = [];
  /** Keys of the works taken and not yet settled (running, or waiting in `#retries`). */
  readonly #busy = new Set<string>();
  #running = 0;
  #scheduled = false;
  #closing = false;
  /** Told when nothing is pending or running (`close`). */
  #idle: (() => void)[] = [];

  /** `pool`: pipelined connections, one per group in flight (its `max` bounds them). */
  constructor(pool: pg.Pool, stats: GroupCommitStats, groups: number) {
    this.#pool = pool;
    this.#stats = stats;
    this.#groups = groups;
  }

  run<T>(key: string, work: (runner: QueryRunner) => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(storeErrors.DATABASE_UNAVAILABLE('The database is closing: this node is shutting down'));
    return new Promise<T>((resolve, reject) => {
      // Its key is free again once it settles, for the next work with the same key.
      const settle = <A>(done: (a: A) => void) => (a: A) => {
        this.#busy.delete(key);
        done(a);
      };
      this.#pending.push({ key, work, attempts: 0, resolve: settle(resolve as (v: unknown) => void), reject: settle(reject) });
      this.#schedule();
    });
  }

  /**
   * Takes no more work and resolves once what it took has settled: under steady traffic, waiting
   * for the queue to empty while it still took work could wait for ever.
   */
  async close(): Promise<void> {
    this.#closing = true;
    while (this.#pending.length || this.#retries.length || this.#running) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #schedule(): void {
    if (this.#scheduled || !(this.#pending.length || this.#retries.length)) return;
    this.#scheduled = true;
    // After the turn: the transactions its handlers start join this group.
    setImmediate(() => {
      this.#scheduled = false;
      this.#start();
    });
  }

  #start(): void {
    while (this.#running < this.#groups) {
      const group = this.#retries.shift() ?? this.#take();
      if (!group.length) break;
      this.#running++;
      void this.#runGroup(group).finally(() => {
        this.#running--;
        if (this.#pending.length || this.#retries.length) this.#schedule();
        else if (!this.#running) for (const told of this.#idle.splice(0)) told();
      });
    }
  }

  /**
   * The next group of fresh works. A work whose key is taken waits, and so does every later
   * work with that key (their order is kept).
   */
  #take(): Entry[] {
    const group: Entry[] = [];
    const seen = new Set<string>();
    const rest: Entry[] = [];
    for (const e of this.#pending) {
      const free = !seen.has(e.key) && !this.#busy.has(e.key);
      seen.add(e.key);
      if (free && group.length < MAX_GROUP) {
        group.push(e);
        this.#busy.add(e.key);
      } else rest.push(e);
    }
    this.#pending = rest;
    return group;
  }

  /** Never rejects: every work of the group is settled or queued again. */
  async #runGroup(group: Entry[]): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      for (const e of group) e.reject(err);
      return;
    }
    // The works' reads go out right behind BEGIN, in the same round trip; a write waits for BEGIN's
    // answer, since behind a BEGIN that failed it would run, and commit, on its own.
    let beginFailed: unknown;
    const begun = client.query('BEGIN').then(
      () => undefined,
      (err: unknown) => {
        beginFailed = err;
        throw err;
      },
    );
    begun.catch(() => undefined);
    /** The first query the server refused (not a bystander's 25P02), and the work that sent it. */
    let refused: { run: Run; error: unknown } | undefined;
    /** An error without a SQLSTATE: the connection failed. */
    let lost: unknown;
    const runs: Run[] = group.map((entry) => ({ entry, wrote: false, aborted: false }));
    /** Every query the works asked for: the group ends only once each is answered (a work may settle first). */
    const asked: Promise<unknown>[] = [];
    await Promise.all(runs.map(async (run) => {
      let open = true;
      const runner: QueryRunner = {
        executeQuery: <R>(query: CompiledQuery<R>): Promise<QueryResult<R>> => {
          if (!open) return Promise.reject(new Error('the database transaction has already ended'));
          if (refused || lost) {
            run.aborted = true;
            return Promise.reject(Object.assign(new Error('the group\'s database transaction is being rolled back'), { code: ABORTED }));
          }
          const write = !isRead(query);
          const answer = (write ? begun.then(() => client.query(query.sql, query.parameters as unknown[])) : client.query(query.sql, query.parameters as unknown[])).then(
            (result) => {
              if (write) run.wrote = true;
              return toResult(result) as QueryResult<R>;
            },
            (err: unknown) => {
              const code = sqlState(err);
              if (!code) lost ??= err;
              else if (code === ABORTED) run.aborted = true;
              else refused ??= { run, error: err };
              throw err;
            },
          );
          asked.push(answer.catch(() => undefined));
          return answer;
        },
      };
      try {
        run.outcome = { status: 'fulfilled', value: await run.entry.work(runner) };
      } catch (reason) {
        run.outcome = { status: 'rejected', reason };
      } finally {
        open = false;
      }
    }));
    // A write still on its way (waiting for BEGIN, or sent and not answered) of a work that threw: it
    // counts as written, and no COMMIT or ROLLBACK may go out ahead of it.
    await Promise.all(asked);
    if (beginFailed !== undefined || lost) {
      // No transaction to speak of (or no connection): nothing of the group can be vouched for.
      const reason = beginFailed ?? lost;
      client.release(reason as Error);
      for (const e of group) e.reject(reason);
      return;
    }
    const reasonOf = (run: Run) => (run.outcome as PromiseRejectedResult).reason;
    // Works that threw after writing: a rollback must undo them, and with them the group.
    const dirty = runs.filter((r) => r.outcome!.status === 'rejected' && r.wrote && !r.aborted);
    if (refused || dirty.length) {
      const rollback = await client.query('ROLLBACK').then(() => undefined, (err: unknown) => err);
      // A connection whose ROLLBACK failed may still be in the transaction: it is closed, not reused.
      client.release(rollback as Error | undefined);
      this.#rolledBack(runs, refused, dirty);
      return;
    }
    let commit: pg.QueryResult | undefined;
    try {
      commit = await client.query('COMMIT');
    } catch (err) {
      client.release(sqlState(err) ? undefined : (err as Error));
      if (RETRY_ALL.has(sqlState(err) ?? '')) this.#again(runs, err);
      else for (const e of group) e.reject(err);
      return;
    }
    client.release();
    if (commit.command !== 'COMMIT') {
      // PostgreSQL rolled back at COMMIT although no query was refused: nothing of the group is stored.
      const err = new Error(`the database transaction ended in ${commit.command} instead of COMMIT`);
      for (const e of group) e.reject(err);
      return;
    }
    countCommit(this.#stats, group.length);
    for (const run of runs) {
      if (run.outcome!.status === 'fulfilled') run.entry.resolve(run.outcome!.value);
      else run.entry.reject(reasonOf(run));
    }
  }

  /** The group was rolled back: the works at fault hear their errors, the others run again. */
  #rolledBack(runs: Run[], refused: { run: Run; error: unknown } | undefined, dirty: Run[]): void {
    const cause = refused?.error;
    const code = sqlState(cause) ?? '';
    if (PG_DATABASE_DOWN.test(code)) {
      // Not the work's fault: no work of the group would fare better run again.
      for (const run of runs) run.entry.reject(cause);
      return;
    }
    if (RETRY_ALL.has(code)) {
      this.#again(runs, cause);
      return;
    }
    const culprits = new Set(dirty);
    if (refused) culprits.add(refused.run);
    const survivors: Entry[] = [];
    for (const run of runs) {
      if (!culprits.has(run)) {
        // A work that threw after reads only, for its own reasons, would throw again: it hears its error now.
        if (run.outcome!.status === 'rejected' && !run.aborted) run.entry.reject(run.outcome!.reason);
        else survivors.push(run.entry);
      } else if (run.outcome!.status === 'rejected') run.entry.reject(run.outcome!.reason);
      else run.entry.reject(refused!.error);
    }
    // In halves: one more failing work among them costs the other half nothing.
    const half = Math.ceil(survivors.length / 2);
    for (const part of [survivors.slice(0, half), survivors.slice(half)]) if (part.length) this.#retries.push(part);
  }

  /** A deadlock or serialization failure: the whole group runs again, a bounded number of times. */
  #again(runs: Run[], cause: unknown): void {
    const again: Entry[] = [];
    for (const { entry } of runs) {
      if (++entry.attempts >= MAX_ATTEMPTS) entry.reject(cause);
      else again.push(entry);
    }
    if (again.length) this.#retries.push(again);
  }
}
