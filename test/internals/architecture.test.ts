/**
 * Who may import whom: the rules in .dependency-cruiser.cjs hold for src/,
 * and each rule catches the import it is written against (a small tree in
 * fixtures/layering breaks every one).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Violation { rule: { name: string }; from: string; to: string; cycle?: { name: string }[] }

function cruise(cwd: string): Promise<Violation[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [DEPCRUISE, '--config', CONFIG, '--output-type', 'json', 'src'], { cwd, maxBuffer: 256 * 2 ** 20 }, (err, stdout, stderr) => {
      // depcruise exits non-zero when it finds violations; the JSON on stdout says which.
      if (!stdout) return reject(new Error(`dependency-cruiser failed: ${stderr || err?.message}`));
      resolve(JSON.parse(stdout).summary.violations);
    });
  });
}

const describe = (v: Violation) => `${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (cycle ${v.cycle.map((c) => c.name).join(' → ')})` : ''}`;

test('src/ keeps the import rules of docs/architecture.md (no cycles, the root program private, the transport behind the StationCommands port, one owner per table, typed tables only in stores)', async () => {
  const violations = await cruise(ROOT);
  assert.deepEqual(violations.map(describe), []);
});

test('each import rule catches what it forbids', async () => {
  const violations = await cruise(path.join(ROOT, 'test/internals/fixtures/layering'));
  const fired = new Set(violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`));
  for (const expected of [
    'cli-is-the-root: src/grid/index.ts → src/cli/main.ts',
    'domain-not-transport: src/grid/index.ts → src/ocpp/gateway.ts',
    'tables-have-one-owner: src/grid/index.ts → src/stations/store.ts',
    'typed-tables-in-stores: src/grid/index.ts → src/store/tables.ts',
    'no-cycles: src/a/one.ts → src/a/two.ts',
  ]) assert.ok(fired.has(expected), `${expected} not reported; got ${[...fired].join('; ')}`);
});
