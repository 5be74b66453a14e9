/**
 * The event bus: every persisted state change is published here, and
 * detectors, the API's live streams and the console follow it. In-process by
 * default; cluster mode swaps in a NATS-backed implementation of the same API.
 * Typed by `TopicMap` (src/bus/events.ts): a topic's payload is known to both
 * sides without a cast.
 */
import type { Topic, TopicMap } from './events.js';

export type { Topic, TopicMap };

export interface BusEvent<T = unknown> {
  /** Dotted topic, e.g. `station.connected`, `transaction.updated`, `security.event`. */
  readonly topic: string;
  readonly stationId?: string;
  readonly at: string;
  readonly data: T;
}

export type BusHandler = (event: BusEvent) => void;

/** Every topic (`*`) or every topic under a prefix (`security.*`). */
export type TopicPattern = '*' | `${string}.*`;

export interface Bus {
  publish<K extends Topic>(topic: K, data: TopicMap[K], stationId?: string): void;
  /** Subscribes to one topic, its payload typed by `TopicMap`. Returns an unsubscribe function. */
  subscribe<K extends Topic>(topic: K, handler: (event: BusEvent<TopicMap[K]>) => void): () => void;
  /** Subscribes to every topic with `*`, or to a prefix with `security.*`. */
  subscribe(pattern: TopicPattern, handler: BusHandler): () => void;
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
    subscribe(pattern: string, handler: BusHandler) {
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

/** Narrows an event taken from a pattern or shared handler to one topic's payload type. */
export function isTopic<K extends Topic>(event: BusEvent, topic: K): event is BusEvent<TopicMap[K]> {
  return event.topic === topic;
}

export function matches(pattern: string, topic: string): boolean {
  if (pattern === '*' || pattern === topic) return true;
  return pattern.endsWith('.*') && topic.startsWith(pattern.slice(0, -1));
}
