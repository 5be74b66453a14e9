/**
 * The composition root: builds every module from the config and wires them
 * together. Nothing else in the code base knows how the pieces connect.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import type { Config } from './config.js';
import { migrate, openDatabase, type Database } from './store/index.js';
import { createLocalBus, type Bus, type BusEvent } from './bus/index.js';
import { localCalls, startCluster, type Calls } from './cluster/index.js';
import { Topics, type SecurityEvent } from './bus/events.js';
import { STALE_BOUND_MS } from './bus/changes.js';
import { containRejections } from './ocpp/faults.js';
import { stationCommands } from './ocpp/commands/index.js';
import { isOcppVersion } from './model/ocpp-version.js';
import { createGateway, type Gateway, type StationDomain } from './ocpp/index.js';
import { createDispatch } from './ocpp/dispatch.js';
import { createStations, stationsMigrations, type Stations } from './stations/index.js';
import { createTransactions, transactionsMigrations, type Transactions } from './transactions/index.js';
import { apiMigrations, createApi, createAuditLog, createTokenStore } from './api/index.js';
import { stationRoutes } from './api/routes/stations.js';
import { transactionRoutes } from './api/routes/transactions.js';
import { adminRoutes } from './api/routes/admin.js';
import { consoleRoutes } from './api/console.js';
import { createTrust, trustMigrations, type Trust } from './trust/index.js';
import { lifecycleRoutes } from './trust/lifecycle-routes.js';
import { plugAndChargeHooks } from './trust/ocpp.js';
import { apiRoutes as trustApiRoutes, publicRoutes as trustPublicRoutes } from './trust/routes.js';
import { createMonitor, createStationActions, monitorMigrations, type Monitor } from './monitor/index.js';
import { monitorRoutes } from './monitor/routes.js';
import { createGrid, createOpenAdrVen, gridMigrations, type Grid } from './grid/index.js';
import { gridRoutes } from './grid/routes.js';
import { checkSignedMeterValue, createMeterKeys, meterKeyRoutes, meterMigrations } from './meters/index.js';
import { tlsOptions } from './tls.js';
import { createMetrics } from './metrics.js';
import { recordIdentity } from './node-identity.js';
import { createAssessment } from './assess/index.js';
import { assessRoutes } from './assess/routes.js';
import { createIntel, intelMigrations, type Intel } from './intel/index.js';
import { createFirmware, firmwareMigrations, type Firmware } from './firmware/index.js';
import { followOperations } from './oplog.js';
import { createEnforcement, intelConfigFor, startIndicatorRefresh, startSharing, taxiiAuth } from './intel/node.js';

export const VERSION = '0.1.0';
/**
 * A connection that never finishes its request headers (or its WebSocket
 * upgrade request) is dropped after 10 s instead of Node's 60–90 s: slow or
 * half-open connections must not pile up. Node checks these every
 * `connectionsCheckingInterval`. A whole request gets 2 min: a 64 MiB firmware
 * image at 5 Mbit/s; a JSON body is at most 1 MiB, and an upload streams to
 * disk, so a slow sender holds a socket, not memory.
 */
