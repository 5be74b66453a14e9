/**
 * A mutating call is in the audit log before its answer leaves. A client that
 * has its 200 may read the call back at once, and so may anything that derives
 * state from the log (the assessment's password age reads its last rotation
 * there). The audit store is made slow on purpose: with the write left to run
 * after the answer, the read below would find nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { openDatabase, migrate } from '../../src/store/index.js';
import { apiMigrations, createApi, createAuditLog, createTokenStore } from '../../src/api/index.js';
import type { RoutePlugin } from '../../src/api/index.js';

test('a mutating call is audited before its answer is sent, whatever its outcome', async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'evguard-audit-'));
  const database = await openDatabase({ dataDir });
  t.after(async () => {
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  await migrate(database, apiMigrations);
  const audit = createAuditLog(database);
  const slowAudit = { ...audit, append: async (...args: Parameters<typeof audit.append>) => (await sleep(150), audit.append(...args)) };
  const adminToken = 'audit-test-admin-token-0123456789';
  const server = http.createServer();
  const things: RoutePlugin = (app, guard) => {
    app.post('/api/v1/things', { preHandler: guard.require('operator') }, async (req) => {
      req.auditTarget = 'thing-1';
      return { ok: true };
    });
  };
  const app = await createApi({ tokens: createTokenStore(database, adminToken), audit: slowAudit, log: pino({ level: 'silent' }), version: 'test' }, server, [things]);
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(() => app.close());
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

  const ok = await fetch(`${base}/api/v1/things`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } });
  assert.equal(ok.status, 200);
  const refused = await fetch(`${base}/api/v1/things`, { method: 'POST' });
  assert.equal(refused.status, 401);

  const entries = await audit.list({});
  assert.deepEqual(
    entries.map((e) => [e.action, e.target, e.outcome]).sort(),
    [
      ['POST /api/v1/things', 'thing-1', 'ok'],
      ['POST /api/v1/things', undefined, 'refused'],
    ].sort(),
  );
});
