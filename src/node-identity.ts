/**
 * What a node is, written into its data directory at first start
 * (`<dataDir>/node.json`, mode 0600) and read by every command that opens
 * that directory (`serve`, `intel`, `pki`): organization, cluster name,
 * database and where the key passphrase comes from. A command run with only
 * `--data-dir` then acts as that node (pulled intelligence lands in its
 * organization's inbox, exports carry its identity, keys open with its
 * passphrase); a flag or variable that disagrees is refused with a message
 * (exit 2) instead of quietly acting as another node.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { configErrors, loadConfigWithSources, type Config, type ConfigInput } from './config.js';

export const IDENTITY_FILE = 'node.json';

export interface NodeIdentity {
  organization: string;
  clusterName: string;
  /** `sqlite` (in the data dir) or the PostgreSQL URL without its password. */
  database: string;
  /** `EVGUARD_KEY_PASSPHRASE`, or `generated` (keys/master.key in the data dir). */
  keyPassphrase: 'EVGUARD_KEY_PASSPHRASE' | 'generated';
  createdAt: string;
}

/** A PostgreSQL URL with the password removed (it stays in the environment, never in the file). */
function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}

export function identityOf(config: Config): NodeIdentity {
  return {
    organization: config.organization,
    clusterName: config.clusterName,
    database: config.databaseUrl ? withoutPassword(config.databaseUrl) : 'sqlite',
    keyPassphrase: config.keyPassphrase ? 'EVGUARD_KEY_PASSPHRASE' : 'generated',
    createdAt: new Date().toISOString(),
  };
}

export function readIdentity(dataDir: string): NodeIdentity | undefined {
  const file = path.join(dataDir, IDENTITY_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const id = JSON.parse(readFileSync(file, 'utf8')) as NodeIdentity;
    if (typeof id.organization !== 'string' || typeof id.clusterName !== 'string' || typeof id.database !== 'string' || !['EVGUARD_KEY_PASSPHRASE', 'generated'].includes(id.keyPassphrase)) throw new Error('missing fields');
    return id;
  } catch (err) {
    throw configErrors.CONFIG_INVALID(`${file} is not a node identity (${(err as Error).message}); restore it from a backup, or remove it to have the next \`evguard serve\` write it again`);
  }
}

function writeIdentity(dataDir: string, id: NodeIdentity): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, IDENTITY_FILE);
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(id, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

/**
 * The config of the node that owns `config.dataDir`: stored identity values
 * replace defaults; an explicitly given value that differs is an error.
 */
export function reconcileIdentity(config: Config, explicit: ReadonlySet<keyof Config>, stored: NodeIdentity): Config {
  const file = path.join(config.dataDir, IDENTITY_FILE);
  const disagree = (what: string, given: string, kept: string, fix: string) =>
    configErrors.CONFIG_INVALID(`${what} ${given} disagrees with the node in ${config.dataDir}, whose ${what} is ${kept} (${file}); ${fix}`);
  if (explicit.has('organization') && config.organization !== stored.organization) {
    throw disagree('organization', `"${config.organization}"`, `"${stored.organization}"`, 'drop --organization / EVGUARD_ORGANIZATION, or pass the --data-dir of the other node');
  }
  if (explicit.has('clusterName') && config.clusterName !== stored.clusterName) {
    throw disagree('cluster name', `"${config.clusterName}"`, `"${stored.clusterName}"`, 'drop EVGUARD_CLUSTER, or pass the --data-dir of the other node');
  }
  let databaseUrl = config.databaseUrl;
  if (explicit.has('databaseUrl') && databaseUrl && withoutPassword(databaseUrl) !== stored.database) {
    throw disagree('database', withoutPassword(databaseUrl), stored.database, 'drop --database-url / EVGUARD_DATABASE_URL, or pass the --data-dir of the node that uses it');
  }
  if (stored.database !== 'sqlite') databaseUrl ??= stored.database; // the password comes from PGPASSWORD or ~/.pgpass
  if (stored.keyPassphrase === 'EVGUARD_KEY_PASSPHRASE' && !config.keyPassphrase) {
    throw configErrors.CONFIG_INVALID(`the node in ${config.dataDir} encrypts its keys with EVGUARD_KEY_PASSPHRASE: set it to the node's passphrase (${file})`);
  }
  if (stored.keyPassphrase === 'generated' && config.keyPassphrase) {
    throw configErrors.CONFIG_INVALID(`the node in ${config.dataDir} encrypts its keys with its generated keys/master.key, not EVGUARD_KEY_PASSPHRASE: unset EVGUARD_KEY_PASSPHRASE (${file})`);
  }
  return Object.freeze({ ...config, organization: stored.organization, clusterName: stored.clusterName, databaseUrl });
}

/**
 * Loads the config of the node whose data dir a command opens (flags >
 * EVGUARD_* > config file > the data dir's identity > defaults). With
 * `record`, a data dir without an identity gets one written from this config
 * (`serve` at first start); without it, such a data dir is used as given.
 */
/**
 * At every start: a data dir without an identity gets this config's; one
 * with an identity must match it (loadNodeConfig has already filled in what
 * the flags left open, so only a real contradiction fails here).
 */
export function recordIdentity(config: Config): void {
  const stored = readIdentity(config.dataDir);
  if (!stored) return writeIdentity(config.dataDir, identityOf(config));
  reconcileIdentity(config, new Set<keyof Config>(['organization', 'clusterName', 'databaseUrl']), stored);
}

export function loadNodeConfig(flags: ConfigInput, env: NodeJS.ProcessEnv, file: string | undefined, opts: { record: boolean }): Config {
  const { config, explicit } = loadConfigWithSources(flags, env, file);
  const stored = readIdentity(config.dataDir);
  if (stored) return reconcileIdentity(config, explicit, stored);
  if (opts.record) writeIdentity(config.dataDir, identityOf(config));
  return config;
}
