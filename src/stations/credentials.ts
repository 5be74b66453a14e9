/**
 * Station passwords (security profiles 1 and 2): stored only as salted
 * hashes, compared in constant time.
 *
 * The hash depends on where the password came from. An operator-chosen
 * password may be guessable, so it gets scrypt at the interactive-login
 * setting (N=2^14, r=8, p=1: 16 MiB and tens of ms per check, off the event
 * loop on libuv's thread pool). A password evguard generated has ~190 bits of
 * entropy: no work factor makes guessing it any harder (2^190 tries, each
 * one SHA-256 or one scrypt, are equally out of reach), while every check
 * costs the node CPU in a reconnect storm, where each station is checked once
 * after a restart. So it is stored as HMAC-SHA-256 keyed with a random salt,
 * as high-entropy API tokens are. Hashes made earlier (scrypt with N=2^10 for
 * generated passwords) still verify; a rotation stores the new form.
 */
import { createHmac, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const CHOSEN = { N: 16384, r: 8, p: 1, keylen: 32 } as const;

/** OCPP 2.0.1 Part 2 §A00.FR.205: 16–40 characters (1.6 security whitepaper: same). */
export const PASSWORD_MIN = 16;
export const PASSWORD_MAX = 40;

function scryptAsync(password: Buffer | string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, keylen, { ...opts, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))));
}

const saltedMac = (salt: Buffer, password: Buffer | string) => createHmac('sha256', salt).update(password).digest();

export async function hashPassword(password: string, origin: 'chosen' | 'generated' = 'chosen'): Promise<string> {
  const salt = randomBytes(16);
  if (origin === 'generated') return `hmac-sha256$${salt.toString('base64')}$${saltedMac(salt, password).toString('base64')}`;
  const key = await scryptAsync(password, salt, CHOSEN.keylen, CHOSEN);
  return `scrypt$${CHOSEN.N}$${CHOSEN.r}$${CHOSEN.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/**
 * A stored hash's salt and key, or undefined when malformed. Every hash evguard
 * wrote has a 16-byte salt and a 32-byte key; an empty key would match any
 * password's empty derivation (timingSafeEqual of two empty buffers is true).
 */
function saltAndKey(salt: string, key: string): { salt: Buffer; expected: Buffer } | undefined {
  const s = Buffer.from(salt, 'base64');
  const expected = Buffer.from(key, 'base64');
  return s.length < 16 || expected.length !== 32 ? undefined : { salt: s, expected };
}

export async function verifyPassword(password: Buffer | string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length === 3 && parts[0] === 'hmac-sha256') {
    const hash = saltAndKey(parts[1]!, parts[2]!);
    return !!hash && timingSafeEqual(saltedMac(hash.salt, password), hash.expected);
  }
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  // A hash is data from the database: refuse parameters that would make one check a denial of service.
  if (!(N >= 2 && N <= CHOSEN.N && Number.isInteger(Math.log2(N)) && r >= 1 && r <= 16 && p >= 1 && p <= 4)) return false;
  const hash = saltAndKey(parts[4]!, parts[5]!);
  if (!hash) return false;
  const actual = await scryptAsync(password, hash.salt, hash.expected.length, { N, r, p });
  return timingSafeEqual(actual, hash.expected);
}

/** A fresh password in OCPP's allowed character set (passwordString), 32 characters, ~190 bits. */
export function generatePassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = randomBytes(32);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

export function passwordProblem(password: unknown): string | undefined {
  if (typeof password !== 'string') return 'password must be a string';
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) return `password must be ${PASSWORD_MIN}–${PASSWORD_MAX} characters`;
  // passwordString: printable ASCII without ':' issues in Basic auth (the colon is allowed after the first).
  if (!/^[\x21-\x7e]+$/.test(password)) return 'password must be printable ASCII without spaces';
  return undefined;
}

/**
 * Remembers, in memory only, that a station's password was verified against
 * its current hash, so a station with an operator-chosen password that
 * reconnects after a network blip costs an HMAC instead of a scrypt. The key
 * is random per process and never stored; a changed hash (rotation) or a
 * restart invalidates every entry.
 */
export function createVerifiedCache(maxEntries = 200_000) {
  const key = randomBytes(32);
  // The MAC is kept as a 32-character one-byte string: a Buffer of 32 bytes
  // costs about 220 bytes of heap (its view, ArrayBuffer and backing store).
  const entries = new Map<string, { hash: string; mac: string }>();
  const mac = (stationId: string, password: Buffer | string) => createHmac('sha256', key).update(stationId).update('\0').update(password).digest();
  return {
    async verify(stationId: string, password: Buffer | string, hash: string): Promise<boolean> {
      const known = entries.get(stationId);
      if (known && known.hash === hash) return timingSafeEqual(Buffer.from(known.mac, 'latin1'), mac(stationId, password));
      if (!(await verifyPassword(password, hash))) return false;
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
      entries.set(stationId, { hash, mac: mac(stationId, password).toString('latin1') });
      return true;
    },
  };
}
