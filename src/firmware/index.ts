/**
 * The firmware module: a repository of signed firmware images, Uptane-style
 * TUF release metadata (vendor image repositories plus evguard as the
 * director), staged campaigns with canary, waves, automatic halt and
 * maintenance windows, anti-rollback, and HTTPS per-station downloads.
 * See docs/firmware.md.
 */
import type { Bus } from '../bus/index.js';
import type { Database } from '../store/index.js';
import { createCampaigns, type CampaignDeps, type StationInfo } from './campaigns.js';
import { createImages } from './images.js';
import { createKeyRing } from './keys.js';
import { firmwareRoutes } from './routes.js';
import { createTufRepositories, defaultLifetimes, type TufLifetimes } from './tuf.js';
import { createFirmwareStore } from './store.js';

export { firmwareErrors } from './errors.js';
export { firmwareMigrations } from './store.js';
export { planWaves, shouldHalt, spreadInstallTime, FAILURE_STATUSES } from './policy.js';
export type { FirmwareImage } from './images.js';
export type { Campaign, CampaignInput, CampaignStation, CampaignState, StationInfo } from './campaigns.js';
export type { TufLifetimes } from './tuf.js';

export interface FirmwareConfig {
  dataDir: string;
  /** Encrypts TUF and code-signing keys; without it a key is generated into <dataDir>/firmware/keys/master.key. */
  keyPassphrase?: string;
  /** Largest image accepted, in bytes. Default 64 MiB. */
  maxImageBytes?: number;
  /** How long a station's download URL stays valid after its install time, in seconds. Default 24 h. */
  downloadTtlS?: number;
  tuf?: Partial<TufLifetimes>;
  /** Campaign re-evaluation period. Default 5 s. */
  tickMs?: number;
}

export interface FirmwareDeps {
  database: Database;
  bus: Bus;
  commands: CampaignDeps['commands'];
  online: CampaignDeps['online'];
  station(id: string): Promise<StationInfo | undefined>;
  allStations(): Promise<StationInfo[]>;
  downloadBase(): string | undefined;
  /** Issues a code-signing certificate from the manufacturer root (trust.issueCodeSigningCertificate). */
  issueCodeSigningCertificate(input: { name: string; publicKeyPem: string }): Promise<{ certificateChainPem: string; serialHex: string }>;
  /** The manufacturer root(s) a station trusts for firmware signing certificates. */
  manufacturerRoots(): string[];
  isRevoked(serialHex: string): boolean;
  /**
   * Threat-intelligence hook, asked before every campaign: true blocks the
   * image. Defaults to allowing everything; src/intel plugs in here.
   */
  isBlocked?(sha256: string): boolean | Promise<boolean>;
  log?: { warn(obj: unknown, msg: string): void };
  /** Cluster mode: only the lead node advances campaigns (see CampaignDeps.leads). */
  leads?(): boolean;
}

export function createFirmware(deps: FirmwareDeps, config: FirmwareConfig) {
  const store = createFirmwareStore(deps.database);
  const keys = createKeyRing(config.dataDir, config.keyPassphrase);
  const tuf = createTufRepositories(store, keys, { ...defaultLifetimes, ...(config.tuf ?? {}) });
  const images = createImages({
    store, dataDir: config.dataDir, tuf, roots: deps.manufacturerRoots,
    signer: { dataDir: config.dataDir, passphrase: keys.passphrase, issue: deps.issueCodeSigningCertificate, isRevoked: deps.isRevoked },
  });
  let blocked = deps.isBlocked ?? (() => false);
  const campaigns = createCampaigns({
    store, bus: deps.bus, images, tuf, commands: deps.commands, online: deps.online, station: deps.station, allStations: deps.allStations,
    downloadBase: deps.downloadBase, isBlocked: (sha) => blocked(sha), log: deps.log, leads: deps.leads,
  }, { downloadTtlS: config.downloadTtlS ?? 86_400, tickMs: config.tickMs ?? 5_000 });
  return {
    images,
    campaigns,
    tuf,
    /** Replaces the threat-intelligence hook after construction (intel may start later). */
    setBlocklist(fn: (sha256: string) => boolean | Promise<boolean>) {
      blocked = fn;
    },
    routes: firmwareRoutes({ store, images, campaigns, tuf, maxImageBytes: config.maxImageBytes ?? 64 * 1024 * 1024 }),
    close: () => campaigns.close(),
  };
}

export type Firmware = ReturnType<typeof createFirmware>;
