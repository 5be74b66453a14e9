/**
 * The composition root: builds every module from the config and wires them
 * together. Nothing else in the code base knows how the pieces connect, and
 * nothing here decides anything: each behaviour lives in its module.
 *
 * The gateway is built last, because its hooks are the domain; the modules
 * that reach stations (commands, sessions) do so only at run time, through
 * closures over it. The gateway's hooks (app-gateway.ts), the API's route
 * table (app-routes.ts) and the firmware module's bindings (app-firmware.ts)
 * are parts of this root, in files of their own.
 */
import path from 'node:path';
import { pino, type Logger } from 'pino';
import type { Config } from './config.js';
import { migrate, openDatabase, type Database } from './store/index.js';
import { createLocalBus, type Bus, type BusEvent } from './bus/index.js';
import { localCalls, startCluster, type Calls } from './cluster/index.js';
import { type SecurityEvent } from './bus/events.js';
import { STALE_BOUND_MS } from './bus/changes.js';
import { containRejections } from './ocpp/faults.js';
import { stationCommands } from './ocpp/commands/index.js';
import { type Gateway } from './ocpp/index.js';
import { isOcppVersion } from './model/ocpp-version.js';
import { createStations, stationsMigrations, type Stations } from './stations/index.js';
import { createTransactions, transactionsMigrations, type Transactions } from './transactions/index.js';
import { apiMigrations, createAuditLog } from './api/index.js';
import { createTrust, trustMigrations, type Trust } from './trust/index.js';
import { plugAndChargeHooks } from './trust/ocpp.js';
import { createMonitor, createStationActions, monitorMigrations, type Monitor } from './monitor/index.js';
import { createGrid, createOpenAdrVen, gridMigrations, type Grid } from './grid/index.js';
import { checkSignedMeterValue, createMeterKeys, meterMigrations } from './meters/index.js';
import { createMetrics } from './metrics.js';
import { recordIdentity } from './node-identity.js';
import { createIntel, intelMigrations, type Intel } from './intel/index.js';
import { firmwareMigrations, type Firmware } from './firmware/index.js';
import { followOperations } from './oplog.js';
import { createEnforcement, intelConfigFor, startIndicatorRefresh, startSharing } from './intel/node.js';
import { listenAll, publicUrlOf, type Listeners } from './listeners.js';
import { refreshEvery } from './refresh.js';
import { createNodeGateway, endRevokedSessions, presenceOf } from './app-gateway.js';
import { createNodeApi } from './app-routes.js';
import { createNodeFirmware } from './app-firmware.js';

export const VERSION = '0.1.0';

