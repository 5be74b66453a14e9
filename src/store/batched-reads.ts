/**
 * Reads by key, gathered per event-loop turn on PostgreSQL: the keys asked
 * for during one turn are read with one query after it (`loadMany`), instead
 * of one query each. A read on PostgreSQL is a round trip on one of the
 * pool's connections, answered on a later turn; a node at saturation re-reads
 * every active station's record once per cache bound (the registry's three
 * seconds), and one query per station queued them behind each other for
 * hundreds of milliseconds. SQLite answers within the call: each key is read
 * at once, alone.
 *
 * Two callers asking for one key in the same turn share its read. A caller
 * never shares a read already sent: what it gets was read after it asked,
 * so a cache that records what was read (with the epoch it saw before
 * asking) never keeps a value from before a change it was told of.
 */
import type { Dialect } from './index.js';

/** At most this many keys in one query. */
const MAX_KEYS = 500;

export function batchedReads<V>(dialect: Dialect, loadMany: (keys: string[]) => Promise<Map<string, V>>): (key: string) => Promise<V | undefined> {
  if (dialect === 'sqlite') return async (key) => (await loadMany([key])).get(key);
  /** Keys asked for this turn, not yet sent, and each one's waiters. */
  let pending = new Map<string, { resolve(v: V | undefined): void; reject(err: unknown): void }[]>();
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const batch = pending;
    pending = new Map();
    const keys = [...batch.keys()];
    for (let i = 0; i < keys.length; i += MAX_KEYS) {
      const chunk = keys.slice(i, i + MAX_KEYS);
      loadMany(chunk).then(
        (found) => {
          for (const key of chunk) for (const w of batch.get(key)!) w.resolve(found.get(key));
        },
        (err: unknown) => {
          for (const key of chunk) for (const w of batch.get(key)!) w.reject(err);
        },
      );
    }
  };
  return (key) => {
    // PostgreSQL text cannot hold a NUL, so no row has such a key; sent, it would fail the query of every key asked for with it.
    if (key.includes('\u0000')) return Promise.resolve(undefined);
    return new Promise<V | undefined>((resolve, reject) => {
      const waiters = pending.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else pending.set(key, [{ resolve, reject }]);
      if (!scheduled) {
        scheduled = true;
        // After the turn: the keys its handlers ask for join this query.
        setImmediate(flush);
      }
    });
  };
}
