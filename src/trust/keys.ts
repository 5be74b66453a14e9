/**
 * Private keys at rest: one file per key under `<dataDir>/keys/`, PKCS#8
 * encrypted with AES-256-CBC under PBKDF2 (what Node and OpenSSL write for
 * `-----BEGIN ENCRYPTED PRIVATE KEY-----`), mode 0600 in a 0700 folder. The
 * passphrase comes from EVGUARD_KEY_PASSPHRASE; without one a random master
 * key is generated into `keys/master.key` so a fresh node still never writes
 * a key in clear, and the operator is warned that key and lock sit together.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { trustErrors } from './errors.js';
import type { KeySpec } from './profiles.js';

export interface KeyVault {
  readonly dir: string;
  has(name: string): boolean;
  /** Decrypts the named key; undefined when there is no such file. */
  load(name: string): KeyObject | undefined;
  save(name: string, key: KeyObject): void;
  /** Reads a clear or encrypted PEM the operator supplies (import). */
  parseOperatorKey(pem: string, passphrase?: string): KeyObject;
}

export function resolvePassphrase(dataDir: string, configured: string | undefined, warn: (msg: string) => void): string {
  if (configured) return configured;
  const dir = keysDir(dataDir);
  const file = path.join(dir, 'master.key');
  if (existsSync(file)) {
    chmodSync(file, 0o600);
    return readFileSync(file, 'utf8').trim();
  }
  writeSecret(file, randomBytes(32).toString('hex') + '\n');
  warn(`EVGUARD_KEY_PASSPHRASE is not set: generated ${file}; private keys are encrypted with it, so keep this file away from backups of the keys or set EVGUARD_KEY_PASSPHRASE`);
  return readFileSync(file, 'utf8').trim();
}

export function createKeyVault(dataDir: string, passphrase: string): KeyVault {
  const dir = keysDir(dataDir);
  const file = (name: string) => {
    if (!/^[a-z0-9][a-z0-9.-]{0,80}$/.test(name)) throw new Error(`invalid key name ${name}`);
    return path.join(dir, `${name}.key.pem`);
  };
  return {
    dir,
    has: (name) => existsSync(file(name)),
    load(name) {
      const f = file(name);
      if (!existsSync(f)) return undefined;
      try {
        return createPrivateKey({ key: readFileSync(f, 'utf8'), format: 'pem', passphrase });
      } catch (err) {
        throw trustErrors.KEY_PASSPHRASE_WRONG(`cannot decrypt ${f}: is EVGUARD_KEY_PASSPHRASE the one it was written with?`, { cause: err });
      }
    },
    save(name, key) {
      const pem = key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) as string;
      writeSecret(file(name), pem);
    },
    parseOperatorKey(pem, operatorPassphrase) {
      try {
        const key = createPrivateKey({ key: pem, format: 'pem', passphrase: operatorPassphrase ?? passphrase });
        if (key.type !== 'private') throw new Error('not a private key');
        return key;
      } catch (err) {
        throw trustErrors.CA_IMPORT_INVALID(`the key file is not a PEM private key we can read: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}

function keysDir(dataDir: string): string {
  const dir = path.join(dataDir, 'keys');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return dir;
}

/** Writes through a temporary file so a crash never leaves half a key, and creates it 0600 so it is never readable by others, not even briefly. */
function writeSecret(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, file);
  chmodSync(file, 0o600);
}

export function generateKey(spec: KeySpec): KeyObject {
  if (spec.startsWith('RSA-')) {
    return generateKeyPairSync('rsa', { modulusLength: Number(spec.slice(4)) }).privateKey;
  }
  return generateKeyPairSync('ec', { namedCurve: spec }).privateKey;
}

const CURVES: Record<string, { curve: string; hash: string }> = {
  prime256v1: { curve: 'P-256', hash: 'SHA-256' },
  secp384r1: { curve: 'P-384', hash: 'SHA-384' },
  secp521r1: { curve: 'P-521', hash: 'SHA-512' },
};

/** The key's curve in WebCrypto spelling, or undefined for RSA. */
export function curveOf(key: KeyObject): string | undefined {
  const named = key.asymmetricKeyDetails?.namedCurve;
  return named ? CURVES[named]?.curve : undefined;
}

export interface SigningKey {
  readonly key: webcrypto.CryptoKey;
  readonly algorithm: { name: string; hash: string };
  /** Node digest name for crypto.sign (OCSP responses). */
  readonly nodeHash: string;
}

/**
 * Imports a private KeyObject into WebCrypto for @peculiar/x509. The hash
 * follows the curve (SHA-256 for P-256, SHA-512 for P-521 per ISO 15118-20).
 */
export async function toSigningKey(key: KeyObject): Promise<SigningKey> {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  if (key.asymmetricKeyType === 'ec') {
    const c = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!c) throw trustErrors.CA_IMPORT_INVALID(`unsupported curve ${key.asymmetricKeyDetails?.namedCurve}`);
    const algorithm = { name: 'ECDSA', hash: c.hash };
    const k = await webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: c.curve }, false, ['sign']);
    return { key: k, algorithm, nodeHash: c.hash.replace('-', '').toLowerCase() };
  }
  if (key.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const k = await webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
    return { key: k, algorithm, nodeHash: 'sha256' };
  }
  throw trustErrors.CA_IMPORT_INVALID(`unsupported key type ${key.asymmetricKeyType}`);
}
