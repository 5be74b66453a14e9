/**
 * Uptane-style release metadata written with @tufjs/models.
 *
 * Two kinds of TUF repository:
 * - one image repository per vendor (`image/<vendor>`): every released image
 *   with its hash, length, version, hardware ids and release counter;
 * - the director (`director`, one root) with per-station metadata
 *   (`director/<stationId>`): exactly the image that station is to install.
 *
 * A station trusts both roots and installs only when both agree on the
 * image's hashes and the director names its own hardware id (Uptane's
 * "director and image repository must match"). Root, targets, snapshot and
 * timestamp each have their own key; the timestamp is short-lived and
 * re-signed on demand by its online key, so a frozen repository goes stale.
 */
import { Metadata, MetaFile, Root, Snapshot, TargetFile, Targets, Timestamp, type MetadataKind } from '@tufjs/models';
import type { Kysely } from 'kysely';
import type { KeyRing, RoleKey } from './keys.js';

const SPEC_VERSION = '1.0.31';
const TOP_ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
type TopRole = (typeof TOP_ROLES)[number];

export interface TufLifetimes {
  /** Seconds each role's metadata stays valid. */
  rootS: number;
  targetsS: number;
  snapshotS: number;
  timestampS: number;
}

export const defaultLifetimes: TufLifetimes = { rootS: 365 * 86_400, targetsS: 90 * 86_400, snapshotS: 7 * 86_400, timestampS: 86_400 };

export interface TargetEntry {
  path: string;
  length: number;
  sha256: string;
  custom: Record<string, string | number | boolean | string[]>;
}

/** TUF expects whole-second UTC times. */
export function tufTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface TufRepositories {
  /** Root metadata of a repository by version (1 = the first trusted root). */
  root(repoRoot: string, version: number): Promise<string | undefined>;
  /** Current metadata of a role, re-signing the timestamp when it is past half its life. */
  current(repo: string, role: Exclude<TopRole, 'root'>): Promise<string | undefined>;
  /** Publishes a new targets list for a repository; creates the repository on first use. */
  publish(repo: string, repoRoot: string, targets: TargetEntry[]): Promise<void>;
  /** Creates the repository's first root if it has none. */
  ensureRoot(repoRoot: string): Promise<void>;
  /** Targets currently published (for listing and merging). */
  targets(repo: string): Promise<TargetEntry[]>;
}

export function createTufRepositories(db: Kysely<any>, keys: KeyRing, lifetimes: TufLifetimes, now: () => number = Date.now): TufRepositories {
  const keyOf = (repoRoot: string, role: TopRole): RoleKey => keys.get(`${repoRoot.replace('/', '-')}-${role}`);

  async function latest(repo: string, role: string): Promise<{ version: number; json: string } | undefined> {
    const row = await db.selectFrom('firmware_tuf').select(['version', 'json']).where('repo', '=', repo).where('role', '=', role).orderBy('version', 'desc').limit(1).executeTakeFirst();
    return row ? { version: Number(row.version), json: String(row.json) } : undefined;
  }
  async function put(repo: string, role: string, version: number, json: string) {
    await db.insertInto('firmware_tuf').values({ repo, role, version, json }).execute();
  }
  function signed<T extends Root | Targets | Snapshot | Timestamp>(body: T, key: RoleKey): string {
    const md = new Metadata<T>(body);
    md.sign((data) => key.sign(data));
    return JSON.stringify(md.toJSON());
  }

  async function ensureRoot(repoRoot: string): Promise<void> {
    if (await latest(repoRoot, 'root')) return;
    const root = new Root({ version: 1, specVersion: SPEC_VERSION, expires: tufTime(now() + lifetimes.rootS * 1000), consistentSnapshot: false });
    for (const role of TOP_ROLES) root.addKey(keyOf(repoRoot, role).key, role);
    await put(repoRoot, 'root', 1, signed(root, keyOf(repoRoot, 'root')));
  }

  async function writeSnapshotAndTimestamp(repo: string, repoRoot: string, targetsVersion: number): Promise<void> {
    const snapVersion = ((await latest(repo, 'snapshot'))?.version ?? 0) + 1;
    const snapshot = new Snapshot({ version: snapVersion, specVersion: SPEC_VERSION, expires: tufTime(now() + lifetimes.snapshotS * 1000), meta: { 'targets.json': new MetaFile({ version: targetsVersion }) } });
    await put(repo, 'snapshot', snapVersion, signed(snapshot, keyOf(repoRoot, 'snapshot')));
    await writeTimestamp(repo, repoRoot, snapVersion);
  }

  async function writeTimestamp(repo: string, repoRoot: string, snapshotVersion: number): Promise<string> {
    const version = ((await latest(repo, 'timestamp'))?.version ?? 0) + 1;
    const ts = new Timestamp({ version, specVersion: SPEC_VERSION, expires: tufTime(now() + lifetimes.timestampS * 1000), snapshotMeta: new MetaFile({ version: snapshotVersion }) });
    const json = signed(ts, keyOf(repoRoot, 'timestamp'));
    await put(repo, 'timestamp', version, json);
    return json;
  }

  const rootOf = (repo: string) => (repo.startsWith('director/') ? 'director' : repo);

  return {
    ensureRoot,
    async root(repoRoot, version) {
      const row = await db.selectFrom('firmware_tuf').select('json').where('repo', '=', repoRoot).where('role', '=', 'root').where('version', '=', version).executeTakeFirst();
      return row ? String(row.json) : undefined;
    },
    async current(repo, role) {
      const found = await latest(repo, role);
      if (!found || role !== 'timestamp') return found?.json;
      const parsed = JSON.parse(found.json) as { signed: { expires: string; meta: Record<string, { version: number }> } };
      const left = Date.parse(parsed.signed.expires) - now();
      if (left > (lifetimes.timestampS * 1000) / 2) return found.json;
      const keyName = `${rootOf(repo).replace('/', '-')}-timestamp`;
      if (!keys.has(keyName)) return found.json;
      try {
        return await writeTimestamp(repo, rootOf(repo), parsed.signed.meta['snapshot.json']!.version);
      } catch {
        // Another request re-signed it at the same moment (same version number): serve that one.
        return (await latest(repo, 'timestamp'))?.json;
      }
    },
    async publish(repo, repoRoot, entries) {
      await ensureRoot(repoRoot);
      const version = ((await latest(repo, 'targets'))?.version ?? 0) + 1;
      const targets: Record<string, TargetFile> = {};
      for (const e of entries) {
        targets[e.path] = new TargetFile({ path: e.path, length: e.length, hashes: { sha256: e.sha256 }, unrecognizedFields: { custom: e.custom } });
      }
      const body = new Targets({ version, specVersion: SPEC_VERSION, expires: tufTime(now() + lifetimes.targetsS * 1000), targets });
      await put(repo, 'targets', version, signed(body, keyOf(repoRoot, 'targets')));
      await writeSnapshotAndTimestamp(repo, repoRoot, version);
    },
    async targets(repo) {
      const found = await latest(repo, 'targets');
      if (!found) return [];
      const md = Metadata.fromJSON('targets' as MetadataKind.Targets, JSON.parse(found.json));
      return Object.values(md.signed.targets).map((t) => ({ path: t.path, length: t.length, sha256: t.hashes.sha256 ?? '', custom: t.custom as TargetEntry['custom'] }));
    },
  };
}
