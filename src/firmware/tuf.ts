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
 * "director and image repository must match").
 *
 * Freshness: every role is re-signed by the node once past half its life
 * (when its key is on the node), so a repository served by a live node never
 * expires while a mirror that froze it goes stale. Root rotation replaces
 * role keys, the old root signing the new one. Roots use consistent
 * snapshots, and timestamp and snapshot carry the length and SHA-256 of the
 * file they name, so a client cannot be handed one station's snapshot under
 * another station's timestamp (the director repositories share one root).
 */
import { createHash } from 'node:crypto';
import { Metadata, MetaFile, Root, Snapshot, TargetFile, Targets, Timestamp, type MetadataKind } from '@tufjs/models';
import type { FirmwareStore } from './store.js';
import type { KeyRing, RoleKey } from './keys.js';

const SPEC_VERSION = '1.0.31';
export const TOP_ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
export type TopRole = (typeof TOP_ROLES)[number];
type ServedRole = Exclude<TopRole, 'root'>;

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
  /** Current metadata of a role, re-signing whatever is past half its life first. */
  current(repo: string, role: ServedRole): Promise<string | undefined>;
  /**
   * A metadata file by the name a TUF client asks for: `<n>.root.json`,
   * `timestamp.json`, `<n>.snapshot.json`, `<n>.targets.json` (consistent
   * snapshots) or `snapshot.json` / `targets.json`.
   */
  file(repo: string, name: string): Promise<string | undefined>;
  /** Publishes a new targets list for a repository; creates the repository on first use. */
  publish(repo: string, repoRoot: string, targets: TargetEntry[]): Promise<void>;
  /** Creates the repository's first root if it has none. */
  ensureRoot(repoRoot: string): Promise<void>;
  /** Targets currently published (for listing and merging). */
  targets(repo: string): Promise<TargetEntry[]>;
  /**
   * Root rotation: new keys for the given roles, a new root version signed by
   * the old root key and (when it changes) the new one, then every repository
   * under that root re-signed with the new keys. Needs the root key on the node.
   */
  rotateRoot(repoRoot: string, roles: readonly TopRole[]): Promise<{ version: number; keyids: Record<TopRole, string[]> }>;
}

export class TufKeyMissing extends Error {}