const SERVER_TIMEOUTS = { headersTimeout: 10_000, requestTimeout: 120_000, connectionsCheckingInterval: 1_000 } as const;

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
  await migrate(database, nodeMigrations());
  const onBusError = (err: unknown, event: BusEvent) => log.error({ err, topic: event.topic }, 'bus subscriber failed');
  // Cluster mode: NATS carries the bus to every node and routes calls to the node holding each station (docs/cluster.md).
  const cluster = config.natsUrl
    ? await startCluster({ natsUrl: config.natsUrl, databaseUrl: config.databaseUrl, name: config.clusterName, nodeId: config.nodeId, callTimeoutMs: config.ocpp.callTimeoutMs, dropTopics: config.clusterDropTopics }, { log, onBusError })
    : undefined;
  const bus = cluster?.bus ?? createLocalBus(onBusError);
  // One structured log line per operational event, from the bus (src/oplog.ts).
  const stopOperationalLog = followOperations(bus, log);

  const metrics = createMetrics({ version: VERSION, nodeId: config.nodeId });
  const unfollowMetrics = metrics.follow(bus);

  const trust = await createTrust({ db: database, bus, log }, {
    dataDir: config.dataDir,
    organization: config.organization,
    hostnames: [...config.hostnames],
    keyPassphrase: config.keyPassphrase,
    serverCertFile: config.tlsCertFile,
    serverKeyFile: config.tlsKeyFile,
    publicUrl: publicUrlOf(config),
  });
  await trust.ensureHierarchies();

  // Wired below, once the gateway exists: detectors act through the same command path operators use.
  let gateway!: Gateway;
  let stations!: Stations;
  /** The call path that reaches a station on any node of the cluster. */
  let calls!: Calls;
  const audit = createAuditLog(database);
  let grid!: Grid;
  // Commands to stations through the version adapters: `commands` over the call path that reaches any node's
  // stations; `localCommands` over this node's gateway, for the grid's own profiles (its beforeCall must see them).
  const commands = stationCommands((id, action, payload, o) => calls.call(id, action, payload, o));
  const localCommands = stationCommands((id, action, payload, o) => gateway.call(id, action, payload, o));
  // Registered meter public keys: the signedMeter detector verifies OCMF data against these, not the key the station sends.
  const meterKeys = await createMeterKeys(database);
  const monitor = await createMonitor(
    {
      db: database,
      // In a cluster the fleet-wide detectors run on the one node holding the lead, over every node's events.
      bus: cluster?.leaderBus() ?? bus,
      // Every node mirrors the lead's lock-outs (enforced at its own upgrade check) and streams its alerts.
      fleetBus: cluster?.fleetBus(),
      log,
      // Detectors act through the same command path operators use (src/monitor/responses.ts), audited as the monitor's.
      actions: createStationActions({
        commands,
        liveVersion: (id) => gateway.session(id)?.version,
        registeredVersion: cluster
          ? async (id) => {
            const v = (await stations.registry.get(id)).ocppVersion;
            return isOcppVersion(v) ? v : undefined;
          }
          : undefined,
        setQuarantined: (id, q) => stations.registry.setQuarantined(id, q),
        revokeCertificates: async (id, reason) => {
          for (const c of trust.listCertificates({ stationId: id })) if (!c.revokedAt) await trust.revoke(c.serialHex, reason);
        },
        disconnect: (id, code, reason) => calls.disconnect(id, code, reason),
        audit: (entry) => audit.append(entry),
      }),
      lookups: { connectorMaxPowerW: (stationId) => grid?.connectorMaxPowerW(stationId), meterPublicKey: (stationId, serial) => meterKeys.lookup(stationId, serial) },
    },
    config.monitor ?? {},
  );

  const securityEvent = (e: Omit<SecurityEvent, 'timestamp' | 'source' | 'critical'>) => {
    metrics.securityEvent(e.type, 'csms');
    monitor
      .recordSecurityEvent({ ...e, source: 'csms', critical: false, timestamp: new Date().toISOString() })
      .catch((err) => log.error({ err }, 'security event not recorded'));
  };

  // Grid guard: every power-affecting command passes it in the gateway (beforeCall below).
  grid = await createGrid({
    db: database, bus, log, securityEvent, fleetSize: () => (gateway ? [...gateway.sessions()].length : 0),
    // Randomised resume: profiles go out through the gateway's call path, so the guard's beforeCall sees them.
    commands: localCommands,
    versionOf: (id) => gateway?.session(id)?.version,
    // In a cluster every node's guard decides against one shared ledger (src/grid/ledger.ts).
    cluster: cluster ? { name: config.clusterName, origin: cluster.instance } : undefined,
    // Resume asks the transactions record whether a station had sessions (built below; asked only once stations reconnect).
    hasOpenTransaction: (id) => transactions.hasOpen(id),
  }, config.grid ?? {});
  const ven = config.grid?.openadr ? createOpenAdrVen({ siteIds: () => grid.sites().map((s) => s.id), setDsoLimit: grid.setDsoLimit, log }, config.grid.openadr) : undefined;

  // Threat sharing: alerts out as STIX into the `shared` TAXII collection; received indicators enforced at the edge.
  const intel = await createIntel({ db: database, bus, log }, intelConfigFor(config));
  // In a cluster every node hears every alert; only the lead node shares it, so it enters the collection once.
  const sharing = startSharing({ intel, bus: cluster?.leaderBus() ?? bus, settings: config.intel, log });
  const enforcement = createEnforcement({ intel, securityEvent, log });
  // Indicators another node (or `evguard intel pull`) imported: at once on its event, else within the bound.
  const stopIndicatorRefresh = startIndicatorRefresh(intel, bus, STALE_BOUND_MS, log);

  stations = createStations(
    {
      database,
      bus,
      securityEvent,
      checkClientCertificate: (chain, stationId) => enforcement.certificate(chain, stationId) ?? trust.checkStationClientCertificate(chain, stationId),
      lockedOut: (t) => monitor.isLockedOut(t),
      slowedDown: (id) => monitor.slowedDown(id),
      blockedAddress: (address) => enforcement.blockedAddress(address),
      // Each node closes the sessions it holds when their admission is revoked (src/stations/sessions.ts).
      liveSessions: { get: (id) => gateway?.session(id), close: (id, reason) => gateway.disconnect(id, 1008, reason) },
      log,
    },
    { heartbeatIntervalS: config.ocpp.heartbeatIntervalS, bootRetryIntervalS: config.ocpp.bootRetryIntervalS, allowUnknown: config.ocpp.allowUnknown },
  );
  // A transaction's idToken may be a Plug & Charge EMAID: its contract decides (plugAndCharge is built below, called later).
  const transactions = createTransactions({
    database, bus, securityEvent,
    authorize: (t) => plugAndCharge.idTokenOrContract(t, (x) => stations.idTokens.authorize(x)),
    // Readings above the station's rating (grid registry, else the plausibility default) are held out of billing and load.
    ratedPowerW: (id) => grid.connectorMaxPowerW(id),
    // Billing records carry each signed meter value's verification against the meter key registry.
    checkSigned: (id, signed) => checkSignedMeterValue(meterKeys, id, signed),
  }, config.transactions ?? {});

  // Certificate lifecycle over OCPP (CSR policy, renewal, trust store, inventory); sends through `calls`, which cluster mode routes.
  const certificates = trust.certificateLifecycle({
    session: (id) => gateway.session(id),
    connectedStations: () => [...gateway.sessions()].map((s) => s.stationId),
    commands,
    registeredProfile: async (id) => (await stations.registry.get(id)).securityProfile,
    securityEvent,
  }, {
    renewBeforeDays: config.certificates.renewBeforeDays,
    alertBeforeDays: config.certificates.alertBeforeDays,
    checkIntervalMs: config.certificates.checkIntervalS * 1000,
    retryAfterMs: config.certificates.retryAfterS * 1000,
  });
  // Plug & Charge: contract installation, OCSP status, and Authorize with contract data decided by trust.
  const plugAndCharge = plugAndChargeHooks(trust, (_ctx, req) => stations.idTokens.authorize(req.idToken));

  const domain: StationDomain = {
    ...stations.domain,
    ...plugAndCharge,
    // Stale timestamps are the transactions module's to judge (src/transactions).
    transactionEvent: (ctx, e) => transactions.event(ctx, e),
    async securityEvent(ctx, r) {
      metrics.securityEvent(r.type, 'station');
      await monitor.recordSecurityEvent({
        stationId: ctx.stationId,
        type: r.type,
        source: 'station',
        critical: monitor.isCritical(r.type, ctx.version),
        techInfo: r.techInfo,
        remoteAddress: ctx.remoteAddress,
        timestamp: r.timestamp,
      });
    },
    // Profile policy, then Accepted at once; the signed chain follows in CertificateSigned (OCPP A02).
    signCertificate: (ctx, req) => certificates.signCertificate(ctx, req),
  };


  gateway = createGateway(
    {
      authenticate: stations.authenticate,
      heldElsewhere: cluster ? (id, ms) => router!.heldElsewhere(id, ms) : undefined,
      duplicateRefused: (f) => securityEvent({ stationId: f.stationId, remoteAddress: f.remoteAddress, type: 'DuplicateIdentity', techInfo: 'second authenticated connection refused while the first is alive' }),
      // Each CALL to its version's adapter, after the admission check (src/ocpp/dispatch.ts).
      dispatch: createDispatch(domain, { admit: (ctx, action) => stations.admit(ctx, action), observe: (action, version) => metrics.call(action, version) }),
      handshake: (facts, result) => metrics.handshake(facts, result),
      connected(ctx) {
        metrics.stationConnected();
        stations.sessions.started(ctx);
        router?.held(ctx.stationId);
        void stations.registry.touch(ctx.stationId, ctx.version).catch(() => undefined);
        enforcement.stationConnected(ctx.stationId, ctx.remoteAddress);
        bus.publish(Topics.stationConnected, { stationId: ctx.stationId, ocppVersion: ctx.version, securityProfile: ctx.securityProfile, remoteAddress: ctx.remoteAddress, nodeId: config.nodeId }, ctx.stationId);
      },
      disconnected(ctx, code, reason) {
        metrics.stationDisconnected();
        stations.sessions.ended(ctx);
        router?.released(ctx.stationId);
        bus.publish(Topics.stationDisconnected, { stationId: ctx.stationId, code, reason }, ctx.stationId);
      },
      misbehaved(ctx, kind, detail, occurrences) {
        securityEvent({ stationId: ctx.stationId, remoteAddress: ctx.remoteAddress, type: kind, techInfo: detail, occurrences });
      },
      beforeCall: (ctx, action, payload) => grid.beforeCall(ctx, action, payload),
    },
    { ...config.ocpp, nodeId: config.nodeId },
  );
  // No peer's fault may end the process: a rejection raised on a connection closes that connection only.
  const releaseFaults = containRejections((reason) => gateway.containFault(reason), log);
  const router = cluster?.attach(gateway);
  calls = router ?? localCalls(gateway);
  /** Where a station is connected: this node's session, else (cluster mode) the node that announced it. */
  const stationPresence = (id: string) => {
    const s = gateway.session(id);
    return s ? { ocppVersion: s.version, connectedSince: s.connectedAt, remoteAddress: s.remoteAddress, node: config.nodeId } : cluster?.presence(id);
  };
  // A revoked certificate ends the profile 3 session it admitted, on whichever node learns of it (event or store re-read).
  trust.onRevocation(({ stationId }) => {
    if (stationId && gateway.session(stationId)?.securityProfile === 3) void gateway.disconnect(stationId, 1008, 'Certificate revoked');
  });
  // Bounded staleness (src/bus/changes.ts): state another node changed is re-read from the store at this interval, in case its change event was lost.
  const stopRefresh = refreshEvery(STALE_BOUND_MS, log, { revocations: () => trust.refreshRevocations(), lockouts: () => monitor.refreshLockouts(), gridLimits: () => grid.reloadLimits() });

  // Firmware: signed images, TUF release metadata, staged campaigns; downloads only over the HTTPS listener.
  let firmwareBase: string | undefined;
  const stationInfo = (r: { id: string; vendor?: string; model?: string; firmwareVersion?: string; tags: string[] }) => ({ id: r.id, vendor: r.vendor, model: r.model, firmwareVersion: r.firmwareVersion, tags: r.tags });
  const firmware: Firmware = createFirmware({
    database,
    // In a cluster only the lead node advances campaigns: it follows status reports from every node.
    bus: cluster?.leaderBus() ?? bus,
    leads: cluster ? () => cluster.isLeader() : undefined,
    log,
    commands,
    online: (id) => {
      const v = stationPresence(id)?.ocppVersion;
      return isOcppVersion(v) ? v : undefined;
    },
    station: async (id) => {
      const r = await stations.registry.get(id).catch(() => undefined);
      return r && stationInfo(r);
    },
    allStations: async () => (await stations.registry.list({ limit: 100_000 })).map(stationInfo),
    downloadBase: () => firmwareBase,
    issueCodeSigningCertificate: (input) => trust.issueCodeSigningCertificate(input),
    manufacturerRoots: () => [trust.rootCertificatePem('ManufacturerRootCertificate')],
    isRevoked: (serial) => trust.isRevoked(serial),
    isBlocked: (sha256) => !!enforcement.firmwareBlocked(sha256),
  }, { dataDir: config.dataDir, keyPassphrase: config.keyPassphrase });

  const tokens = createTokenStore(database, config.adminToken, bus);
  const generatedAdminToken = await bootstrapAdminToken(config, tokens);

  const httpServer = createHttpServer({ noDelay: true, ...SERVER_TIMEOUTS });
  let ports: { http: number; https?: number } | undefined;
  const api = await createApi({ tokens, audit, log, version: VERSION, transport: { plainApi: config.plainApi, publicMetrics: config.publicMetrics, httpsPort: () => ports?.https } }, httpServer, [
    adminRoutes({ tokens, audit, metrics: metrics.registry, health: () => ({ version: VERSION, nodeId: config.nodeId, stationsConnected: [...gateway.sessions()].length }), ready: () => database.ready(), publicMetrics: config.publicMetrics }),
    stationRoutes({ stations, call: (id, action, payload, o) => calls.call(id, action, payload, o), presence: stationPresence, hasValidCertificate: (id) => trust.listCertificates({ stationId: id }).some((c) => !c.revokedAt && Date.parse(c.notAfter) > Date.now()) }),
    transactionRoutes({ transactions, idTokens: stations.idTokens }),
    monitorRoutes(monitor),
    gridRoutes(grid),
    meterKeyRoutes({ keys: meterKeys, stationExists: (id) => stations.registry.get(id).then(() => true, () => false) }),
    (app) => trustPublicRoutes(app, trust),
    (app, guard) =>
      app.register(async (scope) => {
        // Reading the PKI needs the auditor role; changing it (revocation, imports) the operator role.
        // onRequest, like every guard: the token is checked before the body is read or validated.
        const read = guard.require('auditor');
        const write = guard.require('operator');
        scope.addHook('onRequest', async (req, reply) => (req.method === 'GET' ? read : write).call(scope, req, reply, () => undefined));
        await trustApiRoutes(scope, trust);
        await lifecycleRoutes(scope, certificates);
      }),
    consoleRoutes(),
    (app) => intel.taxiiRoutes(app, taxiiAuth(tokens)),
    firmware.routes,
    assessRoutes(
      createAssessment({
        lastAudited: (target, action) => audit.lastOk(target, action),
        stations,
        session: (id) => gateway.session(id),
        commands,
        dataDir: config.dataDir,
        listCertificates: (id) => trust.listCertificates({ stationId: id }),
        listAlerts: (id) => monitor.listAlerts({ stationId: id, limit: 1000 }),
        listStationEventTypes: async (id) => [...new Set((await monitor.listSecurityEvents({ stationId: id, limit: 1000 })).filter((e) => e.source === 'station').map((e) => e.type))],
      }),
    ),
  ]);
  const upgrade = (req: any, socket: any, head: Buffer) => gateway.handleUpgrade(req, socket, head);
  httpServer.on('upgrade', upgrade);
  await api.ready();
  await listen(httpServer, opts.ephemeralPorts ? 0 : config.port, config.host);

  let httpsServer: HttpsServer | undefined;
  let stopTicketRotation = () => {};
  if (config.tlsPort !== 0) {
    // Ticket keys from the store: a station resumes its TLS session across restarts and nodes.
    const tickets = { ticketKeys: await trust.ticketKeys.current(), sessionTimeout: trust.ticketKeys.lifetimeS };
    httpsServer = createHttpsServer({ ...tlsOptions(trust.serverCredentials(), trust.stationTrustAnchors()), ...tickets, ...SERVER_TIMEOUTS, handshakeTimeout: 10_000 });
    const server = httpsServer;
    stopTicketRotation = refreshEvery(60_000, log, { ticketKeys: async () => server.setTicketKeys(await trust.ticketKeys.current()) });
    httpsServer.on('request', (req, res) => api.routing(req, res));
    httpsServer.on('upgrade', upgrade);
    httpsServer.on('tlsClientError', () => undefined);
    // OCSP stapling: clients that ask get the node's own signed status for its certificate in the handshake.
    httpsServer.on('OCSPRequest', (cert: Buffer, issuer: Buffer, done: (err: Error | null, response?: Buffer) => void) => {
      if (!issuer) return done(null);
      trust.stapledOcsp(cert, issuer).then((der) => done(null, der), (err) => {
        log.warn({ err }, 'OCSP stapling failed');
        done(null);
      });
    });
    await listen(httpsServer, opts.ephemeralPorts ? 0 : config.tlsPort, config.host);
  }

  ports = { http: (httpServer.address() as AddressInfo).port, https: httpsServer ? (httpsServer.address() as AddressInfo).port : undefined };
  if (ports.https) firmwareBase = `https://${config.hostnames[0] ?? (config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host)}:${ports.https}`;
  log.info({ event: 'node.started', nodeId: config.nodeId, ports, dataDir: path.resolve(config.dataDir), database: database.dialect }, 'evguard node started');

  return {
    config,
    database,
    bus,
    gateway,
    stations,
    transactions,
    trust,
    monitor,
    grid,
    intel,
    firmware,
    log,
    ports,
    generatedAdminToken,
    async close() {
      log.info({ event: 'node.stopping', sessions: [...gateway.sessions()].length }, 'evguard node stopping');
      unfollowMetrics();
      firmware.close();
      stations.sessions.close();
      await gateway.close();
      releaseFaults();
      await api.close().catch(() => undefined);
      // Fastify only closes servers it listened on itself; these two are ours.
      for (const server of [httpServer, httpsServer]) {
        if (!server) continue;
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      }
      await certificates.close();
      ven?.close();
      await grid.close();
      await monitor.close();
      stopIndicatorRefresh();
      stopRefresh();
      stopTicketRotation();
      await sharing.close();
      await enforcement.close();
      await bus.close();
      await cluster?.close();
      await database.close();
      stopOperationalLog();
      log.info({ event: 'node.stopped' }, 'evguard node stopped');
    },
  };
}

