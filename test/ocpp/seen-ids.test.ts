/**
 * The window of used message ids: a reuse among the last `kept` ids is
 * caught whatever the ids look like, older ones are forgotten, and memory
 * does not depend on how long the ids are.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeenIds } from '../../src/ocpp/seen-ids.js';
import { startTestNode } from '../support/node.js';
import { connectRaw } from '../support/raw-client.js';

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

test('ids that differ only in unpaired surrogates, or in one against U+FFFD, are different ids', () => {
  const seen = new SeenIds(1024);
  for (const id of ['\ud800', '\ud801', '\udc00', '\ufffd', 'a\ud800', 'a\ud801', 'a\ud800\ud800', 'a\ufffd\ufffd']) assert.equal(seen.add(id), true, `${JSON.stringify(id)} is new`);
  assert.equal(seen.add('\ud801'), false);
});

test('over the wire, a fresh message id whose text only differs in an escaped unpaired surrogate is answered, not refused as a replay', async (t) => {
  const node = await startTestNode();
  t.after(() => node.stop());
  await node.api('POST', '/api/v1/stations', { id: 'SURROGATE1', securityProfile: 1, password: 'surrogate-password-0001' });
  const c = await connectRaw(`${node.ws}/SURROGATE1`, { protocol: 'ocpp2.0.1', user: 'SURROGATE1', password: 'surrogate-password-0001' });
  t.after(() => c.close());
  // JSON escapes are plain ASCII on the wire; each id is a different string once parsed.
  const ids = ['\\ud800', '\\ud801', '\\ufffd'];
  for (const id of ids) {
    const answer = await c.send(`[2,"${id}","Heartbeat",{}]`);
    assert.equal(answer[0], 3, `message id "${id}" is new and answered (got ${JSON.stringify(answer)})`);
    assert.equal(answer[1], JSON.parse(`"${id}"`));
  }
  const replay = await c.send(`[2,"${ids[1]}","Heartbeat",{}]`);
  assert.equal(replay[0], 4, 'the same id again is still refused');
});
