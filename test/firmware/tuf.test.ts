/**
 * The simulator's tuf-js client against an HTTPS mirror the attacker
 * controls: it detects a replayed old release, a frozen repository, an image
 * for other hardware, and a tampered image. Metadata is written by evguard's
 * own repository code; the mirror decides what the station gets to see.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { migrate, openDatabase, type Database } from '../../src/store/index.js';
import { firmwareMigrations } from '../../src/firmware/index.js';
import { createKeyRing } from '../../src/firmware/keys.js';
import { createFirmwareStore } from '../../src/firmware/store.js';
import { createTufRepositories, defaultLifetimes, type TufRepositories } from '../../src/firmware/tuf.js';
import { HttpsFetcher, verifyRelease, type ReleaseCheck } from '../../src/sim/firmware.js';
import { Updater } from 'tuf-js';

const image = (text: string) => Buffer.from(text.repeat(500));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('tuf-js on the station detects metadata attacks', { timeout: 60_000 }, () => {
  let dir: string;
  let database: Database;
  let tuf: TufRepositories;
  let server: Server;
  let ca: string;
  let base: string;
  /** What the mirror answers for <kind>/<file>; the default is the live repository. */
  let serve: (kind: string, file: string) => Promise<string | undefined>;

  const live = async (repo: string, _kind: string, file: string) => tuf.file(repo, file);
  /** The role a metadata file name asks for, with or without its consistent-snapshot version. */
  const roleOf = (file: string) => file.replace(/^\d+\./, '').replace('.json', '');
  const raw = async (repo: string, role: string) =>
    (await createFirmwareStore(database).tuf.latest(repo, role))?.json;

  async function publish(station: string, hw: string, imgHw: string[], version: string, counter: number, bytes: Buffer, repo = 'image/Acme', t = tuf) {
    const targetPath = `${sha(bytes).slice(0, 16)}-${version}.bin`;
    const prior = await t.targets(repo);
    await t.publish(repo, repo, [...prior.filter((p) => p.path !== targetPath), { path: targetPath, length: bytes.length, sha256: sha(bytes), custom: { vendor: 'Acme', version, hardwareIds: imgHw, releaseCounter: counter } }]);
    await t.publish(`director/${station}`, 'director', [{ path: targetPath, length: bytes.length, sha256: sha(bytes), custom: { stationId: station, hardwareId: hw, version, releaseCounter: counter, allowDowngrade: false } }]);
    return targetPath;
  }

  const check = async (station: string, targetPath: string, bytes: Buffer, over: Partial<ReleaseCheck> = {}, imageRepoName = 'image/Acme') => verifyRelease({
    location: `${base}/image/${targetPath}`, image: bytes, stationId: station, hardwareId: 'AC22', runningVersion: '1.0.0', releaseCounter: 0,
    fetcher: new HttpsFetcher(ca), cacheDir: path.join(dir, 'cache', station),
    roots: { imageRoot: JSON.parse((await tuf.root(imageRepoName, 1))!), directorRoot: JSON.parse((await tuf.root('director', 1))!) },
    ...over,
  });

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'evguard-tuf-test-'));
    database = await openDatabase({ dataDir: dir });
    await migrate(database, firmwareMigrations);
    tuf = createTufRepositories(createFirmwareStore(database), createKeyRing(dir, 'test-passphrase'), defaultLifetimes);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem'), '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '2'], { stdio: 'ignore' });
    ca = readFileSync(path.join(dir, 'c.pem'), 'utf8');
    server = createServer({ key: readFileSync(path.join(dir, 'k.pem')), cert: ca }, (req, res) => {
      const m = /^\/m\/([^/]+)\/(director|repo)\/([^/]+)$/.exec(req.url ?? '');
      const go = m ? serve(m[2]!, m[3]!).catch(() => undefined) : Promise.resolve(undefined);
      void go.then((body) => {
        res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
        res.end(body ?? '{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}/m/x`;
  });
  after(async () => {
    server.close();
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a genuine release verifies and names its version', async () => {
    const bytes = image('v2 ');
    const p = await publish('st1', 'AC22', ['AC22'], '2.0.0', 1, bytes);
    serve = (kind, file) => live(kind === 'director' ? 'director/st1' : 'image/Acme', kind, file);
    assert.deepEqual(await check('st1', p, bytes), { version: '2.0.0', releaseCounter: 1 });
  });

  test('a replayed old release is refused', async () => {
    const old = image('v2.1 ');
    const oldPath = await publish('st1', 'AC22', ['AC22'], '2.1.0', 2, old);
    const recorded = { timestamp: await raw('director/st1', 'timestamp'), snapshot: await raw('director/st1', 'snapshot'), targets: await raw('director/st1', 'targets') };
    const fresh = image('v2.2 ');
    const freshPath = await publish('st1', 'AC22', ['AC22'], '2.2.0', 3, fresh);
    assert.equal((await check('st1', freshPath, fresh)).version, '2.2.0');
    // The attacker replays the director's earlier (validly signed) metadata for 2.1.0.
    serve = async (kind, file) => (kind === 'director' && !/root/.test(file) ? recorded[roleOf(file) as keyof typeof recorded] : live(kind === 'director' ? 'director/st1' : 'image/Acme', kind, file));
    await assert.rejects(check('st1', oldPath, old), (err: any) => err.status === 'InstallVerificationFailed' && /refused/.test(err.message));
  });

  test('a frozen repository (expired timestamp) is refused', async () => {
    const past = Date.now() - 3 * 86_400_000;
    const frozenTuf = createTufRepositories(createFirmwareStore(database), createKeyRing(dir, 'test-passphrase'), defaultLifetimes, () => past);
    const bytes = image('frozen ');
    const p = await publish('st2', 'AC22', ['AC22'], '3.0.0', 4, bytes, 'image/Frozen', frozenTuf);
    // The mirror keeps serving what it had: nothing re-signs the timestamp.
    serve = async (kind, file) => {
      const repo = kind === 'director' ? 'director/st2' : 'image/Frozen';
      if (/root/.test(file)) return live(repo, kind, file);
      return raw(repo, roleOf(file));
    };
    await assert.rejects(check('st2', p, bytes, {}, 'image/Frozen'), (err: any) => err.status === 'InstallVerificationFailed' && /Expired/i.test(err.message));
  });

  test('an image for another model is refused, even with director metadata for it', async () => {
    const bytes = image('dc ');
    const p = await publish('st3', 'AC22', ['DC150'], '2.5.0', 5, bytes);
    serve = (kind, file) => live(kind === 'director' ? 'director/st3' : 'image/Acme', kind, file);
    await assert.rejects(check('st3', p, bytes), (err: any) => err.status === 'InstallVerificationFailed' && /hardware/.test(err.message));
    const q = await publish('st4', 'DC150', ['DC150'], '2.6.0', 6, image('dc2 '));
    serve = (kind, file) => live(kind === 'director' ? 'director/st4' : 'image/Acme', kind, file);
    await assert.rejects(check('st4', q, image('dc2 ')), (err: any) => /hardware/.test(err.message));
  });

  test('a swapped image and a downgrade are refused', async () => {
    const bytes = image('v4 ');
    const p = await publish('st5', 'AC22', ['AC22'], '4.0.0', 7, bytes);
    serve = (kind, file) => live(kind === 'director' ? 'director/st5' : 'image/Acme', kind, file);
    await assert.rejects(check('st5', p, image('v4-evil ')), (err: any) => /does not match/.test(err.message));
    await assert.rejects(check('st5', p, bytes, { runningVersion: '5.0.0' }), (err: any) => /rollback refused/.test(err.message));
  });

  const DAY = 86_400_000;
  const at = (ms: number) => createTufRepositories(createFirmwareStore(database), createKeyRing(dir, 'test-passphrase'), defaultLifetimes, () => ms);

  test('a release published 8, 100 and 400 days ago still verifies: the node re-signs snapshot, targets and root', async () => {
    for (const [days, station] of [[8, 'old8'], [100, 'old100'], [400, 'old400']] as const) {
      const then = at(Date.now() - days * DAY);
      const bytes = image(`aged ${days} `);
      const repo = `image/Aged${days}`;
      const p = await publish(station, 'AC22', ['AC22'], '2.0.0', 1, bytes, repo, then);
      // The mirror is the live node: whatever is past half its life is signed again on the way out.
      serve = (kind, file) => live(kind === 'director' ? `director/${station}` : repo, kind, file);
      const roots = { imageRoot: JSON.parse((await tuf.root(repo, 1))!), directorRoot: JSON.parse((await tuf.root('director', 1))!) };
      assert.deepEqual(await check(station, p, bytes, { roots }, repo), { version: '2.0.0', releaseCounter: 1 }, `${days} days`);
    }
    // 400 days is past the first root's year: a new root version, signed by the same root key, was published.
    assert.ok(await tuf.root('image/Aged400', 2));
    assert.equal(JSON.parse((await tuf.root('image/Aged400', 2))!).signed.consistent_snapshot, true);
  });

  test('timestamp and snapshot are bound by hash: one station\'s snapshot under another\'s timestamp is refused by a plain tuf-js client', async () => {
    const a = image('bind a ');
    const b = image('bind b ');
    const pa = await publish('bindA', 'AC22', ['AC22'], '7.0.0', 1, a);
    await publish('bindB', 'AC22', ['AC22'], '7.0.1', 1, b);
    const plain = async (mirror: (file: string) => Promise<string | undefined>, cache: string) => {
      const d = path.join(dir, 'plain', cache);
      mkdirSync(d, { recursive: true });
      writeFileSync(path.join(d, 'root.json'), (await tuf.root('director', 1))!);
      serve = (kind, file) => (kind === 'director' ? mirror(file) : Promise.resolve(undefined));
      const updater = new Updater({ metadataDir: d, metadataBaseUrl: `${base}/director`, fetcher: new HttpsFetcher(ca) });
      await updater.refresh();
      return updater.getTargetInfo(pa);
    };
    assert.ok(await plain((f) => tuf.file('director/bindA', f), 'genuine'));
    // B's timestamp, A's snapshot, B's targets (each validly signed by the shared director keys).
    const mixed = async (file: string) => {
      const role = roleOf(file);
      if (role === 'root') return tuf.file('director/bindA', file);
      return raw(role === 'snapshot' ? 'director/bindA' : 'director/bindB', role);
    };
    await assert.rejects(plain(mixed, 'mixed'), /hash|length|mismatch/i);
  });

  test('root rotation: the old root signs the new one, clients follow it, metadata under the old keys is refused', async () => {
    const bytes = image('rotate ');
    const p = await publish('rot1', 'AC22', ['AC22'], '8.0.0', 1, bytes);
    serve = (kind, file) => live(kind === 'director' ? 'director/rot1' : 'image/Acme', kind, file);
    assert.equal((await check('rot1', p, bytes)).version, '8.0.0');
    const before = { timestamp: await raw('director/rot1', 'timestamp'), snapshot: await raw('director/rot1', 'snapshot'), targets: await raw('director/rot1', 'targets') };
    const oldRoot = JSON.parse((await tuf.root('director', 1))!);
    const rotated = await tuf.rotateRoot('director', ['root', 'targets', 'snapshot', 'timestamp']);
    const newRoot = JSON.parse((await tuf.root('director', rotated.version))!);
    // Signed by the old root key and the new one.
    const sigs = newRoot.signatures.map((x: { keyid: string }) => x.keyid);
    assert.ok(sigs.includes(oldRoot.signed.roles.root.keyids[0]) && sigs.includes(rotated.keyids.root[0]));
    assert.notEqual(rotated.keyids.timestamp[0], oldRoot.signed.roles.timestamp.keyids[0]);
    // A station that trusted the old root (cached) and one that starts from root 1 both follow the rotation.
    assert.equal((await check('rot1', p, bytes)).version, '8.0.0');
    assert.equal((await check('rot1', p, bytes, { cacheDir: path.join(dir, 'cache', 'rot1-fresh') })).version, '8.0.0');
    // Metadata signed with the retired keys no longer verifies.
    serve = async (kind, file) => (kind === 'director' && !/root/.test(file) ? before[roleOf(file) as keyof typeof before] : live(kind === 'director' ? 'director/rot1' : 'image/Acme', kind, file));
    await assert.rejects(check('rot1', p, bytes, { cacheDir: path.join(dir, 'cache', 'rot1-stale') }), (err: any) => err.status === 'InstallVerificationFailed');
  });
});
