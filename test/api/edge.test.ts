/**
 * The HTTP edge against anonymous and careless clients: the token is checked
 * before a body is read or validated, uploads stream to disk, numbers are
 * bounded, and nothing answers 500 for bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestNode } from '../support/node.js';
import { statusBeforeBody as uploadStatusBeforeBody } from '../support/http.js';
import { startNodeProcess } from '../cluster/processes.js';

/** An upload announcing 48 MiB, without the body. */
const statusBeforeBody = (port: number, p: string, headers: Record<string, string>) =>
  uploadStatusBeforeBody(port, p, { contentType: 'application/octet-stream', contentLength: 48 * 1024 * 1024, headers });

test('HTTP edge: authentication before bodies and validation, bounded numbers, ids, metrics, readiness', async (t) => {
  const node = await startTestNode({ db: 'sqlite' });
  t.after(() => node.stop());
  const port = Number(new URL(node.http).port);

  await t.test('an anonymous upload is refused before its body is read', async () => {
    assert.equal(await statusBeforeBody(port, '/api/v1/firmware?vendor=Acme&model=AC22&version=9.9.9', {}), 401);
    assert.equal(await statusBeforeBody(port, '/api/v1/firmware?vendor=Acme&model=AC22&version=9.9.9', { authorization: 'Bearer wrong-token-0123456789abcdef' }), 401);
  });

  await t.test('an invalid body without a token is 401, not a 400 that describes the schema', async () => {
    const res = await fetch(`${node.http}/api/v1/stations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nope: 1 }) });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as any).error.code, 'UNAUTHENTICATED');
  });

  await t.test('huge numeric query parameters are a 400 with a JSON error', async () => {
    for (const p of ['/api/v1/stations?offset=99999999999999999999', '/api/v1/transactions?offset=99999999999999999999', '/api/v1/stations?limit=1e400']) {
      const res = await node.api('GET', p);
      assert.equal(res.status, 400, `${p}: ${JSON.stringify(res.body)}`);
      assert.ok(res.body.error.code);
    }
  });

  await t.test('station ids "." and ".." are refused at registration', async () => {
    for (const id of ['.', '..']) {
      const res = await node.api('POST', '/api/v1/stations', { id, securityProfile: 1 });
      assert.equal(res.status, 400, `${id}: ${JSON.stringify(res.body)}`);
    }
  });

  await t.test('/metrics needs a token; /readyz and /healthz do not', async () => {
    assert.equal((await fetch(`${node.http}/metrics`)).status, 401);
    const withToken = await fetch(`${node.http}/metrics`, { headers: { authorization: `Bearer ${node.adminToken}` } });
    assert.equal(withToken.status, 200);
    assert.match(await withToken.text(), /^# HELP/m);
    assert.equal((await fetch(`${node.http}/readyz`)).status, 200);
    assert.equal((await fetch(`${node.http}/healthz`)).status, 200);
  });

  await t.test('an upload streams to disk and is stored with the hash of what was sent', async () => {
    const image = randomBytes(10 * 1024 * 1024);
    const res = await fetch(`${node.http}/api/v1/firmware?vendor=Acme&model=AC22&version=2.0.0`, {
      method: 'POST',
      headers: { authorization: `Bearer ${node.adminToken}`, 'content-type': 'application/octet-stream' },
      body: image,
    });
    const body = (await res.json()) as any;
    assert.equal(res.status, 201, JSON.stringify(body));
    assert.equal(body.sha256, createHash('sha256').update(image).digest('hex'));
    assert.equal(body.length, image.length);
    assert.ok(body.signed);
    const stored = readFileSync(path.join(node.dataDir, 'firmware', 'images', `${body.sha256}.bin`));
    assert.ok(stored.equals(image));
  });

  await t.test('more concurrent uploads than a client may hold are refused with 429', async () => {
    // Three uploads that send their head and then only trickle: two hold their slots, the third is refused.
    const open: http.ClientRequest[] = [];
    const statuses: Promise<number>[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(new Promise((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, path: `/api/v1/firmware?vendor=Acme&model=AC22&version=3.0.${i}`, method: 'POST', headers: { authorization: `Bearer ${node.adminToken}`, 'content-type': 'application/octet-stream', 'content-length': '1000000' } });
        req.on('response', (res) => (res.resume(), resolve(res.statusCode!)));
        req.on('error', () => resolve(-1));
        req.write(Buffer.alloc(1000));
        open.push(req);
      }));
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await statuses[2], 429);
    for (const req of open) req.destroy();
  });
});

test('anonymous 48 MiB uploads do not grow the node', async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'evguard-edge-'));
  const node = await startNodeProcess({ nodeId: 'edge', cluster: 'edge', dataDir, adminToken: 'edge-admin-token-0123456789abcdef' });
  t.after(async () => {
    node.kill('SIGKILL');
    await node.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${node.child.pid}/status`, 'utf8'))![1]) * 1024;
  const before = rss();
  const body = Buffer.alloc(48 * 1024 * 1024, 0x41);
  const results = await Promise.all(
    Array.from({ length: 8 }, () =>
      fetch(`http://127.0.0.1:${node.port}/api/v1/firmware?vendor=Acme&model=AC22&version=1.0.0`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body }).then(
        (r) => r.status,
        () => 401, // the node may close the socket while the body is still being sent: that is the point
      ),
    ),
  );
  assert.deepEqual(results, Array(8).fill(401));
  const grown = rss() - before;
  assert.ok(grown < 96 * 1024 * 1024, `the node grew by ${Math.round(grown / 1048576)} MiB for eight anonymous uploads of 48 MiB`);
});
