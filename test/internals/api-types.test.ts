import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { API_TYPES_FILE, renderApiTypes, servedOpenApi } from '../../scripts/api-types-render.js';

test('the console\'s API types are the shapes the node\'s OpenAPI document declares (regenerate with npm run api:types)', async () => {
  const doc = await servedOpenApi();
  assert.ok(Object.keys(doc.components.schemas).includes('Station'), 'the document names its shapes');
  assert.equal(readFileSync(API_TYPES_FILE, 'utf8'), await renderApiTypes(doc), 'web/src/api-types.ts is out of date: run npm run api:types');
});
