/**
 * The grid guard's ledger: every decision's effect on the guard's state (ramp
 * accounting, reservations of headroom, booked schedule step-ups, the mass
 * action log) is an entry, applied to the guard's in-memory state.
 *
 * On one node the ledger is that memory. In a cluster each node keeps a replica
 * and the decisions are made one at a time across the cluster: under a
 * PostgreSQL transaction-level advisory lock a node first applies every entry
 * other nodes appended since its last turn (`grid_guard_log`, in id order),
 * then decides, then appends its own entries, then commits (which releases the
 * lock). So two operators on two nodes can never together pass what the guard
 * would refuse to one: the second decision sees the first's ramp, reservation
 * and booking.
 *
 * Why PostgreSQL rows under a lock rather than a JetStream key-value bucket
 * with compare-and-set: under a mass start every command contends for the same
 * keys (the fleet's and the site's ramp). With compare-and-set, N concurrent
 * writers lose and retry — O(N²) round trips, and no fairness, just when the
 * guard matters most; and one decision touches several keys (site, feeder,
 * fleet, reservation, booking), which a key-value bucket cannot update
 * atomically. The advisory lock queues the decisions in PostgreSQL (each one
 * a few milliseconds: one read of new entries, one insert), in arrival order,
 * with the multi-level update atomic. Within a node decisions are queued in
 * memory and decided together at the node's next turn, so a mass start holds
 * one database connection, not the pool, and pays the lock's round trips once
 * per batch.
 */
import type { Database } from '../store/index.js';
import { createGuardLog } from './store.js';
import type { RampLevel } from './ramp.js';
import type { RampStep, StepPoint } from './schedule.js';

export type LedgerEntry =
  | { k: 'ramp'; levels: RampLevel[]; deltaW: number; startMs: number }
  | { k: 'reserve'; stationId: string; w: number; untilMs: number; kind: 'start' | 'limit' }
  | { k: 'mass'; stationId: string; atMs: number }
  | { k: 'book'; stationId: string; key: string; points: StepPoint[]; ups: RampStep[] }
  | { k: 'clear'; stationId: string; id?: string };

export interface Decision<T> {
  value: T;
  entries: LedgerEntry[];
}

export interface Ledger {
  /**
   * Runs `decide` (synchronous, may throw to refuse) with every other node's
   * entries applied first, then applies its entries here and shares them.
   */
  run<T>(decide: () => Decision<T>): Promise<T>;
}

/** One node: the guard's memory is the whole ledger. */
export function localLedger(apply: (e: LedgerEntry) => void): Ledger {
  return {
    async run(decide) {
      const d = decide();
      for (const e of d.entries) apply(e);
      return d.value;
    },
  };
}

/** Entries older than this are deleted (a booking further ahead is re-sent by its profile's next change, or lost with the old rows). */
const RETENTION_MS = 24 * 3600_000;
const PRUNE_EVERY_MS = 60_000;

/** Cluster mode: decisions serialised across nodes by a PostgreSQL advisory lock, state shared through `grid_guard_log`. */
export function sharedLedger(o: { database: Database; lockKey: string; origin: string; apply(e: LedgerEntry): void; now?: () => number }): Ledger {
  const guardLog = createGuardLog(o.database);
  const now = o.now ?? Date.now;
  let last = 0;
  let prunedAt = 0;
  /** Decisions waiting for this node's next turn under the lock. */
  let waiting: { decide: () => Decision<unknown>; resolve(v: unknown): void; reject(e: unknown): void }[] = [];
  let busy = false;

  /**
   * One turn under the cluster-wide lock decides every command that queued on
   * this node meanwhile, in order, each seeing the ones before it: under a
   * mass start a turn costs five round trips for many decisions, not for each.
   */
  async function turn(batch: typeof waiting) {
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    await guardLog.turn(o.lockKey, async (log) => {
      const rows = await log.since(last);
      for (const r of rows) {
        last = Math.max(last, r.id);
        if (r.origin === o.origin) continue;
        try {
          o.apply(JSON.parse(r.entry) as LedgerEntry);
        } catch {
          // A row this version cannot read is skipped, never fatal to the guard.
        }
      }
      const entries: LedgerEntry[] = [];
      for (const w of batch) {
        try {
          const d = w.decide();
          // Applied at once, so the next decision in the batch sees it.
          for (const e of d.entries) o.apply(e);
          entries.push(...d.entries);
          outcomes.push({ ok: true, value: d.value });
        } catch (error) {
          outcomes.push({ ok: false, error });
        }
      }
      const at = now();
      for (let i = 0; i < entries.length; i += 500) {
        const ids = await log.append(entries.slice(i, i + 500).map((e) => ({ origin: o.origin, atMs: at, entry: JSON.stringify(e) })));
        for (const id of ids) last = Math.max(last, id);
      }
      if (at - prunedAt > PRUNE_EVERY_MS) {
        prunedAt = at;
        await log.prune(at - RETENTION_MS);
      }
    });
    batch.forEach((w, i) => {
      const r = outcomes[i]!;
      if (r.ok) w.resolve(r.value);
      else w.reject(r.error);
    });
  }

  async function drain() {
    if (busy) return;
    busy = true;
    try {
      while (waiting.length) {
        const batch = waiting;
        waiting = [];
        // A failed turn (database gone) refuses its whole batch: no command passes unjudged.
        await turn(batch).catch((err) => batch.forEach((w) => w.reject(err)));
      }
    } finally {
      busy = false;
    }
  }

  return {
    run<T>(decide: () => Decision<T>) {
      return new Promise<T>((resolve, reject) => {
        waiting.push({ decide, resolve: resolve as (v: unknown) => void, reject });
        void drain();
      });
    },
  };
}
