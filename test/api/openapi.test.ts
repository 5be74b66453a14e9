/**
 * The node's OpenAPI document, as a client reads it from a running node:
 * valid OpenAPI 3 (checked against the specification's own JSON Schema by
 * @seriousme/openapi-schema-validator), every operation with a one-line
 * summary, a module tag and a described success body, every error it
 * declares answering the one shared Error shape, and the internals hidden.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startTestNode } from '../support/node.js';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const ERROR_REF = '#/components/schemas/Error';

type Schema = { $ref?: string; allOf?: Schema[]; oneOf?: Schema[] };
type Op = {
  summary?: string;
  tags?: string[];
  security?: unknown[];
  responses?: Record<string, { content?: Record<string, { schema?: Schema }> }>;
};

test('OpenAPI document: valid, every operation summarised with its bodies and the shared error shape', async (t) => {
  const node = await startTestNode({ db: 'sqlite' });
  t.after(() => node.stop());
  const res = await node.api('GET', '/api/v1/openapi.json');
  assert.equal(res.status, 200);
  const doc = res.body;
  const schemas: Record<string, Schema> = doc.components?.schemas ?? {};

  await t.test('is a valid OpenAPI 3 document whose references all resolve', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    assert.deepEqual(result.errors ?? [], [], 'the OpenAPI 3.0 schema');
    assert.equal(result.valid, true);
    const dangling = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)]
      .map((m) => m[1]!)
      .filter((r) => !r.startsWith('#/components/schemas/') || !(r.slice('#/components/schemas/'.length) in schemas));
    assert.deepEqual([...new Set(dangling)], []);
  });

  await t.test('the shared Error shape is the body the API sends', async () => {
    const error = schemas.Error as any;
    assert.deepEqual(error?.required, ['error']);
    assert.deepEqual(Object.keys(error.properties.error.properties).sort(), ['code', 'message']);
    const unknown = await node.api('GET', '/api/v1/stations/NOPE-404');
    assert.equal(unknown.status, 404);
    assert.deepEqual(Object.keys(unknown.body), ['error']);
    assert.deepEqual(Object.keys(unknown.body.error).sort(), ['code', 'message']);
  });

  const operations: [string, Op][] = [];
  for (const [path, item] of Object.entries<Record<string, Op>>(doc.paths)) {
    for (const m of METHODS) if (item[m]) operations.push([`${m.toUpperCase()} ${path}`, item[m]]);
  }

  await t.test('lists the API, and not the internals', () => {
    assert.ok(operations.length >= 90, `only ${operations.length} operations`);
    const paths = Object.keys(doc.paths);
    for (const hidden of ['/api/v1/openapi.json', '/healthz', '/readyz', '/metrics', '/']) assert.ok(!paths.includes(hidden), hidden);
    assert.ok(!paths.some((p) => p.startsWith('/firmware/d/')), 'firmware downloads');
    for (const expected of ['/api/v1/stations', '/api/v1/transactions', '/api/v1/alerts', '/api/v1/security-events', '/api/v1/campaigns', '/api/v1/certificates', '/taxii2/']) {
      assert.ok(paths.includes(expected), expected);
    }
  });

  await t.test('every operation has a one-line summary and a module tag', () => {
    const tags = new Set((doc.tags as { name: string }[]).map((x) => x.name));
    const problems: string[] = [];
    for (const [name, op] of operations) {
      if (typeof op.summary !== 'string' || op.summary.trim().length < 8 || op.summary.includes('\n')) problems.push(`${name}: summary ${JSON.stringify(op.summary)}`);
      if (!op.tags?.length || !op.tags.every((x) => tags.has(x))) problems.push(`${name}: tags ${JSON.stringify(op.tags)}`);
    }
    assert.deepEqual(problems, []);
  });

  await t.test('every operation describes its success body', () => {
    const problems: string[] = [];
    for (const [name, op] of operations) {
      const ok = Object.entries(op.responses ?? {}).filter(([status]) => /^2\d\d$/.test(status));
      if (ok.length === 0) problems.push(`${name}: no 2xx response`);
      for (const [status, response] of ok) {
        if (status === '204') continue;
        const media = Object.entries(response.content ?? {});
        if (media.length === 0) problems.push(`${name} ${status}: no content`);
        for (const [type, { schema }] of media) {
          if (!schema || Object.keys(schema).length === 0) problems.push(`${name} ${status} ${type}: no schema`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  await t.test('every declared error answers the shared Error shape', () => {
    // The Error shape itself, a shape built on it (TAXII's error adds its own fields), or a choice that includes it.
    const isError = (s: Schema | undefined): boolean =>
      s?.$ref === ERROR_REF || (!!s?.$ref && isError(schemas[s.$ref.slice('#/components/schemas/'.length)])) || !!s?.allOf?.some(isError) || !!s?.oneOf?.some(isError);
    const problems: string[] = [];
    for (const [name, op] of operations) {
      const failures = Object.entries(op.responses ?? {}).filter(([status]) => /^[45]\d\d$/.test(status));
      for (const [status, response] of failures) {
        const media = Object.entries(response.content ?? {});
        if (media.length === 0) problems.push(`${name} ${status}: no content`);
        for (const [type, { schema }] of media) if (!isError(schema)) problems.push(`${name} ${status} ${type}: ${JSON.stringify(schema).slice(0, 80)}`);
      }
      // An operation that needs a token says what happens without one, and with one too weak.
      const needsToken = op.security === undefined || op.security.length > 0;
      if (needsToken && !(op.responses?.['401'] && op.responses['403'])) problems.push(`${name}: needs a token but declares no 401 and 403`);
    }
    assert.deepEqual(problems, []);
  });
});
