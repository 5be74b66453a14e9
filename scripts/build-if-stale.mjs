#!/usr/bin/env node
// Builds only when dist/ is missing or older than its sources, so `npm start`
// right after `npm ci` (which built already) starts at once.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outputs = ['dist/src/cli/main.js', 'dist/web/.evguard-console'].map((f) => path.join(root, f));
const inputs = ['src', 'bench', 'web', 'tsconfig.json', 'package.json', 'package-lock.json'].map((f) => path.join(root, f));

function newest(p) {
  if (!existsSync(p)) return 0;
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  let max = 0;
  for (const entry of readdirSync(p)) {
    // bench/results holds a run's output, not a build input.
    if (entry === 'node_modules' || entry === 'dist' || entry === 'results') continue;
    max = Math.max(max, newest(path.join(p, entry)));
  }
  return max;
}

const missing = outputs.filter((f) => !existsSync(f));
const built = missing.length ? 0 : Math.min(...outputs.map((f) => statSync(f).mtimeMs));
const changed = Math.max(...inputs.map(newest));
if (missing.length === 0 && built >= changed) {
  process.stdout.write('dist/ is up to date with src/ and web/; not rebuilding\n');
  process.exit(0);
}
process.stdout.write(missing.length ? `building: ${missing.map((f) => path.relative(root, f)).join(', ')} missing\n` : 'building: sources changed since the last build\n');
const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
