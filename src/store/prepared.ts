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
import { CompiledQuery, type Compilable, type Kysely } from 'kysely';

/** Statement names by SQL text, for the texts compiled here only: a fixed set, one per prepared statement in the code. */
const names = new Map<string, string>();

/** The server-side statement name for a prepared statement's SQL text; undefined for any other text. */
export function statementName(sql: string): string | undefined {
  return names.get(sql);
}

/** A statement compiled once; `in(trx)` runs the same one inside a database transaction. */
export interface Prepared<A extends unknown[], R> {
  (...args: A): Promise<R[]>;
  /** The statement on `executor` instead (a transaction of the same database). */
  in(executor: Kysely<any>): (...args: A) => Promise<R[]>;
}

/** Runs the statement with these arguments; resolves with its rows (none for a write). */
export function prepared<A extends unknown[], R = unknown>(db: Kysely<any>, arity: A['length'], build: (...args: A) => Compilable<R>): Prepared<A, R> {
  let compiled: { sql: string; slots: { arg?: number; value?: unknown }[] } | undefined;
  const compile = () => {
    const markers = Array.from({ length: arity }, (_, i) => `\u0000evguard-arg-${i}\u0000`);
    const query = build(...(markers as A)).compile();
    if (markers.some((m) => query.sql.includes(m))) throw new Error('a prepared statement must take its arguments as parameters, not inline');
    const slots = query.parameters.map((p) => (typeof p === 'string' && markers.includes(p) ? { arg: markers.indexOf(p) } : { value: p }));
    if (markers.some((_, i) => !slots.some((s) => s.arg === i))) throw new Error('every argument of a prepared statement must be a parameter');
    if (!names.has(query.sql)) names.set(query.sql, `evguard_${createHash('sha256').update(query.sql).digest('hex').slice(0, 24)}`);
    return { sql: query.sql, slots };
  };
  const on = (executor: Kysely<any>) => async (...args: A) => {
    compiled ??= compile();
    return (await executor.executeQuery<R>(CompiledQuery.raw(compiled.sql, compiled.slots.map((s) => (s.arg === undefined ? s.value : args[s.arg]))))).rows;
  };
  return Object.assign(on(db), { in: on });
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
    in: (executor: Kysely<any>) => {
      const run = statement.in(executor);
      return (record: Record<K, unknown>) => run(...values(record));
    },
  });
}
