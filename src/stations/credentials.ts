/**
 * Station passwords (security profiles 1 and 2): stored only as scrypt hashes,
 * verified off the event loop (crypto.scrypt runs on libuv's thread pool) and
 * compared in constant time.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** N=2^14, r=8, p=1: the interactive-login setting; 16 MiB per check. */
const PARAMS = { N: 16384, r: 8, p: 1, keylen: 32 } as const;

/** OCPP 2.0.1 Part 2 §A00.FR.205: 16–40 characters (1.6 security whitepaper: same). */
export const PASSWORD_MIN = 16;
export const PASSWORD_MAX = 40;

function scryptAsync(password: Buffer | string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, keylen, { ...opts, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, PARAMS.keylen, PARAMS);
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: Buffer | string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  const actual = await scryptAsync(password, salt, expected.length, { N, r, p });
  return timingSafeEqual(actual, expected);
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
