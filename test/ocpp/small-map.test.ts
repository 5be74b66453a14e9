/**
 * SmallMap (slim-client.ts) stands in for ocpp-rpc's maps of calls in
 * flight: for the methods ocpp-rpc uses it must answer as a Map does,
 * whatever the order of operations, with one entry or many.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmallMap } from '../../src/ocpp/slim-client.js';

test('SmallMap answers has, get, set, delete, size and values as a Map does', () => {
  let seed = 42;
  const random = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n);
  const small = new SmallMap<string, number>();
  const map = new Map<string, number>();
  for (let step = 0; step < 20_000; step++) {
    const key = `id-${random(6)}`;
    const op = random(4);
    if (op === 0) assert.equal(small.set(key, step), small);
    if (op === 0) map.set(key, step);
    if (op === 1) assert.equal(small.delete(key), map.delete(key), `delete ${key} at step ${step}`);
    assert.equal(small.has(key), map.has(key), `has ${key} at step ${step}`);
    assert.equal(small.get(key), map.get(key), `get ${key} at step ${step}`);
    assert.equal(small.size, map.size, `size at step ${step}`);
    assert.deepEqual([...small.values()].sort(), [...map.values()].sort(), `values at step ${step}`);
  }
});
