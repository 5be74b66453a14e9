/**
 * Part of the composition root (app.ts): the node's REST API (its token
 * store, the first admin token, the plain HTTP server it shares with the
 * OCPP upgrades), one route plugin per module, each bound to the modules it
 * reads.
 */
import type { Config } from './config.js';
import type { Database } from './store/index.js';
import type { Calls } from './cluster/router.js';
import type { Metrics } from './metrics.js';
import type { CommandsFor } from './model/commands.js';
import type { Gateway, Session } from './ocpp/index.js';
import type { AuditLog } from './api/audit.js';
import type { TokenStore } from './api/auth.js';
import { createApi, createTokenStore } from './api/index.js';
import { bootstrapAdminToken } from './api/admin-token.js';
import { createPlainServer } from './listeners.js';
import type { Bus } from './bus/index.js';
import type { RoutePlugin } from './api/route-plugin.js';
import { adminRoutes } from './api/routes/admin.js';
import { stationRoutes } from './stations/routes.js';
import { transactionRoutes } from './transactions/routes.js';
import { consoleRoutes } from './api/console.js';
import type { Stations } from './stations/index.js';
import type { Transactions } from './transactions/index.js';
import type { Monitor } from './monitor/index.js';
import { monitorRoutes } from './monitor/routes.js';
import type { Grid } from './grid/index.js';
import { gridRoutes } from './grid/routes.js';
import { meterKeyRoutes, type MeterKeys } from './meters/index.js';
import type { CertificateLifecycle, Trust } from './trust/index.js';
import { lifecycleRoutes } from './trust/lifecycle-routes.js';
import { apiRoutes as trustApiRoutes, publicRoutes as trustPublicRoutes } from './trust/routes.js';
import { taxiiAuth } from './intel/node.js';
import type { Intel } from './intel/index.js';
import type { Firmware } from './firmware/index.js';
import { createAssessment } from './assess/index.js';
import { assessRoutes } from './assess/routes.js';

export interface NodeRouteParts {
  config: Config;
  version: string;
  database: Database;
  tokens: TokenStore;
  audit: AuditLog;
  metrics: Metrics;
  node: Gateway;
  stations: Stations;
  calls: Calls;
  presence(stationId: string): { ocppVersion: string; connectedSince: string; remoteAddress?: string; node?: string } | undefined;
  transactions: Transactions;
  monitor: Monitor;
  grid: Grid;
  meterKeys: MeterKeys;
  trust: Trust;
  certificates: CertificateLifecycle;
  intel: Intel;
  firmware: Firmware;
  session(stationId: string): Session | undefined;
  commands: CommandsFor;
}

export async function createNodeApi(p: Omit<NodeRouteParts, 'tokens'> & { log: any; bus: Bus; httpsPort(): number | undefined }) {
  const { config, database, bus, audit, log } = p;
  const tokens = createTokenStore(database, config.adminToken, bus);
  const generatedAdminToken = await bootstrapAdminToken(config, tokens);
  const plain = createPlainServer();
  const api = await createApi({ tokens, audit, log, version: p.version, transport: { plainApi: config.plainApi, publicMetrics: config.publicMetrics, httpsPort: p.httpsPort } }, plain, nodeRoutes({ ...p, tokens }));
  await api.ready();
  return { api, plain, generatedAdminToken };
}

function nodeRoutes(p: NodeRouteParts): RoutePlugin[] {
  const { config, database, tokens, audit, metrics, node, stations, calls, presence, transactions, monitor, grid, meterKeys, trust, certificates, intel, firmware, session, commands } = p;
  const VERSION = p.version;
  return [
    adminRoutes({ tokens, audit, metrics: metrics.registry, health: () => ({ version: VERSION, nodeId: config.nodeId, stationsConnected: node.count() }), ready: () => database.ready(), publicMetrics: config.publicMetrics }),
    stationRoutes({ stations, call: calls.call, presence, hasValidCertificate: (id) => trust.listCertificates({ stationId: id }).some((c) => !c.revokedAt && Date.parse(c.notAfter) > Date.now()) }),
    transactionRoutes({ transactions, idTokens: stations.idTokens }),
    monitorRoutes(monitor),
    gridRoutes(grid),
    meterKeyRoutes({ keys: meterKeys, stationExists: (id) => stations.registry.get(id).then(() => true, () => false) }),
    (app) => trustPublicRoutes(app, trust),
    // Reading the PKI needs the auditor role; changing it (revocation, imports) the operator role, checked onRequest like every guard.
    (app, guard) => app.register(async (scope) => {
      const [read, write] = [guard.require('auditor'), guard.require('operator')];
      scope.addHook('onRequest', async (req, reply) => (req.method === 'GET' ? read : write).call(scope, req, reply, () => undefined));
      await trustApiRoutes(scope, trust);
      await lifecycleRoutes(scope, certificates);
    }),
    consoleRoutes(),
    (app) => intel.taxiiRoutes(app, taxiiAuth(tokens)),
    firmware.routes,
    assessRoutes(createAssessment({
      lastAudited: (target, action) => audit.lastOk(target, action), stations, session, commands, dataDir: config.dataDir,
      listCertificates: (id) => trust.listCertificates({ stationId: id }), listAlerts: (id) => monitor.listAlerts({ stationId: id, limit: 1000 }),
      listStationEventTypes: async (id) => [...new Set((await monitor.listSecurityEvents({ stationId: id, limit: 1000 })).filter((e) => e.source === 'station').map((e) => e.type))],
    })),
    ];
}