export interface App {
  readonly config: Config;
  readonly database: Database;
  readonly bus: Bus;
  readonly gateway: Gateway;
  readonly stations: Stations;
  readonly transactions: Transactions;
  readonly trust: Trust;
  readonly monitor: Monitor;
  readonly grid: Grid;
  readonly intel: Intel;
  readonly firmware: Firmware;
  readonly log: Logger;
  /** Ports actually bound (useful with port 0). */
  readonly ports: { http: number; https?: number };
  /** Set only when this start generated the admin token. */
  readonly generatedAdminToken?: string;
  close(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  /** Bind both listeners to ephemeral ports (tests); `config.tlsPort: 0` still disables TLS. */
  ephemeralPorts?: boolean;
}

/** Every module's migrations: the one schema of a node (the migrator refuses a partial set on a node's database). */
export function nodeMigrations() {
  return { ...stationsMigrations, ...transactionsMigrations, ...apiMigrations, ...trustMigrations, ...monitorMigrations, ...intelMigrations, ...gridMigrations, ...firmwareMigrations, ...meterMigrations };
}

export async function startApp(config: Config, opts: StartOptions = {}): Promise<App> {
  const log = opts.log ?? pino({ level: config.logLevel });
  recordIdentity(config);
  const database = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, onConnectionError: (err) => log.warn({ err }, 'PostgreSQL closed a connection; the pool opens a new one') });
  // A node that cannot migrate does not start: it lets go of its connections (or file) first.
  await migrate(database, nodeMigrations()).catch(async (err: unknown) => {
    await database.close().catch(() => undefined);
    throw err;
  });
  const onBusError = (err: unknown, event: BusEvent) => log.error({ err, topic: event.topic }, 'bus subscriber failed');
  // Cluster mode: NATS carries the bus to every node and routes calls to the node holding each station (docs/cluster.md).
  const cluster = config.natsUrl
    ? await startCluster({ natsUrl: config.natsUrl, databaseUrl: config.databaseUrl, name: config.clusterName, nodeId: config.nodeId, callTimeoutMs: config.ocpp.callTimeoutMs, dropTopics: config.clusterDropTopics }, { log, onBusError })
    : undefined;
  const bus = cluster?.bus ?? createLocalBus(onBusError);
  // In a cluster the fleet-wide work (detectors, sharing, campaigns) runs on the node holding the lead, over every node's events.
  const leaderBus = cluster?.leaderBus() ?? bus;
  const stopOperationalLog = followOperations(bus, log);
  const metrics = createMetrics({ version: VERSION, nodeId: config.nodeId });
  const unfollowMetrics = metrics.follow(bus);
  metrics.followDatabase(database.groupCommit);
  const trust = await createTrust({ db: database, bus, log }, { dataDir: config.dataDir, organization: config.organization, hostnames: [...config.hostnames], keyPassphrase: config.keyPassphrase, serverCertFile: config.tlsCertFile, serverKeyFile: config.tlsKeyFile, publicUrl: publicUrlOf(config) });
  await trust.ensureHierarchies();
  const audit = createAuditLog(database);
  const meterKeys = await createMeterKeys(database);

  // The transport, set once built (below). Commands go through the version adapters: `commands` over the call path
  // that reaches any node's stations, `localCommands` over this gateway for the grid's own profiles (its beforeCall sees them).
  let gateway: Gateway | undefined;
  const session = (id: string) => gateway?.session(id);
  const calls: Calls = { call: (...a) => (router ?? localCalls(gateway!)).call(...a), disconnect: (...a) => (router ?? localCalls(gateway!)).disconnect(...a) };
  const commands = stationCommands((id, action, payload, o) => calls.call(id, action, payload, o));
  const localCommands = stationCommands((id, action, payload, o) => gateway!.call(id, action, payload, o));
  const known = (v: string | undefined) => (isOcppVersion(v) ? v : undefined);

  const securityEvent = (e: Omit<SecurityEvent, 'timestamp' | 'source' | 'critical'>) => {
    metrics.securityEvent(e.type, 'csms');
    monitor.recordSecurityEvent({ ...e, source: 'csms', critical: false, timestamp: new Date().toISOString() }).catch((err) => log.error({ err }, 'security event not recorded'));
  };

  // Grid guard: every power-affecting command passes it in the gateway (beforeCall); resume profiles go through this node's gateway.
  const grid = await createGrid({
    db: database, bus, log, securityEvent, fleetSize: () => gateway?.count() ?? 0,
    commands: localCommands, versionOf: (id) => session(id)?.version,
    cluster: cluster ? { name: config.clusterName, origin: cluster.instance } : undefined,
    hasOpenTransaction: (id) => transactions.hasOpen(id),
  }, config.grid ?? {});
  const monitor = await createMonitor({
    db: database, bus: leaderBus, log,
    // Every node mirrors the lead's lock-outs (enforced at its own upgrade check) and streams its alerts.
    fleetBus: cluster?.fleetBus(),
    actions: createStationActions({
      commands, liveVersion: (id) => session(id)?.version,
      registeredVersion: cluster ? async (id) => known((await stations.registry.get(id)).ocppVersion) : undefined,
      setQuarantined: (id, q) => stations.registry.setQuarantined(id, q),
      revokeCertificates: async (id, reason) => { for (const c of trust.listCertificates({ stationId: id })) if (!c.revokedAt) await trust.revoke(c.serialHex, reason); },
      disconnect: (id, code, reason) => calls.disconnect(id, code, reason),
      audit: (entry) => audit.append(entry),
    }),
    lookups: { connectorMaxPowerW: (id) => grid.connectorMaxPowerW(id), meterPublicKey: (id, serial) => meterKeys.lookup(id, serial) },
  }, config.monitor ?? {});
  const ven = config.grid?.openadr ? createOpenAdrVen({ siteIds: () => grid.sites().map((s) => s.id), setDsoLimit: grid.setDsoLimit, log }, config.grid.openadr) : undefined;

  // Threat sharing: alerts out as STIX (from the lead node only); received indicators enforced at the edge.
  const intel = await createIntel({ db: database, bus, log }, intelConfigFor(config));
  const sharing = startSharing({ intel, bus: leaderBus, settings: config.intel, log });
  const enforcement = createEnforcement({ intel, securityEvent, log });
  const stopIndicatorRefresh = startIndicatorRefresh(intel, bus, STALE_BOUND_MS, log);

  const stations = createStations({
    database, bus, securityEvent, log,
    checkClientCertificate: (chain, stationId) => enforcement.certificate(chain, stationId) ?? trust.checkStationClientCertificate(chain, stationId),
    lockedOut: (t) => monitor.isLockedOut(t), slowedDown: (id) => monitor.slowedDown(id), blockedAddress: (address) => enforcement.blockedAddress(address),
    liveSessions: { get: session, close: (id, reason) => gateway!.disconnect(id, 1008, reason) },
  }, { heartbeatIntervalS: config.ocpp.heartbeatIntervalS, bootRetryIntervalS: config.ocpp.bootRetryIntervalS, allowUnknown: config.ocpp.allowUnknown });
  // A transaction's idToken may be a Plug & Charge EMAID: its contract decides.
  const plugAndCharge = plugAndChargeHooks(trust, (_ctx, req) => stations.idTokens.authorize(req.idToken));
  const transactions = createTransactions({
    database, bus, securityEvent,
    authorize: (t) => plugAndCharge.idTokenOrContract(t, (x) => stations.idTokens.authorize(x)),
    ratedPowerW: (id) => grid.connectorMaxPowerW(id),
    checkSigned: (id, signed) => checkSignedMeterValue(meterKeys, id, signed),
  }, config.transactions ?? {});
  const certificates = trust.certificateLifecycle({
    session, connectedStations: () => [...(gateway?.sessions() ?? [])].map((s) => s.stationId), commands,
    registeredProfile: async (id) => (await stations.registry.get(id)).securityProfile, securityEvent,
  }, { renewBeforeDays: config.certificates.renewBeforeDays, alertBeforeDays: config.certificates.alertBeforeDays, checkIntervalMs: config.certificates.checkIntervalS * 1000, retryAfterMs: config.certificates.retryAfterS * 1000 });

  const node = createNodeGateway({ config, bus, metrics, stations, transactions, monitor, certificates, plugAndCharge, enforcement, grid, securityEvent, router: () => router, clustered: !!cluster });
  gateway = node;
  // No peer's fault may end the process: a rejection raised on a connection closes that connection only.
  const releaseFaults = containRejections((reason) => node.containFault(reason), log);
  const router = cluster?.attach(node);
  const presence = presenceOf(node, config.nodeId, cluster);
  const unfollowRevocations = endRevokedSessions(trust, node);
  // Bounded staleness (src/bus/changes.ts): state another node changed is re-read at this interval, in case its change event was lost.
  const stopRefresh = refreshEvery(STALE_BOUND_MS, log, { revocations: () => trust.refreshRevocations(), lockouts: () => monitor.refreshLockouts(), gridLimits: () => grid.reloadLimits() });

  // Firmware: signed images, TUF release metadata, staged campaigns (advanced by the lead node); downloads only over HTTPS.
  let listeners: Listeners | undefined;
  const firmware = createNodeFirmware({
    config, database, bus: leaderBus, leads: cluster ? () => cluster.isLeader() : undefined, log, commands, stations, trust, enforcement,
    online: (id) => known(presence(id)?.ocppVersion), httpsPort: () => listeners?.ports.https,
  });

  const { api, plain, generatedAdminToken } = await createNodeApi({
    config, version: VERSION, log, httpsPort: () => listeners?.ports.https, bus, database, audit, metrics, node, stations, calls, presence, transactions, monitor, grid, meterKeys, trust, certificates, intel, firmware, session, commands,
  });
  const bound = await listenAll({ config, ephemeralPorts: opts.ephemeralPorts, plain, routing: (req, res) => api.routing(req, res), upgrade: (req, socket, head) => node.handleUpgrade(req, socket, head), trust, log, onTlsHandshake: metrics.tlsHandshake });
  listeners = bound;
  log.info({ event: 'node.started', nodeId: config.nodeId, ports: bound.ports, dataDir: path.resolve(config.dataDir), database: database.dialect }, 'evguard node started');

  return {
    config, database, bus, gateway: node, stations, transactions, trust, monitor, grid, intel, firmware, log, ports: bound.ports, generatedAdminToken,
    async close() {
      log.info({ event: 'node.stopping', sessions: node.count() }, 'evguard node stopping');
      // Stop taking work, close the sessions and listeners, then the modules, the bus and the database.
      const steps: (() => unknown)[] = [
        unfollowMetrics, () => firmware.close(), () => stations.sessions.close(), () => node.close(), releaseFaults, unfollowRevocations, () => api.close().catch(() => undefined), () => bound.close(),
        () => certificates.close(), () => ven?.close(), () => grid.close(), () => monitor.close(), stopIndicatorRefresh, stopRefresh, () => sharing.close(), () => enforcement.close(),
        () => bus.close(), () => cluster?.close(), () => database.close(), stopOperationalLog,
      ];
      for (const step of steps) await step();
      log.info({ event: 'node.stopped' }, 'evguard node stopped');
    },
  };
}
