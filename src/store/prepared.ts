/**
 * Statements of the hot path (one per station message), built and compiled
 * by Kysely once: each run binds new values to the same SQL text. Building
 * and compiling a query on every message was about a tenth of the node's
 * CPU at saturation. On SQLite the text also finds its prepared statement
 * (kept by text, src/store/sqlite-group-commit.ts); on PostgreSQL the text
 * has a statement name, which pg prepares once per connection
 * (`NamingClient`, src/store/pg-group-commit.ts).
 *
 * The query is built once with a unique marker for each argument; where the
 * markers land among the compiled parameters says where each argument goes.
 */
import { createHash } from 'node:crypto';
import type { CompiledQuery, Compilable, Kysely, QueryResult } from 'kysely';

/** Statement names by SQL text, for the texts compiled here only: a fixed set, one per prepared statement in the code. */
const names = new Map<string, string>();

/** The server-side statement name for a prepared statement's SQL text; undefined for any other text. */
export function statementName(sql: string): string | undefined {
  return names.get(sql);
}

/** What runs a compiled query: a Kysely handle, or the connection of a transaction (`Database.transaction`). */
export interface QueryRunner {
  executeQuery<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>;
}

/** A statement compiled once; `on(runner, …)` runs the same one on a transaction's connection. */
export interface Prepared<A extends unknown[], R> {
  (...args: A): Promise<R[]>;
  /** The statement on `runner` instead (a transaction of the same database). */
  on(runner: QueryRunner, ...args: A): Promise<R[]>;
  /**
   * A write on `runner`, resolving with the number of rows it changed: an
   * INSERT … ON CONFLICT DO NOTHING says whether it inserted without a
   * RETURNING clause, which SQLite answers through a scratch table per run.
   */
  changedOn(runner: QueryRunner, ...args: A): Promise<number>;
}

/**
 * Runs the statement with these arguments; resolves with its rows (none for a write).
 * A run allocates its parameter array and one small query object, nothing more:
 * the statement's SQL text and operation node are shared by every run.
 */
export function prepared<A extends unknown[], R = unknown>(db: Kysely<any>, arity: A['length'], build: (...args: A) => Compilable<R>): Prepared<A, R> {
  let compiled: { template: CompiledQuery<R>; args: Int32Array; constants: unknown[] } | undefined;
  const compile = () => {
    const markers = Array.from({ length: arity }, (_, i) => `\u0000evguard-arg-${i}\u0000`);
    const query = build(...(markers as A)).compile();
    if (markers.some((m) => query.sql.includes(m))) throw new Error('a prepared statement must take its arguments as parameters, not inline');
    // Per parameter: the argument it takes (-1: a constant of the statement, kept in `constants`).
    const args = Int32Array.from(query.parameters, (p) => (typeof p === 'string' ? markers.indexOf(p) : -1));
    if (markers.some((_, i) => !args.includes(i))) throw new Error('every argument of a prepared statement must be a parameter');
    if (!names.has(query.sql)) names.set(query.sql, `evguard_${createHash('sha256').update(query.sql).digest('hex').slice(0, 24)}`);
    return { template: query, args, constants: [...query.parameters] };
  };
  const run = (runner: QueryRunner, args: A) => {
    compiled ??= compile();
    const { template, args: slots, constants } = compiled;
    const parameters = new Array<unknown>(slots.length);
    for (let i = 0; i < slots.length; i++) parameters[i] = slots[i]! < 0 ? constants[i] : args[slots[i]!];
    // The compiled query's own node (a select stays a select for the drivers that ask) with this run's values.
    const query: CompiledQuery<R> = { sql: template.sql, query: template.query, queryId: template.queryId, parameters };
    return runner.executeQuery(query);
  };
  const on = async (runner: QueryRunner, ...args: A): Promise<R[]> => (await run(runner, args)).rows;
  const changedOn = async (runner: QueryRunner, ...args: A): Promise<number> => Number((await run(runner, args)).numAffectedRows ?? 0n);
  return Object.assign((...args: A) => on(db, ...args), { on, changedOn });
}

/**
 * A statement over a record's fields, for rows of many columns (an insert or
 * update of a whole record): `fields` names the record's keys, each a
 * parameter of the statement.
 */
export function preparedRecord<K extends string, R = unknown>(db: Kysely<any>, fields: readonly K[], build: (record: Record<K, any>) => Compilable<R>): Prepared<[Record<K, unknown>], R> {
  const statement = prepared<unknown[], R>(db, fields.length, (...markers) => build(Object.fromEntries(fields.map((f, i) => [f, markers[i]])) as Record<K, any>));
  // Every field is a parameter: one left undefined binds NULL (better-sqlite3 refuses undefined).
  const values = (record: Record<K, unknown>) => fields.map((f) => record[f] ?? null);
  return Object.assign((record: Record<K, unknown>) => statement(...values(record)), {
    on: (runner: QueryRunner, record: Record<K, unknown>) => statement.on(runner, ...values(record)),
    changedOn: (runner: QueryRunner, record: Record<K, unknown>) => statement.changedOn(runner, ...values(record)),
  });
}
