/** How the node serves the console build, without a browser: headers, exact routes, a missing build. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { consoleRoutes } from '../../src/api/console.js';

async function serve(dir: string | null) {
  const app = Fastify();
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: { code: 'NOT_FOUND', message: `No route ${req.method} ${req.url}` } }));
  await consoleRoutes(dir)(app);
  await app.ready();
  return app;
}

test('a node without a console build says how to build it', async () => {
  const app = await serve(null);
  const res = await app.inject({ url: '/' });
  assert.equal(res.statusCode, 503);
  assert.match(res.body, /npm run build/);
  assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
  await app.close();
});

test('a console build is served file by file with its security and cache headers', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'evguard-console-'));
  try {
    mkdirSync(path.join(dir, 'assets'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><script type="module" src="/assets/app-1.js"></script>');
    writeFileSync(path.join(dir, 'assets/app-1.js'), 'console.log(1)');
    writeFileSync(path.join(dir, 'assets/app-1.js.gz'), gzipSync('console.log(1)'));
    writeFileSync(path.join(dir, '.evguard-console'), 'marker\n');
    const app = await serve(dir);

    const page = await app.inject({ url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'.*frame-ancestors 'none'/);

    const js = await app.inject({ url: '/assets/app-1.js', headers: { 'accept-encoding': 'gzip' } });
    assert.equal(js.statusCode, 200);
    assert.equal(js.headers['content-encoding'], 'gzip');
    assert.match(String(js.headers['cache-control']), /immutable/);

    for (const url of ['/assets/app-1.js.gz', '/.evguard-console', '/api/v1/stations', '/assets/../index.html%00', '/nope.html']) {
      const res = await app.inject({ url });
      assert.notEqual(res.statusCode, 200, `${url} is not served`);
    }
    await app.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
