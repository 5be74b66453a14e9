import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderErrorsDoc } from '../../scripts/errors-doc-render.js';
import { declaredErrorCodes } from '../../src/errors.js';

test('every error code is documented in docs/errors.md (regenerate with npm run docs:errors)', async () => {
  const expected = await renderErrorsDoc();
  const actual = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  for (const code of declaredErrorCodes().keys()) assert.ok(actual.includes(`\`${code}\``), `${code} is missing from docs/errors.md`);
  assert.equal(actual, expected, 'docs/errors.md is out of date: run npm run docs:errors');
});
