/**
 * The settings the node's SQLite connection runs with, read back through the
 * store as any query would: each one is there for a measured reason
 * (src/store/index.ts), and a lost one costs durability or speed silently.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { openScratchDatabase } from '../support/node.js';

test('the node\'s SQLite connection: WAL, synchronous NORMAL, foreign keys, temporary storage in memory', async (t) => {
  const database = await openScratchDatabase('sqlite', t);
  const pragma = async (name: string) => Object.values((await sql.raw(`PRAGMA ${name}`).execute(database.db)).rows[0] as object)[0];
  assert.equal(await pragma('journal_mode'), 'wal');
  assert.equal(await pragma('synchronous'), 1, 'NORMAL');
  assert.equal(await pragma('foreign_keys'), 1);
  // 2 is MEMORY: statement journals and RETURNING's scratch tables stay off mmap (see the comment at the pragma).
  assert.equal(await pragma('temp_store'), 2);
});
