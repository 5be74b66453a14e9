/**
 * The event bus: every persisted state change is published here, and
 * detectors, the API's live streams and the console follow it. In-process by
 * default; cluster mode swaps in a NATS-backed implementation of the same API.
 */
export interface BusEvent<T = unknown> {
  /** Dotted topic, e.g. `station.connected`, `transaction.updated`, `security.event`. */
  readonly topic: string;
  readonly stationId?: string;
  readonly at: string;
  readonly data: T;
}

export type BusHandler = (event: BusEvent) => void;

export interface Bus {
  publish<T>(topic: string, data: T, stationId?: string): void;
  /** Subscribes to a topic, or to every topic with `*`, or a prefix with `security.*`. Returns an unsubscribe function. */
  subscribe(pattern: string, handler: BusHandler): () => void;
  close(): Promise<void>;
}

export function createLocalBus(onError: (err: unknown, event: BusEvent) => void = () => {}): Bus {
  const patterns = new Map<string, Set<BusHandler>>();
  return {
    publish(topic, data, stationId) {
      const event: BusEvent = { topic, stationId, at: new Date().toISOString(), data };
      for (const [pattern, handlers] of patterns) {
        if (!matches(pattern, topic)) continue;
        for (const h of handlers) {
          // A failing subscriber must not break the publisher or its siblings.
          try {
            h(event);
          } catch (err) {
            onError(err, event);
          }
        }
      }
    },
    subscribe(pattern, handler) {
      let set = patterns.get(pattern);
      if (!set) patterns.set(pattern, (set = new Set()));
      set.add(handler);
      return () => {
        set!.delete(handler);
        if (set!.size === 0) patterns.delete(pattern);
      };
    },
    async close() {
      patterns.clear();
    },
  };
}

export function matches(pattern: string, topic: string): boolean {
  if (pattern === '*' || pattern === topic) return true;
  return pattern.endsWith('.*') && topic.startsWith(pattern.slice(0, -1));
}