export function createTufRepositories(store: FirmwareStore, keys: KeyRing, lifetimes: TufLifetimes, now: () => number = Date.now): TufRepositories {
  const lifeOf: Record<TopRole, number> = { root: lifetimes.rootS, targets: lifetimes.targetsS, snapshot: lifetimes.snapshotS, timestamp: lifetimes.timestampS };
  const rootOf = (repo: string) => (repo.startsWith('director/') ? 'director' : repo);
  /** Key file names: generation 1 keeps the original name, rotations add `.g<n>`. */
  const keyName = (repoRoot: string, role: TopRole, gen: number) => `${repoRoot.replace('/', '-')}-${role}${gen > 1 ? `.g${gen}` : ''}`;

  async function latest(repo: string, role: string): Promise<{ version: number; json: string } | undefined> {
    const row = await store.tuf.latest(repo, role);
    return row ? { version: Number(row.version), json: String(row.json) } : undefined;
  }
  async function byVersion(repo: string, role: string, version: number): Promise<string | undefined> {
    const json = await store.tuf.byVersion(repo, role, version);
    return json !== undefined ? String(json) : undefined;
  }
  async function put(repo: string, role: string, version: number, json: string) {
    await store.tuf.insert({ repo, role, version, json });
  }
  function signed<T extends Root | Targets | Snapshot | Timestamp>(body: T, ...signers: RoleKey[]): string {
    const md = new Metadata<T>(body);
    for (const k of signers) md.sign((data) => k.sign(data), true);
    return JSON.stringify(md.toJSON());
  }
  const expiresAt = (json: string) => Date.parse((JSON.parse(json) as { signed: { expires: string } }).signed.expires);
  const pastHalfLife = (json: string, role: TopRole) => expiresAt(json) - now() <= (lifeOf[role] * 1000) / 2;
  /** Length and SHA-256 of the exact bytes served, so the file is bound to the one naming it. */
  const metaFile = (version: number, json: string) => new MetaFile({ version, length: Buffer.byteLength(json), hashes: { sha256: createHash('sha256').update(json).digest('hex') } });

  /** The node's private key for a role as the current root names it, if the node holds it. */
  async function signingKey(repoRoot: string, role: TopRole): Promise<RoleKey | undefined> {
    const root = await latest(repoRoot, 'root');
    if (!root) return undefined;
    const keyids: string[] = JSON.parse(root.json).signed.roles[role]?.keyids ?? [];
    for (let gen = 1; keys.has(keyName(repoRoot, role, gen)); gen++) {
      const k = keys.get(keyName(repoRoot, role, gen));
      if (keyids.includes(k.key.keyID)) return k;
    }
    return undefined;
  }
  async function mustKey(repoRoot: string, role: TopRole): Promise<RoleKey> {
    const k = await signingKey(repoRoot, role);
    if (!k) throw new TufKeyMissing(`the ${role} key of ${repoRoot} is not on this node`);
    return k;
  }

  async function ensureRoot(repoRoot: string): Promise<void> {
    if (await latest(repoRoot, 'root')) return;
    const root = new Root({ version: 1, specVersion: SPEC_VERSION, expires: tufTime(now() + lifetimes.rootS * 1000), consistentSnapshot: true });
    for (const role of TOP_ROLES) root.addKey(keys.get(keyName(repoRoot, role, 1)).key, role);
    try {
      await put(repoRoot, 'root', 1, signed(root, keys.get(keyName(repoRoot, 'root', 1))));
    } catch (err) {
      if (!(await latest(repoRoot, 'root'))) throw err; // else another request created it at the same moment
    }
  }

  /** Writes the next version of a role; false when another writer took that version first. */
  async function putNext(repo: string, role: ServedRole, build: (version: number) => Targets | Snapshot | Timestamp, key: RoleKey): Promise<{ version: number; json: string } | undefined> {
    const version = ((await latest(repo, role))?.version ?? 0) + 1;
    const json = signed(build(version), key);
    try {
      await put(repo, role, version, json);
      return { version, json };
    } catch {
      return undefined;
    }
  }

  async function writeTargets(repo: string, repoRoot: string, entries: TargetEntry[]) {
    const targets: Record<string, TargetFile> = {};
    for (const e of entries) targets[e.path] = new TargetFile({ path: e.path, length: e.length, hashes: { sha256: e.sha256 }, unrecognizedFields: { custom: e.custom } });
    const key = await mustKey(repoRoot, 'targets');
    return putNext(repo, 'targets', (version) => new Targets({ version, specVersion: SPEC_VERSION, expires: tufTime(now() + lifetimes.targetsS * 1000), targets }), key);
  }
  async function writeSnapshot(repo: string, repoRoot: string, targets: { version: number; json: string }) {
    const key = await mustKey(repoRoot, 'snapshot');
    return putNext(repo, 'snapshot', (version) => new Snapshot({ version, specVersion: SPEC_VERSION, expires: tufTime(now() + lifetimes.snapshotS * 1000), meta: { 'targets.json': metaFile(targets.version, targets.json) } }), key);
  }
  async function writeTimestamp(repo: string, repoRoot: string, snapshot: { version: number; json: string }) {
    const key = await mustKey(repoRoot, 'timestamp');
    return putNext(repo, 'timestamp', (version) => new Timestamp({ version, specVersion: SPEC_VERSION, expires: tufTime(now() + lifetimes.timestampS * 1000), snapshotMeta: metaFile(snapshot.version, snapshot.json) }), key);
  }

  /** A new root version with the same keys, signed by the root key, once the current one is past half its life. */
  async function renewRoot(repoRoot: string): Promise<void> {
    const current = await latest(repoRoot, 'root');
    if (!current || !pastHalfLife(current.json, 'root')) return;
    const key = await signingKey(repoRoot, 'root');
    if (!key) return;
    const md = Metadata.fromJSON('root' as MetadataKind.Root, JSON.parse(current.json));
    const next = new Root({ version: current.version + 1, specVersion: SPEC_VERSION, expires: tufTime(now() + lifetimes.rootS * 1000), consistentSnapshot: true, keys: md.signed.keys, roles: md.signed.roles });
    await put(repoRoot, 'root', next.version, signed(next, key)).catch(() => undefined);
  }

  /**
   * Re-signs whatever in a repository is past half its life, or names a
   * file that has since changed: targets → snapshot → timestamp. A role whose
   * key is not on the node is left as it is (it expires where the operator
   * moved its key away). Concurrent callers race on the version's primary
   * key; the loser simply serves what the winner wrote.
   */
  async function freshen(repo: string): Promise<void> {
    const repoRoot = rootOf(repo);
    await renewRoot(repoRoot);
    let targets = await latest(repo, 'targets');
    if (!targets) return;
    if (pastHalfLife(targets.json, 'targets') && (await signingKey(repoRoot, 'targets'))) {
      targets = (await writeTargets(repo, repoRoot, await entriesOf(targets.json))) ?? (await latest(repo, 'targets'))!;
    }
    let snapshot = await latest(repo, 'snapshot');
    const namesTargets = (json: string) => (JSON.parse(json).signed.meta['targets.json']?.version as number) === targets!.version;
    if ((!snapshot || pastHalfLife(snapshot.json, 'snapshot') || !namesTargets(snapshot.json)) && (await signingKey(repoRoot, 'snapshot'))) {
      snapshot = (await writeSnapshot(repo, repoRoot, targets)) ?? (await latest(repo, 'snapshot'));
    }
    if (!snapshot) return;
    const timestamp = await latest(repo, 'timestamp');
    const namesSnapshot = (json: string) => (JSON.parse(json).signed.meta['snapshot.json']?.version as number) === snapshot!.version;
    if ((!timestamp || pastHalfLife(timestamp.json, 'timestamp') || !namesSnapshot(timestamp.json)) && (await signingKey(repoRoot, 'timestamp'))) {
      await writeTimestamp(repo, repoRoot, snapshot);
    }
  }

  async function entriesOf(json: string): Promise<TargetEntry[]> {
    const md = Metadata.fromJSON('targets' as MetadataKind.Targets, JSON.parse(json));
    return Object.values(md.signed.targets).map((t) => ({ path: t.path, length: t.length, sha256: t.hashes.sha256 ?? '', custom: t.custom as TargetEntry['custom'] }));
  }

  const repos = {
    ensureRoot,
    root: (repoRoot: string, version: number) => byVersion(repoRoot, 'root', version),
    async current(repo: string, role: ServedRole) {
      await freshen(repo);
      return (await latest(repo, role))?.json;
    },
    async file(repo: string, name: string) {
      const m = /^(?:(\d{1,9})\.)?(root|timestamp|snapshot|targets)\.json$/.exec(name);
      if (!m) return undefined;
      const [, version, role] = m;
      if (role === 'root') {
        if (!version) return undefined;
        // A client's refresh starts by asking for the next root version: renew it first if it is ageing.
        await renewRoot(rootOf(repo));
        return byVersion(rootOf(repo), 'root', Number(version));
      }
      if (role === 'timestamp' && version) return undefined;
      // Unversioned names are the live files (freshened); versioned ones are served exactly as stored.
      if (!version) return repos.current(repo, role as ServedRole);
      return byVersion(repo, role!, Number(version));
    },
    async publish(repo: string, repoRoot: string, entries: TargetEntry[]) {
      await ensureRoot(repoRoot);
      const targets = await writeTargets(repo, repoRoot, entries);
      if (!targets) throw new Error(`another release of ${repo} was published at the same moment; try again`);
      await freshen(repo);
    },
    async targets(repo: string) {
      const found = await latest(repo, 'targets');
      return found ? entriesOf(found.json) : [];
    },
    async rotateRoot(repoRoot: string, roles: readonly TopRole[]) {
      const current = await latest(repoRoot, 'root');
      if (!current) throw new TufKeyMissing(`${repoRoot} has no root yet`);
      const oldRootKey = await mustKey(repoRoot, 'root');
      const next = new Root({ version: current.version + 1, specVersion: SPEC_VERSION, expires: tufTime(now() + lifetimes.rootS * 1000), consistentSnapshot: true });
      const chosen = {} as Record<TopRole, RoleKey>;
      for (const role of TOP_ROLES) {
        const k = roles.includes(role) ? nextGeneration(repoRoot, role) : await mustKey(repoRoot, role);
        chosen[role] = k;
        next.addKey(k.key, role);
      }
      const signers = chosen.root.key.keyID === oldRootKey.key.keyID ? [oldRootKey] : [oldRootKey, chosen.root];
      await put(repoRoot, 'root', next.version, signed(next, ...signers));
      // Everything under this root is signed again with the keys the new root names.
      for (const repo of await store.tuf.targetRepos(repoRoot, repoRoot === 'director')) {
        const t = await latest(String(repo), 'targets');
        if (t) await writeTargets(String(repo), repoRoot, await entriesOf(t.json));
        await freshen(String(repo));
      }
      return { version: next.version, keyids: Object.fromEntries(TOP_ROLES.map((r) => [r, [chosen[r].key.keyID]])) as Record<TopRole, string[]> };
    },
  };

  function nextGeneration(repoRoot: string, role: TopRole): RoleKey {
    let gen = 1;
    while (keys.has(keyName(repoRoot, role, gen))) gen++;
    return keys.get(keyName(repoRoot, role, gen));
  }

  return repos;
}
