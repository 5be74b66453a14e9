/**
 * Every shell block in README.md and docs/*.md runs against a real node, as
 * a reader would type it (conventions in ./blocks.ts). A command the docs
 * show that does nothing, prints the wrong thing or does not exist fails here.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { extractBlocks, type DocBlock } from './blocks.js';

const ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const PAGES = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const TSX = import.meta.resolve('tsx');
const MAIN = path.join(ROOT, 'src/cli/main.ts');

const extracted = PAGES.map((page) => ({ page, ...extractBlocks(page, readFileSync(path.join(ROOT, page), 'utf8')) }));

test('every command block in the docs is tagged sh (run here) or text (a synopsis), with known directives', () => {
  assert.deepEqual(extracted.flatMap((e) => e.problems), []);
  assert.ok(extracted.some((e) => e.blocks.some((b) => !b.skip)), 'the docs have blocks to run');
});

// EVGUARD_DOC_PAGES=first-hour narrows the run while editing a page.
const only = process.env.EVGUARD_DOC_PAGES;
for (const { page, blocks } of extracted) {
  if (!blocks.some((b) => !b.skip) || (only && !page.includes(only))) continue;
  describe(`shell blocks of ${page}`, { timeout: 600_000 }, () => {
    test('run against a real node as written', async (t) => {
      const page$ = await startPage();
      t.after(() => page$.close());
      for (const block of blocks) {
        if (block.skip) continue;
        await page$.run(block);
      }
      await page$.stopBackground();
    });
  });
}

interface PageRun {
  run(block: DocBlock): Promise<void>;
  stopBackground(): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function startPage(): Promise<PageRun> {
  const cwd = mkdtempSync(path.join(tmpdir(), 'evguard-docs-'));
  const bin = path.join(cwd, '.bin');
  mkdirSync(bin);
  const cli = `exec ${JSON.stringify(process.execPath)} --import ${JSON.stringify(TSX)} ${JSON.stringify(MAIN)} "$@"`;
  writeFileSync(path.join(bin, 'evguard'), `#!/bin/sh\n${cli}\n`);
  writeFileSync(path.join(bin, 'npx'), `#!/bin/sh\nif [ "$1" = evguard ]; then shift; ${cli}; fi\necho "the doc test runs only 'npx evguard'" >&2; exit 127\n`);
  chmodSync(path.join(bin, 'evguard'), 0o755);
  chmodSync(path.join(bin, 'npx'), 0o755);
  const http = await freePort();
  const https = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH}`, EVGUARD_ADMIN_TOKEN: '', EVGUARD_TOKEN: '', EVGUARD_API: '', EVGUARD_URL: '', EVGUARD_LOG_LEVEL: 'warn' };
  delete env.EVGUARD_ADMIN_TOKEN;
  delete env.EVGUARD_TOKEN;
  delete env.EVGUARD_API;
  delete env.EVGUARD_URL;
  const node = spawn(bin + '/evguard', ['serve', '--port', String(http), '--tls-port', String(https), '--host', '127.0.0.1', '--data-dir', '.evguard'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let nodeOut = '';
  node.stderr!.on('data', (d) => (nodeOut += d));
  await new Promise<void>((resolve, reject) => {
    node.stdout!.on('data', (d) => {
      nodeOut += d;
      if (/Admin API token[^\n]*\n\s*\S+\n/.test(nodeOut)) resolve();
    });
    node.once('exit', (code) => reject(new Error(`evguard serve exited with ${code}: ${nodeOut}`)));
  });
  const token = readFileSync(path.join(cwd, '.evguard/admin-token'), 'utf8').trim();
  env.TOKEN = token;
  // What the CLI's default --api (http://localhost:8080) is for a reader: this node.
  env.EVGUARD_API = `http://localhost:${http}`;
  const background: { block: DocBlock; child: ChildProcess; output: () => string; exited: Promise<number | null> }[] = [];

  const where = (b: DocBlock) => `${b.file}:${b.line}`;
  async function prepare(block: DocBlock): Promise<string> {
    let code = block.code.replace(/(localhost|127\.0\.0\.1):8080/g, `$1:${http}`).replace(/(localhost|127\.0\.0\.1):8443/g, `$1:${https}`);
    // Resolved when the line runs, so a placeholder may name what the line before created.
    const known = readFileSync(path.join(ROOT, 'test/docs/placeholder.mjs'), 'utf8');
    for (const m of code.matchAll(/<([A-Za-z][A-Za-z0-9]*)>/g)) assert.ok(known.includes(`  ${m[1]}: async`), `${where(block)}: unknown placeholder <${m[1]}>`);
    code = code.replace(/<([A-Za-z][A-Za-z0-9]*)>/g, (_, name) => `"$(node ${JSON.stringify(path.join(ROOT, 'test/docs/placeholder.mjs'))} ${name})"`);
    return code;
  }
  function shell(code: string) {
    // -e as a reader who stops at the first error; no pipefail, as in an interactive shell (`curl … | grep -m 1` is fine).
    const child = spawn('bash', ['-e', '-c', code], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    return { child, output: () => output, exited };
  }

  return {
    async run(block) {
      const code = await prepare(block);
      // A background block's shell waits for its command on SIGTERM, so the command's own exit is what counts.
      const run = shell(block.background ? `trap true TERM\n${code}` : code);
      if (block.background) {
        background.push({ block, ...run });
        const seen = await Promise.race([
          (async () => {
            while (!run.output().includes(block.background!)) await new Promise((r) => setTimeout(r, 100));
            return true;
          })(),
          run.exited.then(() => false),
          new Promise<false>((r) => setTimeout(() => r(false), 120_000).unref()),
        ]);
        assert.ok(seen, `${where(block)}: "${block.background}" not seen; output:\n${run.output()}`);
        return;
      }
      const timer = setTimeout(() => run.child.kill('SIGKILL'), 180_000);
      const began = Date.now();
      const exit = await run.exited;
      // EVGUARD_DOC_TIMES=1 prints how long each block took, to find the slow ones.
      if (process.env.EVGUARD_DOC_TIMES) process.stderr.write(`${where(block)}: ${Date.now() - began} ms\n`);
      clearTimeout(timer);
      assert.equal(exit, 0, `${where(block)} exited ${exit}:\n${code}\n--- output:\n${run.output()}`);
      for (const text of block.expect) assert.ok(run.output().includes(text), `${where(block)}: expected "${text}" in:\n${run.output()}`);
    },
    async stopBackground() {
      // Like Ctrl-C in the second terminal: SIGTERM to the command, which must stop cleanly.
      for (const b of background) {
        process.kill(-b.child.pid!, 'SIGTERM');
        const code = await Promise.race([b.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000).unref())]);
        assert.equal(code, 0, `${where(b.block)}: after SIGTERM it exited ${code}; output:\n${b.output()}`);
      }
      background.length = 0;
    },
    async close() {
      for (const b of background) {
        try {
          process.kill(-b.child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      node.kill('SIGTERM');
      await new Promise((r) => (node.exitCode !== null ? r(null) : node.once('exit', r)));
      rmSync(cwd, { recursive: true, force: true });
    },
  };
}
