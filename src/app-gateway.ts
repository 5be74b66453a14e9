/**
 * Part of the composition root (app.ts): the OCPP gateway of a node, with
 * its hooks bound to the modules: what a station's CALL reaches (the
 * dispatch over the modules' domain), what a connection, a disconnection or
 * a misbehaving peer tells the modules, and the grid guard before every
 * command sent.
 */
import type { Config } from './config.js';
import type { Bus } from './bus/index.js';
import { Topics, type SecurityEvent } from './bus/events.js';
import type { Cluster } from './cluster/index.js';
import type { Router } from './cluster/router.js';
import type { Metrics } from './metrics.js';
import { createDispatch } from './ocpp/dispatch.js';
import { createGateway, type Gateway } from './ocpp/index.js';
import type { Stations } from './stations/index.js';
import type { Transactions } from './transactions/index.js';
import type { Monitor } from './monitor/index.js';
import type { Grid } from './grid/index.js';
import type { CertificateLifecycle, Trust } from './trust/index.js';
import type { plugAndChargeHooks } from './trust/ocpp.js';
import type { createEnforcement } from './intel/node.js';

export interface NodeGatewayParts {
  config: Config;
  bus: Bus;
  metrics: Metrics;
  stations: Stations;
  transactions: Transactions;
  monitor: Monitor;
  certificates: CertificateLifecycle;
  plugAndCharge: ReturnType<typeof plugAndChargeHooks>;
  enforcement: ReturnType<typeof createEnforcement>;
  grid: Grid;
  securityEvent(e: Omit<SecurityEvent, 'timestamp' | 'source' | 'critical'>): void;
  /** The cluster's router once attached (it needs the gateway first). */
  router(): Router | undefined;
  clustered: boolean;
}

export function createNodeGateway(p: NodeGatewayParts): Gateway {
  const { config, bus, metrics, stations, monitor, enforcement, securityEvent } = p;
  const dispatch = createDispatch({
    ...stations.domain, ...p.plugAndCharge,
    transactionEvent: (ctx, e) => p.transactions.event(ctx, e),
    securityEvent: async (ctx, r) => {
      metrics.securityEvent(r.type, 'station');
      await monitor.recordSecurityEvent({ stationId: ctx.stationId, type: r.type, source: 'station', critical: monitor.isCritical(r.type, ctx.version), techInfo: r.techInfo, remoteAddress: ctx.remoteAddress, timestamp: r.timestamp });
    },
    signCertificate: (ctx, req) => p.certificates.signCertificate(ctx, req),
  }, { admit: (ctx, action) => stations.admit(ctx, action), observe: (action, version) => metrics.call(action, version) });
  return createGateway({
    authenticate: stations.authenticate, dispatch,
    heldElsewhere: p.clustered ? (id, ms) => p.router()!.heldElsewhere(id, ms) : undefined,
    duplicateRefused: (f) => securityEvent({ stationId: f.stationId, remoteAddress: f.remoteAddress, type: 'DuplicateIdentity', techInfo: 'second authenticated connection refused while the first is alive' }),
    handshake: (facts, result) => metrics.handshake(facts, result),
    connected(ctx) {
      metrics.stationConnected();
      stations.sessions.started(ctx);
      p.router()?.held(ctx.stationId);
      void stations.registry.touch(ctx.stationId, ctx.version).catch(() => undefined);
      enforcement.stationConnected(ctx.stationId, ctx.remoteAddress);
      bus.publish(Topics.stationConnected, { stationId: ctx.stationId, ocppVersion: ctx.version, securityProfile: ctx.securityProfile, remoteAddress: ctx.remoteAddress, nodeId: config.nodeId }, ctx.stationId);
    },
    disconnected(ctx, code, reason) {
      metrics.stationDisconnected();
      stations.sessions.ended(ctx);
      p.router()?.released(ctx.stationId);
      bus.publish(Topics.stationDisconnected, { stationId: ctx.stationId, code, reason }, ctx.stationId);
    },
    misbehaved: (ctx, kind, detail, occurrences) => securityEvent({ stationId: ctx.stationId, remoteAddress: ctx.remoteAddress, type: kind, techInfo: detail, occurrences }),
    beforeCall: (ctx, action, payload) => p.grid.beforeCall(ctx, action, payload),
  }, { ...config.ocpp, nodeId: config.nodeId });
}

/** Where a station is connected: this node's session, else (cluster mode) the node that announced it. */
export function presenceOf(node: Gateway, nodeId: string, cluster: Pick<Cluster, 'presence'> | undefined) {
  return (id: string) => {
    const s = node.session(id);
    return s ? { ocppVersion: s.version, connectedSince: s.connectedAt, remoteAddress: s.remoteAddress, node: nodeId } : cluster?.presence(id);
  };
}

/** A revoked certificate ends the profile 3 session it admitted, on whichever node learns of it (event or store re-read). */
export function endRevokedSessions(trust: Pick<Trust, 'onRevocation'>, node: Gateway): () => void {
  return trust.onRevocation(({ stationId }) => {
    if (stationId && node.session(stationId)?.securityProfile === 3) void node.disconnect(stationId, 1008, 'Certificate revoked');
  });
}
