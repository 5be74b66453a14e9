/**
 * Builds the console into dist/web, which the node serves at `/`. Every asset
 * also gets a gzip and a brotli twin so the node can send them pre-compressed,
 * and a marker file tells the node this folder is a console build.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

const outDir = path.resolve(here, '../dist/web');

function precompress(): Plugin {
  return {
    name: 'evguard-precompress',
    apply: 'build',
    closeBundle() {
      const walk = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(path.join(dir, f)).isDirectory() ? walk(path.join(dir, f)) : [path.join(dir, f)]));
      for (const file of walk(outDir)) {
        if (!/\.(js|css|html|svg|json)$/.test(file)) continue;
        const data = readFileSync(file);
        writeFileSync(`${file}.gz`, gzipSync(data, { level: 9 }));
        writeFileSync(`${file}.br`, brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
      }
      writeFileSync(path.join(outDir, '.evguard-console'), 'evguard operations console build\n');
    },
  };
}

export default defineConfig({
  root: here,
  base: '/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    modulePreload: { polyfill: false },
    // Small enough to inline would mean inline data: assets; the CSP allows only 'self' for scripts.
    assetsInlineLimit: 0,
  },
  plugins: [precompress()],
});
