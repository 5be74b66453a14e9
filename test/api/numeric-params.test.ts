/**
 * Every numeric query parameter of every GET route, from the OpenAPI
 * document, against the values an attacker tries first: a value out of range
 * or not a number is a 400 with a JSON error, never a 500. Ajv's coercion
 * turns "Infinity" (with or without a sign or blanks) into a number as
 * readily as "1e400".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode } from '../support/node.js';

const HOSTILE = ['Infinity', '-Infinity', '+Infinity', ' Infinity', '1e400', '-1e400', '99999999999999999999', '-1', '1.5', 'abc', 'NaN', '0x7fffffffffffffff'];

test('numeric query parameters on every route: hostile values are 400, never 500', async (t) => {
  const node = await startTestNode({ db: 'sqlite' });
  t.after(() => node.stop());
  const spec = (await node.api('GET', '/api/v1/openapi.json')).body;
  const failures: string[] = [];
  let checked = 0;
  for (const [route, ops] of Object.entries<any>(spec.paths)) {
    const params = (ops.get?.parameters ?? []) as { in: string; name: string; schema?: { type?: string | string[] } }[];
    for (const p of params.filter((x) => x.in === 'query' && [x.schema?.type].flat().some((ty) => ty === 'integer' || ty === 'number'))) {
      for (const value of HOSTILE) {
        const url = `${route.replace(/\{[^}]+\}/g, 'CP1')}?${p.name}=${encodeURIComponent(value)}`;
        const res = await node.api('GET', url);
        checked++;
        if (res.status >= 500 || (res.status === 400 && !res.body?.error?.code)) failures.push(`${res.status} GET ${url}`);
      }
    }
  }
  assert.ok(checked >= 50, `only ${checked} requests: the OpenAPI document lists fewer numeric parameters than expected`);
  assert.deepEqual(failures, []);
  // A string parameter may still be spelt like a number.
  assert.equal((await node.api('GET', '/api/v1/firmware?vendor=Infinity')).status, 200);
});
