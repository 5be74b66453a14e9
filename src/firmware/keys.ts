/**
 * TUF signing keys (Ed25519), one file per role under
 * <dataDir>/firmware/keys, PKCS#8 encrypted with the node's key passphrase
 * and written with mode 0600. Root and targets keys sign rarely and may be
 * moved off the node: a missing root key only blocks root rotation, a
 * missing targets key blocks new releases, never serving existing ones.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Key, Signature } from '@tufjs/models';

export interface RoleKey {
  readonly name: string;
  readonly key: Key;
  sign(data: Buffer): Signature;
}

export interface KeyRing {
  /** Loads or creates the named key. */
  get(name: string): RoleKey;
  /** The key's private half is on this node. */
  has(name: string): boolean;
  /** The passphrase key files are encrypted with. */
  passphrase(): string;
}

export function createKeyRing(dataDir: string, passphrase?: string): KeyRing {
  const dir = path.join(dataDir, 'firmware', 'keys');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secret = passphrase ?? masterSecret(dir);
  const cache = new Map<string, RoleKey>();
  const file = (name: string) => path.join(dir, `${name.replace(/[^a-zA-Z0-9_.-]/g, '_')}.key.pem`);

  function load(name: string): RoleKey {
    const f = file(name);
    let privateKey: KeyObject;
    if (existsSync(f)) {
      privateKey = createPrivateKey({ key: readFileSync(f, 'utf8'), passphrase: secret });
    } else {
      privateKey = generateKeyPairSync('ed25519').privateKey;
      const pem = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: secret }) as string;
      const tmp = `${f}.${randomBytes(4).toString('hex')}.tmp`;
      writeFileSync(tmp, pem, { mode: 0o600 });
      renameSync(tmp, f);
    }
    return roleKey(name, privateKey);
  }

  return {
    get(name) {
      let k = cache.get(name);
      if (!k) cache.set(name, (k = load(name)));
      return k;
    },
    has: (name) => existsSync(file(name)),
    passphrase: () => secret,
  };
}

/** Raw 32-byte Ed25519 public key in hex, as TUF's ed25519 key type spells it. */
export function ed25519Hex(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return der.subarray(der.length - 32).toString('hex');
}

export function roleKey(name: string, privateKey: KeyObject): RoleKey {
  const publicHex = ed25519Hex(createPublicKey(privateKey));
  // TUF names a key by the hash of its canonical public form.
  const keyID = createHash('sha256').update(JSON.stringify({ keytype: 'ed25519', keyval: { public: publicHex }, scheme: 'ed25519' })).digest('hex');
  const key = new Key({ keyID, keyType: 'ed25519', scheme: 'ed25519', keyVal: { public: publicHex } });
  return {
    name,
    key,
    sign: (data) => new Signature({ keyID, sig: sign(null, data, privateKey).toString('hex') }),
  };
}

function masterSecret(dir: string): string {
  const f = path.join(dir, 'master.key');
  if (!existsSync(f)) writeFileSync(f, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  chmodSync(f, 0o600);
  return readFileSync(f, 'utf8').trim();
}
