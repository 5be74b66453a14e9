/** Shared set-up for the trust tests: a real SQLite database in a fresh data dir, a local bus, and OpenSSL as the judge. */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { webcrypto } from 'node:crypto';
import * as x509 from '../../src/trust/x509.js';
import { createLocalBus, type Bus, type BusEvent } from '../../src/bus/index.js';
import { migrate, openDatabase, type Database } from '../../src/store/index.js';
import { createTrust, trustMigrations, type Trust, type TrustConfig } from '../../src/trust/index.js';
import { nodeMigrations } from '../../src/app.js';

export interface Fixture {
  dir: string;
  db: Database;
  bus: Bus;
  events: BusEvent[];
  trust: Trust;
  file(name: string, text: string | Buffer): string;
  close(): Promise<void>;
}

export async function openFixture(config: Partial<TrustConfig> = {}, existing?: { dir: string }, databaseUrl?: string): Promise<Fixture> {
  const dir = existing?.dir ?? mkdtempSync(path.join(tmpdir(), 'evg-trust-'));
  const db = await openDatabase({ dataDir: dir, databaseUrl });
  // A data dir the CLI opened before carries the node's whole schema (the migrator refuses a partial set).
  await migrate(db, existing ? nodeMigrations() : trustMigrations);
  const bus = createLocalBus();
  const events: BusEvent[] = [];
  bus.subscribe('certificate.*', (e) => events.push(e));
  const trust = await createTrust({ db, bus }, { dataDir: dir, organization: 'evguard', hostnames: ['csms.example.test'], keyPassphrase: 'test passphrase', ...config });
  await trust.ensureHierarchies();
  return {
    dir, db, bus, events, trust,
    file(name, text) {
      const f = path.join(dir, name);
      writeFileSync(f, text);
      return f;
    },
    async close() {
      await db.close();
      await bus.close();
      if (!existing) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const wc = webcrypto as unknown as Crypto;

/** A station-side key and CSR, made with @peculiar/x509 as a station would. */
export async function makeCsr(subject: string, alg: 'P-256' | 'P-521' | 'RSA-2048' | 'RSA-1024' = 'P-256') {
  const params = alg.startsWith('RSA')
    ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: Number(alg.slice(4)) }
    : { name: 'ECDSA', namedCurve: alg, hash: alg === 'P-521' ? 'SHA-512' : 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(params as any, true, ['sign', 'verify'])) as unknown as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: subject, keys: keys as any, signingAlgorithm: params }, wc);
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as any));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n`;
  return { csrPem: csr.toString('pem'), keyPem, keys };
}

export function openssl(args: string[], input?: string | Buffer): string {
  return execFileSync('openssl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 30_000 });
}

/** Runs openssl and returns stdout+stderr and the exit code without throwing. */
export function opensslAsync(args: string[], input = ''): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile('openssl', args, { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as any).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
    child.stdin!.on('error', () => {});
    child.stdin!.end(input);
  });
}

export const pemBlocks = (text: string) => text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
