/**
 * Typed views of the shared connection, for modules' store.ts files only
 * (.dependency-cruiser.cjs: typed-tables-in-stores). The shared handle
 * (`Database.db`) knows no tables, so SQL written anywhere else does not
 * compile; a module's store declares its tables (`XxxTables`) and sees them
 * through `tablesOf`.
 */
import type { ColumnType, Kysely } from 'kysely';
import type { Database } from './index.js';

/** A module's typed view of the shared connection: the same Kysely instance, seen through the tables its store.ts declares. */
export function tablesOf<T>(database: Database): Kysely<T> {
  return database.db as unknown as Kysely<T>;
}

/** A bigint (int8) column: PostgreSQL's driver reads it back as a string, SQLite as a number. */
export type Int8Column = ColumnType<string | number, number, number>;
/** An id the database assigns (SQLite INTEGER PRIMARY KEY AUTOINCREMENT, PostgreSQL bigserial): read as Int8Column, never written. */
export type SerialIdColumn = ColumnType<string | number, never, never>;
/** A column with a database default: optional on insert. */
export type Defaulted<T> = ColumnType<T, T | undefined, T>;
