/**
 * The event bus over NATS, for cluster mode: the same `Bus` API as the local
 * bus, but every event also goes to `<namespace>.bus.<topic>` so that every
 * node's subscribers see the whole fleet. A node delivers its own events
 * synchronously (as the local bus does) and skips them when NATS echoes them
 * back, so local ordering and semantics are unchanged.
 *
 * Security-relevant topics (security.*, alert.*, certificate.*, firmware.*) are
 * also captured by a JetStream stream, so the cluster keeps a replayable,
 * disk-backed log of them even while a node is down; core NATS carries the
 * live fan-out because a publisher must never wait on the bus.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { matches, type Bus, type BusEvent, type BusHandler } from './index.js';

export interface NatsBusOptions {
  nc: NatsConnection;
  /** Subject namespace shared by the nodes of one cluster, e.g. `evguard`. */
  namespace: string;
  /** Unique per process: a node recognises (and skips) its own events coming back. */
  origin: string;
  onError?: (err: unknown, event: BusEvent) => void;
  /** Keep security-relevant topics in a JetStream stream this long; 0 disables. Default 7 days. */
  durableMaxAgeMs?: number;
  /** Fault injection: events of these topics from other nodes are dropped, as if NATS had lost them. */
  dropTopics?: readonly string[];
}

/** Topic prefixes kept in JetStream: the security record of the fleet. */
export const DURABLE_TOPICS = ['security', 'alert', 'certificate', 'firmware'] as const;

/** A topic must be plain dotted tokens to become a NATS subject; anything else stays on this node. */
const TOPIC = /^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$/;

interface Wire {
  o: string;
  e: BusEvent;
}

export function streamName(namespace: string): string {
  return `${namespace.replace(/[^A-Za-z0-9_-]/g, '_')}_BUS`;
}

export async function createNatsBus(opts: NatsBusOptions): Promise<Bus> {
  const { nc, namespace, origin } = opts;
  const onError = opts.onError ?? (() => undefined);
  const prefix = `${namespace}.bus.`;
  const handlers = new Map<string, Set<BusHandler>>();
  const dropped = new Set(opts.dropTopics ?? []);

  const maxAgeMs = opts.durableMaxAgeMs ?? 7 * 24 * 3600_000;
  if (maxAgeMs > 0) {
    const jsm = await jetstreamManager(nc);
    const config = {
      name: streamName(namespace),
      subjects: DURABLE_TOPICS.map((t) => `${prefix}${t}.>`),
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: maxAgeMs * 1_000_000, // nanoseconds
    };
    // Every node starts the same way; the first creates the stream, the others find it.
    await jsm.streams.add(config).catch(async (err: unknown) => {
      const info = await jsm.streams.info(config.name).catch(() => undefined);
      if (!info) throw err;
    });
  }

  function deliver(event: BusEvent) {
    for (const [pattern, set] of handlers) {
      if (!matches(pattern, event.topic)) continue;
      for (const h of set) {
        // A failing subscriber must not break the publisher or its siblings.
        try {
          h(event);
        } catch (err) {
          onError(err, event);
        }
      }
    }
  }

  const sub: Subscription = nc.subscribe(`${prefix}>`, {
    callback(err, msg) {
      if (err) return onError(err, { topic: '(subscription)', at: new Date().toISOString(), data: undefined });
      let wire: Wire;
      try {
        wire = msg.json<Wire>();
      } catch (e) {
        return onError(e, { topic: msg.subject, at: new Date().toISOString(), data: undefined });
      }
      if (!wire || typeof wire !== 'object' || wire.o === origin) return;
      const e = wire.e;
      if (!e || typeof e.topic !== 'string' || typeof e.at !== 'string' || msg.subject !== prefix + e.topic) return;
      if (dropped.has(e.topic)) return;
      deliver({ topic: e.topic, stationId: typeof e.stationId === 'string' ? e.stationId : undefined, at: e.at, data: e.data });
    },
  });

  return {
    publish(topic, data, stationId) {
      const event: BusEvent = { topic, stationId, at: new Date().toISOString(), data };
      deliver(event);
      if (!TOPIC.test(topic)) return onError(new Error(`topic "${topic.slice(0, 80)}" is not a valid subject; delivered on this node only`), event);
      try {
        nc.publish(prefix + topic, JSON.stringify({ o: origin, e: event } satisfies Wire));
      } catch (err) {
        // NATS down or draining: this node's subscribers already have it; the others miss it.
        onError(err, event);
      }
    },
    subscribe(pattern: string, handler: BusHandler) {
      let set = handlers.get(pattern);
      if (!set) handlers.set(pattern, (set = new Set()));
      set.add(handler);
      return () => {
        set!.delete(handler);
        if (set!.size === 0) handlers.delete(pattern);
      };
    },
    async close() {
      handlers.clear();
      sub.unsubscribe();
    },
  };
}
