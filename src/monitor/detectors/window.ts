/**
 * Bounded per-key state for detectors. Hostile input can invent any number of
 * station ids and addresses, so every map here has a ceiling and forgets its
 * oldest keys first.
 */
export const MAX_KEYS = 50_000;

export class BoundedMap<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly limit = MAX_KEYS) {}

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  set(key: string, value: V): void {
    // Re-insert so the key counts as fresh for eviction.
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.limit) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
    }
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  get size(): number {
    return this.map.size;
  }
}

/** Counts events per key inside a sliding time window. */
export class EventWindow {
  private readonly hits: BoundedMap<number[]>;
  constructor(limit = MAX_KEYS, private readonly maxPerKey = 1000) {
    this.hits = new BoundedMap(limit);
  }

  /** Records `weight` events at `nowMs` and returns how many fall inside the window (at most `maxPerKey`). */
  hit(key: string, nowMs: number, windowMs: number, weight = 1): number {
    const kept = (this.hits.get(key) ?? []).filter((t) => t > nowMs - windowMs && t <= nowMs);
    for (let i = Math.min(weight, this.maxPerKey); i > 0; i--) kept.push(nowMs);
    if (kept.length > this.maxPerKey) kept.splice(0, kept.length - this.maxPerKey);
    this.hits.set(key, kept);
    return kept.length;
  }

  clear(key: string): void {
    this.hits.delete(key);
  }
}
