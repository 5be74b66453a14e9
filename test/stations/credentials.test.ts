/** Station password hashing: cost by origin, hostile hashes, the in-memory verified cache. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, scryptSync } from 'node:crypto';
import { createVerifiedCache, generatePassword, hashPassword, verifyPassword } from '../../src/stations/credentials.js';

test('generated passwords get a salted HMAC-SHA-256, chosen ones interactive-cost scrypt; both verify', async () => {
  const generated = generatePassword();
  const g = await hashPassword(generated, 'generated');
  const c = await hashPassword('correct-horse-battery-1');
  assert.match(g, /^hmac-sha256\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
  assert.notEqual(await hashPassword(generated, 'generated'), g, 'salted: the same password hashes differently each time');
  assert.match(c, /^scrypt\$16384\$8\$1\$/);
  assert.equal(await verifyPassword(generated, g), true);
  assert.equal(await verifyPassword('correct-horse-battery-1', c), true);
  assert.equal(await verifyPassword('correct-horse-battery-2', c), false);
  assert.equal(await verifyPassword(generated.slice(1), g), false);
  assert.equal(await verifyPassword(generated + 'x', g), false);
});

test('a generated password hashed earlier with scrypt (N=2^10) still verifies', async () => {
  const generated = generatePassword();
  const salt = randomBytes(16);
  const old = `scrypt$1024$8$1$${salt.toString('base64')}$${scryptSync(generated, salt, 32, { N: 1024, r: 8, p: 1 }).toString('base64')}`;
  assert.equal(await verifyPassword(generated, old), true);
  assert.equal(await verifyPassword(generatePassword(), old), false);
});

test('a malformed HMAC hash is refused, not compared', async () => {
  const g = await hashPassword('generated-password-0001', 'generated');
  const [, salt, mac] = g.split('$');
  for (const bad of [`hmac-sha256$${salt}`, `hmac-sha256$$${mac}`, `hmac-sha256$${salt}$${mac!.slice(0, 20)}`, `hmac-sha256$AAAA$${mac}`, `hmac-sha256$${salt}$${mac}$x`]) {
    assert.equal(await verifyPassword('generated-password-0001', bad), false, bad);
  }
});

test('a hash with hostile parameters is refused instead of computed', async () => {
  const c = await hashPassword('correct-horse-battery-1');
  const [, , r, p, salt, key] = c.split('$');
  for (const params of ['1048576$8$1', '1000$8$1', '16384$1000$1', '16384$8$64', 'x$8$1']) {
    assert.equal(await verifyPassword('correct-horse-battery-1', `scrypt$${params}$${salt}$${key}`), false, params);
  }
  assert.equal(await verifyPassword('correct-horse-battery-1', `scrypt$16384$${r}$${p}$${salt}`), false);
  assert.equal(await verifyPassword('correct-horse-battery-1', 'plain-text'), false);
  // An empty or short key (or salt) is malformed: an empty key must not make any password verify.
  for (const bad of [`scrypt$16384$${r}$${p}$${salt}$`, `scrypt$1024$8$1$$`, `scrypt$16384$${r}$${p}$${salt}$${key!.slice(0, 8)}`, `scrypt$16384$${r}$${p}$$${key}`]) {
    assert.equal(await verifyPassword('any-other-password-9', bad), false, bad);
  }
});

test('the verified cache answers repeats, refuses wrong passwords and forgets a rotated hash', async () => {
  const cache = createVerifiedCache();
  const first = await hashPassword('first-password-0001', 'generated');
  assert.equal(await cache.verify('CS1', 'first-password-0001', first), true);
  assert.equal(await cache.verify('CS1', 'first-password-0001', first), true);
  assert.equal(await cache.verify('CS1', 'first-password-0002', first), false);
  // Another station with the same password text is checked on its own.
  assert.equal(await cache.verify('CS2', 'first-password-0001', first), true);
  const rotated = await hashPassword('second-password-001', 'generated');
  assert.equal(await cache.verify('CS1', 'first-password-0001', rotated), false);
  assert.equal(await cache.verify('CS1', 'second-password-001', rotated), true);
});