/** Runs each refresh every `ms` (never two of one kind at once); returns the stop function. */
function refreshEvery(ms: number, log: Logger, jobs: Record<string, () => Promise<void>>): () => void {
  const running = new Set<string>();
  const timer = setInterval(() => {
    for (const [name, job] of Object.entries(jobs)) {
      if (running.has(name)) continue;
      running.add(name);
      job()
        .catch((err) => log.warn({ err, refresh: name }, 'refresh from the store failed'))
        .finally(() => running.delete(name));
    }
  }, ms);
  timer.unref();
  return () => clearInterval(timer);
}

/** Where relying parties fetch CRLs and OCSP: the configured public URL, else the plain port under the node's first name. */
function publicUrlOf(config: Config): string {
  if (config.publicUrl) return config.publicUrl;
  const host = config.hostnames[0] ?? (config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host);
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}

function listen(server: Server | HttpsServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Without EVGUARD_ADMIN_TOKEN, the first start generates an admin token, keeps
 * it in <data-dir>/admin-token (mode 0600) and returns it so the CLI prints it once.
 */
async function bootstrapAdminToken(config: Config, tokens: ReturnType<typeof createTokenStore>): Promise<string | undefined> {
  if (config.adminToken) return undefined;
  const file = path.join(config.dataDir, 'admin-token');
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (await tokens.authenticate(`Bearer ${token}`)) return undefined;
  }
  const { token } = await tokens.create('admin (generated on first start)', 'admin');
  writeFileSync(file, token + '\n', { mode: 0o600 });
  return token;
}
