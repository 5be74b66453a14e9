/**
 * One typed, frozen configuration, read once: flags > environment
 * (EVGUARD_*) > config file (JSON) > defaults. Every module gets its slice.
 */
import { readFileSync } from 'node:fs';
import { defineErrors } from './errors.js';
import type { GridConfig } from './grid/index.js';
import type { MonitorConfig } from './monitor/index.js';
import type { TransactionsConfig } from './transactions/index.js';

export const configErrors = defineErrors({
  CONFIG_INVALID: { status: 400, message: 'The configuration is invalid' },
});

export interface OcppConfig {
  /** Largest WebSocket frame a station may send, in bytes. */
  readonly maxFrameBytes: number;
  /**
   * Sustained frames per second per station (every frame: CALL, CALLRESULT,
   * CALLERROR, malformed), and the burst above it. Over it the station is read
   * more slowly; a full burst in debt closes it (1008).
   */
  readonly ratePerSecond: number;
  readonly rateBurst: number;
  /** Sustained invalid frames (unparseable, schema-invalid, answers to unknown calls) per second, and the burst; over it closes (1008). */
  readonly invalidPerSecond: number;
  readonly invalidBurst: number;
  /** Upgrades being authenticated at once, in all and per source address; past them a 503 with a random Retry-After of 1…shedRetryAfterS seconds. */
  readonly maxHandshakes: number;
  readonly maxHandshakesPerAddress: number;
  readonly shedRetryAfterS: number;
  readonly callTimeoutMs: number;
  readonly pingIntervalMs: number;
  /** Heartbeat interval handed out in BootNotification responses. */
  readonly heartbeatIntervalS: number;
  /** Retry interval handed to Pending and Rejected stations. */
  readonly bootRetryIntervalS: number;
  /** Consecutive malformed frames before the connection is closed. */
  readonly maxBadMessages: number;
  /** Register unknown station ids as Pending instead of refusing them. */
  readonly allowUnknown: boolean;
  /** How long a second connection waits for the first one's pong before it may replace it. */
  readonly duplicateProbeMs: number;
}

/** Threat sharing (docs/intel.md): what this node shares, how, and under which marking. */
export interface IntelSettings {
  /** Alerts the monitor raises go into the outgoing TAXII collection (`shared`) as they are raised. */
  readonly share: boolean;
  /** Only alerts at or above this severity are shared automatically. */
  readonly shareMinSeverity: 'low' | 'medium' | 'high' | 'critical';
  /** TLP 2.0 marking of what this node shares. */
  readonly tlp: 'clear' | 'green' | 'amber' | 'amber+strict' | 'red';
  /** Station and customer ids leave the node as keyed pseudonyms; keep it on unless every partner may know them. */
  readonly pseudonymise: boolean;
  /** HMAC key for pseudonyms (16+ characters); else one is generated in <data-dir>/intel-pseudonym-key. Nodes sharing a database need the same key. */
  readonly pseudonymKey?: string;
}

/** Station certificate lifecycle (src/trust): renewal before expiry and expiry alerts. */
export interface CertificatesConfig {
  readonly renewBeforeDays: number;
  readonly alertBeforeDays: number;
  /** How often renewal and expiry are checked; 0 disables the schedule. */
  readonly checkIntervalS: number;
  /** Minimum time between two scheduled renewal requests to the same station. */
  readonly retryAfterS: number;
}

export interface Config {
  readonly host: string;
  readonly port: number;
  /** 0 disables the TLS listener. */
  readonly tlsPort: number;
  readonly dataDir: string;
  readonly databaseUrl?: string;
  readonly natsUrl?: string;
  /** Cluster mode: the NATS subject namespace and lead-lock name the nodes of one cluster share (docs/cluster.md). */
  readonly clusterName: string;
  /**
   * Fault injection (docs/cluster.md): bus topics this node ignores when they
   * come from other nodes, as if NATS had lost them, to show that a missed
   * change event still takes effect within the staleness bound. Empty in production.
   */
  readonly clusterDropTopics?: readonly string[];
  readonly adminToken?: string;
  readonly organization: string;
  readonly hostnames: readonly string[];
  /**
   * Serve the REST API, console, TAXII and /metrics on the plain HTTP port to
   * every client, not only loopback ones: for a TLS-terminating proxy in front.
   */
  readonly plainApi: boolean;
  /**
   * Base URL relying parties use for the node's CRLs and OCSP (written into
   * the certificates the node issues). Default: http://<first hostname or
   * localhost>:<port>.
   */
  readonly publicUrl?: string;
  readonly tlsCertFile?: string;
  readonly tlsKeyFile?: string;
  readonly keyPassphrase?: string;
  readonly logLevel: string;
  readonly nodeId: string;
  /** Serve /metrics without a token (for a scraper on a private network); by default it needs an auditor token. */
  readonly publicMetrics: boolean;
  readonly ocpp: OcppConfig;
  readonly intel: IntelSettings;
  readonly certificates: CertificatesConfig;
  /** Detectors, responses and SIEM outputs (src/monitor checks it at start). */
  readonly monitor?: Omit<MonitorConfig, 'now'>;
  /** Power limits, ramp rates, mass-action approval and OpenADR (src/grid checks it at start). */
  readonly grid?: GridConfig;
  /** Plausibility bounds of meter data (src/transactions checks it at start; docs/transactions.md). */
  readonly transactions?: TransactionsConfig;
}

