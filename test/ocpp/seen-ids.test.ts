/**
 * The window of used message ids: a reuse among the last `kept` ids is
 * caught whatever the ids look like, older ones are forgotten, and memory
 * does not depend on how long the ids are.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeenIds } from '../../src/ocpp/seen-ids.js';

test('every reuse among the last 1,024 ids is caught, across the ring growing and wrapping', () => {
  const seen = new SeenIds(1024);
  for (let i = 0; i < 5000; i++) {
    assert.equal(seen.add(`id-${i}`), true, `id-${i} is new`);
    // The id just recorded and the oldest one still kept are both refused.
    assert.equal(seen.add(`id-${i}`), false);
    assert.equal(seen.add(`id-${Math.max(0, i - 1023)}`), false, `id-${Math.max(0, i - 1023)} is within the window at ${i}`);
  }
  assert.equal(seen.size, 1024);
});

test('an id older than the window is accepted again', () => {
  const seen = new SeenIds(4);
  for (const id of ['a', 'b', 'c', 'd', 'e']) assert.equal(seen.add(id), true);
  assert.equal(seen.add('a'), true, 'a left the window when e came');
  assert.equal(seen.add('c'), false);
});

test('counter-style ids (1, 2, 3, …) and near-identical long ids do not collide', () => {
  const seen = new SeenIds(1024);
  const long = 'x'.repeat(60_000);
  for (let i = 0; i < 1024; i++) assert.equal(seen.add(String(i)), true);
  for (let i = 0; i < 1024; i++) assert.equal(seen.add(`${long}${i}`), true);
});

test('memory grows with use, not with the length of the ids', () => {
  const seen = new SeenIds(1024);
  assert.ok(seen.bytes <= 128, `a fresh window holds ${seen.bytes} bytes`);
  for (let i = 0; i < 1024; i++) seen.add(`${'y'.repeat(64 * 1024)}${i}`);
  assert.equal(seen.bytes, 8 * 1024);
});

test('a window of a size that is not a power of two still keeps exactly that many', () => {
  const seen = new SeenIds(100);
  for (let i = 0; i < 300; i++) seen.add(`n${i}`);
  assert.equal(seen.size, 100);
  assert.equal(seen.add('n200'), false);
  assert.equal(seen.add('n199'), true);
  assert.throws(() => new SeenIds(0), RangeError);
});
