/**
 * Change events of security-relevant state. Each module that owns such state
 * publishes one of these after its store has written the change; every cache
 * of that state (on this node, and in cluster mode on every node, since the
 * bus is NATS there) drops or refreshes its entry when it hears one.
 *
 * A bus message can be lost (a node cut off from NATS, a dropped subject), so
 * the events are the fast path only: no cache of this state trusts an entry
 * longer than STALE_BOUND_MS, and every node re-checks its live station
 * sessions against the store at that interval. A lost message therefore
 * delays a revocation by at most that bound; it never keeps it open.
 */
import type { Bus } from './index.js';
import type { ChangeEvents, TopicMap } from './events.js';

/** How long any node may act on a cached copy of security-relevant state (docs/cluster.md). */
export const STALE_BOUND_MS = 3_000;

export type { ApiTokenChanged, CertificateRevoked, ChangeEvents, GridLimitsChanged, IndicatorsChanged, LockoutChanged, StationChanged } from './events.js';

export type ChangeTopic = keyof ChangeEvents;

export function publishChange<K extends ChangeTopic>(bus: Bus, topic: K, data: TopicMap[K], stationId?: string): void {
  bus.publish(topic, data, stationId);
}

/**
 * Follows one change topic. Payloads from other nodes arrive over NATS and are
 * checked by the handler (a malformed one must not throw into the bus).
 */
export function onChange<K extends ChangeTopic>(bus: Bus, topic: K, handler: (data: Partial<TopicMap[K]>) => void): () => void {
  return bus.subscribe(topic, (e) => {
    if (e.data && typeof e.data === 'object') handler(e.data);
  });
}

/**
 * A cache whose entries expire after `ttlMs` and which never holds more than
 * `maxEntries` (the oldest go first): hostile input can invent any number of
 * keys, and no entry outlives the staleness bound.
 */
export class BoundedCache<V> {
  readonly #map = new Map<string, { value: V; at: number }>();
  #epoch = 0;
  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The entry, or undefined when absent or older than the bound. */
  get(key: string): V | undefined {
    const hit = this.#map.get(key);
    if (!hit) return undefined;
    if (this.now() - hit.at >= this.ttlMs) {
      this.#map.delete(key);
      return undefined;
    }
    return hit.value;
  }

  /**
   * Counts invalidations. A reader that fills the cache from the store takes
   * it before its read and passes it to `set`: a change that landed while the
   * read was in flight bumps it, and the possibly stale value is not kept.
   */
  get epoch(): number {
    return this.#epoch;
  }

  /** The cache's clock, for `set`'s `readAt`. */
  clock(): number {
    return this.now();
  }

  /**
   * `readAt`: when the read began (`now()` before it). The entry's age counts from then, not from its
   * answer: a change made while the read was in flight, its announcement lost, is in force within the
   * bound of the change.
   */
  set(key: string, value: V, readAtEpoch?: number, readAt?: number): void {
    if (readAtEpoch !== undefined && readAtEpoch !== this.#epoch) return;
    this.#map.delete(key);
    this.#map.set(key, { value, at: readAt ?? this.now() });
    while (this.#map.size > this.maxEntries) this.#map.delete(this.#map.keys().next().value!);
  }

  delete(key: string): void {
    this.#epoch++;
    this.#map.delete(key);
  }

  clear(): void {
    this.#epoch++;
    this.#map.clear();
  }

  get size(): number {
    return this.#map.size;
  }
}
