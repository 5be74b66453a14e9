/**
 * Cluster mode: several nodes share one PostgreSQL database and one NATS
 * server (`--database-url postgres://… --nats-url nats://…`), behind a TCP or
 * TLS load balancer. NATS carries the bus (every node sees the whole fleet)
 * and CSMS→station calls to whichever node holds the station's socket;
 * PostgreSQL is the store and elects the node that runs the fleet-wide
 * detectors. Without `--nats-url` none of this exists and a node stands alone.
 */
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Bus, BusEvent, BusHandler, Topic } from '../bus/index.js';
import { createNatsBus } from '../bus/nats.js';
import type { Gateway } from '../ocpp/index.js';
import { redactUrl } from '../store/index.js';
import { clusterErrors } from './errors.js';
import { holdLeadership, type Leadership } from './leader.js';
import { createRouter, type Calls, type Router } from './router.js';
import { createPresence, type Presence, type StationPresence } from './presence.js';

export { clusterErrors } from './errors.js';
export { stationSubject, type Calls } from './router.js';
export type { StationPresence } from './presence.js';

export interface ClusterConfig {
  readonly natsUrl: string;
  readonly databaseUrl?: string;
  /** Subject namespace and lock name; nodes of one cluster share it, two clusters on one NATS must not. */
  readonly name: string;
  readonly nodeId: string;
  readonly callTimeoutMs: number;
  /** Fault injection: topics this node ignores from other nodes (config `clusterDropTopics`). */
  readonly dropTopics?: readonly string[];
}

export interface Cluster {
  /** This process's unique id on the cluster (nodeId plus a random suffix). */
  readonly instance: string;
  readonly bus: Bus;
  readonly nc: NatsConnection;
  isLeader(): boolean;
  /**
   * The bus as seen by a fleet-wide singleton (detectors, grid guard): events
   * reach its subscribers only while this node holds the lead, so each event
   * is judged once across the cluster.
   */
  leaderBus(): Bus;
  /**
   * The bus as every node sees it, whether or not it leads: for state each
   * node must mirror (lock-outs, the live alert stream). Same object as `bus`.
   */
  fleetBus(): Bus;
  /** Starts answering routed calls for this node's stations and announcing them; returns the cluster-wide call path. */
  attach(gateway: Gateway): Router;
  /** The station's holder on another node (after attach), for the API's `connected`; local sessions are the gateway's. */
  presence(stationId: string): StationPresence | undefined;
  close(): Promise<void>;
}

export interface ClusterDeps {
  log?: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
  onBusError?: (err: unknown, event: BusEvent) => void;
}

export async function startCluster(config: ClusterConfig, deps: ClusterDeps = {}): Promise<Cluster> {
  if (!/^nats(\+tls)?:\/\/|^tls:\/\//.test(config.natsUrl)) throw clusterErrors.CLUSTER_CONFIG_INVALID(`--nats-url must start with nats:// or tls:// (got ${redactUrl(config.natsUrl)})`);
  if (!config.databaseUrl) throw clusterErrors.CLUSTER_CONFIG_INVALID('cluster mode (--nats-url) needs a shared PostgreSQL database: add --database-url postgres://…');
  const url = new URL(config.natsUrl.replace(/^nats\+tls:/, 'tls:'));
  const server = `${url.protocol === 'tls:' ? 'tls://' : ''}${url.hostname}:${url.port || 4222}`;
  const instance = `${config.nodeId}-${randomBytes(4).toString('hex')}`;
  const nc = await connect({
    servers: server,
    name: `evguard ${instance}`,
    user: url.username ? decodeURIComponent(url.username) : undefined,
    pass: url.password ? decodeURIComponent(url.password) : undefined,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  }).catch((err: Error) => {
    throw clusterErrors.CLUSTER_UNAVAILABLE(`cannot connect to NATS at ${redactUrl(config.natsUrl)}: ${err.message}`, { cause: err });
  });
  const log = deps.log;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect') log?.warn({ nats: s.type }, 'NATS connection changed');
    }
  })().catch(() => undefined);

  let bus: Bus;
  let leadership: Leadership;
  try {
    bus = await createNatsBus({ nc, namespace: config.name, origin: instance, onError: deps.onBusError, dropTopics: config.dropTopics });
    if (config.dropTopics?.length) log?.warn({ dropTopics: config.dropTopics }, 'fault injection: this node ignores these topics from other nodes');
    leadership = await holdLeadership({
      databaseUrl: config.databaseUrl,
      key: `evguard-cluster-lead:${config.name}`,
      onChange: (leader) => log?.info({ instance, leader }, leader ? 'this node runs the fleet-wide detectors' : 'this node no longer leads'),
      onError: (err) => log?.warn({ err }, 'leadership check failed'),
    });
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw err instanceof Error && 'code' in err ? err : clusterErrors.CLUSTER_UNAVAILABLE(`cluster start failed: ${(err as Error).message}`, { cause: err });
  }
  let router: Router | undefined;
  let presence: Presence | undefined;

  return {
    instance,
    bus,
    nc,
    isLeader: () => leadership.isLeader(),
    leaderBus() {
      return {
        publish: (topic, data, stationId) => bus.publish(topic, data, stationId),
        // One wrapper for topics and patterns alike: the bus beneath delivers what the caller's overload promised.
        subscribe: (pattern: string, handler: BusHandler) => bus.subscribe(pattern as Topic, (e) => (leadership.isLeader() ? handler(e) : undefined)),
        close: async () => undefined,
      };
    },
    fleetBus: () => bus,
    attach(gateway) {
      if (router) return router;
      const here = (s: { version: string; connectedAt: string; remoteAddress: string }): StationPresence => ({ ocppVersion: s.version, connectedSince: s.connectedAt, remoteAddress: s.remoteAddress, node: config.nodeId });
      const p = (presence = createPresence({
        nc,
        namespace: config.name,
        instance,
        local: () => [...gateway.sessions()].map((s): [string, StationPresence] => [s.stationId, here(s)]),
        onError: (err) => log?.warn({ err }, 'station presence update failed'),
      }));
      const inner = createRouter({ nc, namespace: config.name, gateway, callTimeoutMs: config.callTimeoutMs, onError: (err) => log?.warn({ err }, 'routed call failed') });
      router = {
        ...inner,
        held(stationId) {
          inner.held(stationId);
          const s = gateway.session(stationId);
          if (s) p.up(stationId, here(s));
        },
        released(stationId) {
          inner.released(stationId);
          if (!gateway.session(stationId)) p.down(stationId);
        },
      };
      return router;
    },
    presence: (stationId) => presence?.get(stationId),
    async close() {
      presence?.close();
      router?.close();
      await bus.close();
      await leadership.close();
      await nc.drain().catch(() => nc.close());
    },
  };
}

/** The call path on a node without a cluster: its own gateway. */
export function localCalls(gateway: Gateway): Calls {
  return { call: (...a) => gateway.call(...a), disconnect: (...a) => gateway.disconnect(...a) };
}
