/**
 * WAL checkpoints off the main thread. SQLite copies the write-ahead log
 * back into the database file (a checkpoint) from whichever connection
 * commits when the log passes 1,000 pages, and with synchronous=NORMAL that
 * copy ends in fsyncs of both files: it ran on the node's main thread, in
 * the middle of a group commit, while every station waited. Measured on the
 * heartbeat's UPDATE in batches of 40 (one SQLite file, this machine): 35 µs
 * of main-thread time per write with automatic checkpoints, 9 µs without.
 *
 * Here a worker thread with its own connection runs a PASSIVE checkpoint
 * every `everyMs`: it copies what no reader still needs and never blocks the
 * writer. A PASSIVE checkpoint cannot start the log over, though, and under
 * steady writes a commit always lands after its snapshot, so the main
 * connection keeps an automatic checkpoint at a higher bound (4,000 pages):
 * right after a commit it copies the little the worker has not, and its next
 * write starts the log over. Should the worker fail or exit, the main
 * connection checkpoints at SQLite's default bound again.
 */
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';

/** SQLite's own default for wal_autocheckpoint, in pages. */
const SQLITE_DEFAULT_AUTOCHECKPOINT = 1000;
/**
 * The main connection still checkpoints past this many pages. A PASSIVE
 * checkpoint never starts the log over: only a writer that begins when every
 * frame was copied does, and under steady writes a commit always lands between
 * the worker's snapshot and the writer's next transaction, so the log would
 * grow for good. Past this bound the main connection, right after a commit,
 * copies what the worker has not yet (little), and its next write restarts the log.
 */
const MAIN_AUTOCHECKPOINT = 4 * SQLITE_DEFAULT_AUTOCHECKPOINT;

// Plain JavaScript run by the worker (eval: a worker does not inherit the loader that runs TypeScript in tests).
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const SQLite = require(workerData.driver);
const db = new SQLite(workerData.file, { fileMustExist: true });
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ copied: result.checkpointed });
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.message) || err), code: err && err.code });
  }
}, workerData.everyMs);
parentPort.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export interface CheckpointStats {
  /** WAL frames the worker's checkpoints copied in all. */
  framesCopied: number;
  /**
   * Set while checkpoints fail (SQLITE_FULL when the file cannot grow,
   * SQLITE_IOERR): the WAL cannot start over, so every write needs new room
   * and the database is not ready (src/store/index.ts). Cleared by the next
   * checkpoint that succeeds; each one tries again.
   */
  failing?: { code?: string; message: string };
}

export interface Checkpointer {
  readonly stats: CheckpointStats;
  /** Ends the worker's connection; the main connection's close then runs the final checkpoint. */
  stop(): Promise<void>;
}

export function startCheckpointer(file: SQLite.Database, everyMs = 1000): Checkpointer {
  const stats: CheckpointStats = { framesCopied: 0 };
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), file: file.name, everyMs },
  });
  file.pragma(`wal_autocheckpoint = ${MAIN_AUTOCHECKPOINT}`);
  let running = true;
  const fallBack = () => {
    if (!running) return;
    running = false;
    // The worker's last failure says nothing about the main connection's own checkpoints from now on.
    stats.failing = undefined;
    // The main connection is closed by then when the node is stopping: nothing left to checkpoint from it.
    if (file.open) file.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT}`);
  };
  worker.on('message', (m: { copied?: number; error?: string; code?: string }) => {
    if (m.error !== undefined) {
      stats.failing = { code: m.code, message: m.error };
      return;
    }
    stats.failing = undefined;
    stats.framesCopied += Math.max(0, m.copied ?? 0);
  });
  worker.on('error', fallBack);
  worker.on('exit', fallBack);
  // The worker never keeps a node alive; stop() ends it when the database closes.
  worker.unref();
  return {
    stats,
    async stop() {
      if (!running) return;
      const exited = once(worker, 'exit');
      running = false;
      // Held until it has closed its connection, or nothing might keep the process waiting for it.
      worker.ref();
      worker.postMessage('stop');
      await exited;
    },
  };
}
