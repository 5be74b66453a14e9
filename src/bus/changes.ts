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

/** How long any node may act on a cached copy of security-relevant state (docs/cluster.md). */
export const STALE_BOUND_MS = 3_000;

/** A station's credentials, profile, registration or quarantine changed, or it was created or deleted. */
export interface StationChanged {
  stationId: string;
  change: 'created' | 'updated' | 'deleted';
}

/** An operator API token was revoked. */
export interface ApiTokenChanged {
  tokenId: string;
  change: 'revoked';
}

/** A lock-out set or lifted (src/monitor/responses.ts). */
export interface LockoutChanged {
  op: 'set' | 'lift';
  /** What it locks: a (station, address) pair, an address, or a station (slow-down only). */
  stationId?: string;
  remoteAddress?: string;
  mode?: 'refuse' | 'slow';
  id?: string;
  until?: string;
  reason?: string;
}

/** A certificate evguard issued was revoked (src/trust). */
export interface CertificateRevoked {
  serialHex: string;
  stationId?: string;
  kind?: string;
  reason?: string;
  revokedAt: string;
}

/** Enforced threat indicators changed (src/intel). */
export interface IndicatorsChanged {
  source: string;
  enforced: number;
  notEnforced: number;
}

/** The grid's sites, feeders or station assignments changed (src/grid). */
export interface GridLimitsChanged {
  kind: 'feeder' | 'site' | 'station';
  id: string;
}

/** Topic → payload of every change event. A payload never changes shape without a new topic. */
export interface ChangeEvents {
  'station.changed': StationChanged;
  'api-token.changed': ApiTokenChanged;
  'monitor.lockout': LockoutChanged;
  'certificate.revoked': CertificateRevoked;
  'intel.indicators.imported': IndicatorsChanged;
  'grid.limits.changed': GridLimitsChanged;
}

export type ChangeTopic = keyof ChangeEvents;

export function publishChange<K extends ChangeTopic>(bus: Bus, topic: K, data: ChangeEvents[K], stationId?: string): void {
  bus.publish(topic, data, stationId);
}

/**
 * Follows one change topic. Payloads from other nodes arrive over NATS and are
 * checked by the handler (a malformed one must not throw into the bus).
 */
export function onChange<K extends ChangeTopic>(bus: Bus, topic: K, handler: (data: Partial<ChangeEvents[K]>) => void): () => void {
  return bus.subscribe(topic, (e) => {
    if (e.data && typeof e.data === 'object') handler(e.data as Partial<ChangeEvents[K]>);
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

  set(key: string, value: V, readAtEpoch?: number): void {
    if (readAtEpoch !== undefined && readAtEpoch !== this.#epoch) return;
    this.#map.delete(key);
    this.#map.set(key, { value, at: this.now() });
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