export const defaults: Config = {
  host: '0.0.0.0',
  port: 8080,
  tlsPort: 8443,
  dataDir: './.evguard',
  organization: 'evguard',
  hostnames: [],
  plainApi: false,
  logLevel: 'info',
  nodeId: 'node-1',
  publicMetrics: false,
  clusterName: 'evguard',
  ocpp: {
    maxFrameBytes: 256 * 1024,
    ratePerSecond: 20,
    rateBurst: 100,
    invalidPerSecond: 1,
    invalidBurst: 20,
    maxHandshakes: 128,
    maxHandshakesPerAddress: 32,
    shedRetryAfterS: 30,
    callTimeoutMs: 30_000,
    pingIntervalMs: 30_000,
    heartbeatIntervalS: 300,
    bootRetryIntervalS: 60,
    maxBadMessages: 10,
    allowUnknown: false,
    duplicateProbeMs: 2_000,
  },
  intel: { share: true, shareMinSeverity: 'medium', tlp: 'amber', pseudonymise: true },
  certificates: { renewBeforeDays: 30, alertBeforeDays: 14, checkIntervalS: 3600, retryAfterS: 21_600 },
};

type DeepPartial<T> = { -readonly [K in keyof T]?: T[K] extends object ? (T[K] extends readonly unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };
export type ConfigInput = DeepPartial<Config>;

/** Environment variables understood, and the config key each sets. */
const ENV: Record<string, (v: string) => ConfigInput> = {
  EVGUARD_HOST: (v) => ({ host: v }),
  EVGUARD_PORT: (v) => ({ port: int('EVGUARD_PORT', v) }),
  EVGUARD_TLS_PORT: (v) => ({ tlsPort: int('EVGUARD_TLS_PORT', v) }),
  EVGUARD_DATA_DIR: (v) => ({ dataDir: v }),
  EVGUARD_DATABASE_URL: (v) => ({ databaseUrl: v }),
  EVGUARD_NATS_URL: (v) => ({ natsUrl: v }),
  EVGUARD_CLUSTER: (v) => ({ clusterName: v }),
  EVGUARD_CLUSTER_DROP_TOPICS: (v) => ({ clusterDropTopics: v.split(',').map((s) => s.trim()).filter(Boolean) }),
  EVGUARD_ADMIN_TOKEN: (v) => ({ adminToken: v }),
  EVGUARD_ORGANIZATION: (v) => ({ organization: v }),
  EVGUARD_HOSTNAMES: (v) => ({ hostnames: v.split(',').map((s) => s.trim()).filter(Boolean) }),
  EVGUARD_TLS_CERT: (v) => ({ tlsCertFile: v }),
  EVGUARD_TLS_KEY: (v) => ({ tlsKeyFile: v }),
  EVGUARD_KEY_PASSPHRASE: (v) => ({ keyPassphrase: v }),
  EVGUARD_LOG_LEVEL: (v) => ({ logLevel: v }),
  EVGUARD_NODE_ID: (v) => ({ nodeId: v }),
  EVGUARD_PLAIN_API: (v) => ({ plainApi: v === '1' || v === 'true' }),
  EVGUARD_PUBLIC_URL: (v) => ({ publicUrl: v }),
  EVGUARD_ALLOW_UNKNOWN: (v) => ({ ocpp: { allowUnknown: v === '1' || v === 'true' } }),
  EVGUARD_PUBLIC_METRICS: (v) => ({ publicMetrics: v === '1' || v === 'true' }),
  EVGUARD_INTEL_PSEUDONYM_KEY: (v) => ({ intel: { pseudonymKey: v } }),
};

/**
 * Builds the config. `flags` are what the CLI parsed, `env` is normally
 * process.env, `file` a JSON config file path (flag --config or EVGUARD_CONFIG).
 */
export function loadConfig(flags: ConfigInput = {}, env: NodeJS.ProcessEnv = process.env, file?: string): Config {
  return loadConfigWithSources(flags, env, file).config;
}

/** The config, and the top-level keys a flag, an EVGUARD_* variable or the config file set (rather than a default). */
export function loadConfigWithSources(flags: ConfigInput = {}, env: NodeJS.ProcessEnv = process.env, file?: string): { config: Config; explicit: ReadonlySet<keyof Config> } {
  const layers: ConfigInput[] = [];
  const configFile = file ?? env.EVGUARD_CONFIG;
  if (configFile) layers.push(readConfigFile(configFile));
  for (const [name, apply] of Object.entries(ENV)) {
    const value = env[name];
    if (value !== undefined && value !== '') layers.push(apply(value));
  }
  layers.push(flags);
  const merged = layers.reduce<Config>((acc, layer) => merge(acc, layer) as Config, defaults);
  validate(merged);
  const explicit = new Set(layers.flatMap((l) => Object.entries(l).filter(([, v]) => v !== undefined).map(([k]) => k as keyof Config)));
  return { config: deepFreeze(structuredClone(merged)), explicit };
}

function readConfigFile(file: string): ConfigInput {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw configErrors.CONFIG_INVALID(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('expected a JSON object');
    return parsed as ConfigInput;
  } catch (err) {
    throw configErrors.CONFIG_INVALID(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

function validate(c: Config): void {
  const port = (name: string, v: number, allowZero: boolean) => {
    if (!Number.isInteger(v) || v < (allowZero ? 0 : 0) || v > 65535) {
      throw configErrors.CONFIG_INVALID(`${name} must be an integer port between ${allowZero ? 0 : 1} and 65535 (got ${v})`);
    }
  };
  port('port', c.port, true);
  port('tlsPort', c.tlsPort, true);
  if (typeof c.dataDir !== 'string' || !c.dataDir) throw configErrors.CONFIG_INVALID('dataDir must be a non-empty path');
  if (!/^[\p{L}\p{N} .,&'()_-]{1,64}$/u.test(c.organization)) {
    throw configErrors.CONFIG_INVALID('organization must be 1–64 letters, digits, spaces or .,&\'()_-');
  }
  if (c.adminToken !== undefined && c.adminToken.length < 24) {
    throw configErrors.CONFIG_INVALID('EVGUARD_ADMIN_TOKEN must be at least 24 characters; generate one with: openssl rand -hex 24');
  }
  for (const [k, v] of Object.entries(c.ocpp)) {
    if (typeof v === 'number' && (!Number.isFinite(v) || v < 0)) throw configErrors.CONFIG_INVALID(`ocpp.${k} must be a non-negative number`);
  }
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(c.clusterName)) throw configErrors.CONFIG_INVALID('cluster name (EVGUARD_CLUSTER) must be 1–32 letters, digits, _ or -');
  for (const [k, v] of Object.entries(c.certificates)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw configErrors.CONFIG_INVALID(`certificates.${k} must be a non-negative number`);
  }
  for (const k of ['ratePerSecond', 'invalidPerSecond', 'maxHandshakes', 'maxHandshakesPerAddress', 'shedRetryAfterS'] as const) {
    if (!(c.ocpp[k] > 0)) throw configErrors.CONFIG_INVALID(`ocpp.${k} must be greater than 0`);
  }
  if (c.publicUrl !== undefined && !/^https?:\/\/[^\s/?#]+\/?$/.test(c.publicUrl)) throw configErrors.CONFIG_INVALID('publicUrl (EVGUARD_PUBLIC_URL) must be http(s)://host[:port] with no path');
  if (c.ocpp.maxFrameBytes < 1024) throw configErrors.CONFIG_INVALID('ocpp.maxFrameBytes must be at least 1024');
}

function int(name: string, v: string): number {
  if (!/^\d+$/.test(v)) throw configErrors.CONFIG_INVALID(`${name} must be an integer (got "${v}")`);
  return Number(v);
}

function merge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') continue;
    out[k] = merge(out[k], v);
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
