/**
 * WAL checkpoints run on a worker thread (src/store/sqlite-checkpointer.ts):
 * the main connection checkpoints only past a higher bound, the log does not
 * grow without bound whether writes come in bursts or in every turn, and
 * should the worker fail, the main connection checkpoints as SQLite does by
 * default.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { startCheckpointer } from '../../src/store/sqlite-checkpointer.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function openFile(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'evguard-checkpoint-'));
  const file = new SQLite(path.join(dir, 'x.db'));
  file.pragma('journal_mode = WAL');
  file.pragma('synchronous = NORMAL');
  file.exec('CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  t.after(() => {
    if (file.open) file.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return file;
}

/** Writes about 12 MiB in batches, pausing between them as a node's turns do; the WAL file's largest size. */
async function writeAndWatch(file: SQLite.Database): Promise<number> {
  const insert = file.prepare('INSERT INTO rows (body) VALUES (?)');
  const batch = file.transaction(() => {
    for (let i = 0; i < 300; i++) insert.run('x'.repeat(2000));
  });
  let largest = 0;
  for (let round = 0; round < 20; round++) {
    batch();
    largest = Math.max(largest, statSync(`${file.name}-wal`).size);
    await sleep(60);
  }
  return largest;
}

test('the worker checkpoints the WAL so it stays bounded, and the main connection only past 4,000 pages', async (t) => {
  const file = openFile(t);
  const checkpointer = startCheckpointer(file, 20);
  t.after(() => checkpointer.stop());
  assert.equal(file.pragma('wal_autocheckpoint', { simple: true }), 4000);
  const largest = await writeAndWatch(file);
  assert.ok(checkpointer.stats.framesCopied > 1000, `the worker copied ${checkpointer.stats.framesCopied} frames`);
  assert.ok(largest < 6 * 2 ** 20, `the WAL grew to ${(largest / 2 ** 20).toFixed(1)} MiB`);
  await checkpointer.stop();
  // Everything is in the file: a fresh connection reads it after the main one closes.
  file.close();
  const again = new SQLite(file.name, { readonly: true });
  assert.equal((again.prepare('SELECT count(*) AS n FROM rows').get() as { n: number }).n, 6000);
  again.close();
});

test('without checkpoints the same writes grow the WAL past that bound (the check above can fail)', async (t) => {
  const file = openFile(t);
  file.pragma('wal_autocheckpoint = 0');
  const largest = await writeAndWatch(file);
  assert.ok(largest > 10 * 2 ** 20, `the WAL grew to ${(largest / 2 ** 20).toFixed(1)} MiB`);
});

test('a worker that cannot open the file hands checkpoints back to the main connection', async (t) => {
  const file = openFile(t);
  // The worker opens the file by name: gone from the directory, it cannot (the main connection keeps its open file).
  unlinkSync(file.name);
  const checkpointer = startCheckpointer(file, 20);
  t.after(() => checkpointer.stop());
  for (let i = 0; i < 100 && file.pragma('wal_autocheckpoint', { simple: true }) === 4000; i++) await sleep(20);
  assert.equal(file.pragma('wal_autocheckpoint', { simple: true }), 1000);
});

/** One small commit per event-loop turn for `ms`, as a busy node's group commit makes: the WAL's largest size and bytes written. */
async function sustained(file: SQLite.Database, ms: number): Promise<{ largest: number; written: number }> {
  const insert = file.prepare('INSERT INTO rows (body) VALUES (?)');
  const body = 'x'.repeat(3000);
  let largest = 0;
  let written = 0;
  for (const end = Date.now() + ms; Date.now() < end; ) {
    file.transaction(() => insert.run(body))();
    written += body.length;
    largest = Math.max(largest, statSync(`${file.name}-wal`).size);
    await new Promise((r) => setImmediate(r));
  }
  return { largest, written };
}

test('under a commit every turn the WAL stays bounded (a PASSIVE checkpoint alone never starts it over)', async (t) => {
  const file = openFile(t);
  const checkpointer = startCheckpointer(file, 250);
  t.after(() => checkpointer.stop());
  const { largest, written } = await sustained(file, 4000);
  assert.ok(checkpointer.stats.framesCopied > 100, `the worker copied ${checkpointer.stats.framesCopied} frames`);
  assert.ok(written > 40 * 2 ** 20, `wrote ${(written / 2 ** 20).toFixed(1)} MiB`);
  // Several times what was written when the log is never started over; SQLite's own bound keeps it near 4 MiB.
  assert.ok(largest < 64 * 2 ** 20, `the WAL grew to ${(largest / 2 ** 20).toFixed(1)} MiB after ${(written / 2 ** 20).toFixed(1)} MiB written`);
});
