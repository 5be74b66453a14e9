/**
 * Part of the composition root (app.ts): the firmware module bound to the
 * station registry (what a campaign targets), the trust module (code-signing
 * certificates, the manufacturer root, revocations), threat intelligence (a
 * known-bad image is never shipped) and the node's HTTPS listener (downloads
 * are offered over HTTPS only).
 */
import type { Config } from './config.js';
import { createFirmware, type FirmwareDeps } from './firmware/index.js';
import type { createEnforcement } from './intel/node.js';
import { hostOf } from './listeners.js';
import type { Stations, StationRecord } from './stations/index.js';
import type { Trust } from './trust/index.js';

export interface NodeFirmwareParts extends Pick<FirmwareDeps, 'database' | 'bus' | 'commands' | 'online' | 'log' | 'leads'> {
  config: Config;
  stations: Stations;
  trust: Trust;
  enforcement: ReturnType<typeof createEnforcement>;
  /** The bound HTTPS port, once the listeners are up; undefined without TLS. */
  httpsPort(): number | undefined;
}

const stationInfo = (r: StationRecord) => ({ id: r.id, vendor: r.vendor, model: r.model, firmwareVersion: r.firmwareVersion, tags: r.tags });

export function createNodeFirmware(p: NodeFirmwareParts) {
  const { config, stations, trust, enforcement } = p;
  return createFirmware({
    database: p.database, bus: p.bus, leads: p.leads, log: p.log, commands: p.commands, online: p.online,
    station: (id) => stations.registry.get(id).then(stationInfo, () => undefined),
    allStations: async () => (await stations.registry.list({ limit: 100_000 })).map(stationInfo),
    downloadBase: () => (p.httpsPort() ? `https://${hostOf(config)}:${p.httpsPort()}` : undefined),
    issueCodeSigningCertificate: (input) => trust.issueCodeSigningCertificate(input), manufacturerRoots: () => [trust.rootCertificatePem('ManufacturerRootCertificate')],
    isRevoked: (serial) => trust.isRevoked(serial), isBlocked: (sha256) => !!enforcement.firmwareBlocked(sha256),
  }, { dataDir: config.dataDir, keyPassphrase: config.keyPassphrase });
}
