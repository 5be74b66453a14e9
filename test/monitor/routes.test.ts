/** REST and SSE on a real Fastify server on port 0. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { EvguardError } from '../../src/errors.js';
import { monitorRoutes } from '../../src/monitor/routes.js';
import { addSharedSchemas } from '../../src/api/schemas.js';
import { checkResponsesAgainstSchemas } from '../../src/api/response-check.js';
import { openHarness, station } from './harness.js';

const ROLES = ['auditor', 'operator', 'admin'];

async function serve() {
  const h = await openHarness();
  const app = Fastify();
  // The same error shape the API edge uses.
  app.setErrorHandler((err: any, _req, reply) => {
    if (err instanceof EvguardError) return reply.status(err.status).send({ error: { code: err.code, message: err.message } });
    if (err.validation) return reply.status(400).send({ error: { code: 'VALIDATION_FAILED', message: err.message } });
    return reply.status(500).send({ error: { code: 'INTERNAL', message: 'Internal error' } });
  });
  const guard = {
    require: (role: 'auditor' | 'operator' | 'admin') => async (req: FastifyRequest, reply: FastifyReply) => {
      const have = String(req.headers['x-role'] ?? '');
      if (ROLES.indexOf(have) < ROLES.indexOf(role)) return reply.status(403).send({ error: { code: 'FORBIDDEN', message: 'role' } });
      (req as any).principal = { name: `${have}-user`, role: have };
    },
  };
  // The shapes the routes' response schemas refer to, as the API registers them; and the API's check that they keep every field.
  addSharedSchemas(app);
  checkResponsesAgainstSchemas(app);
  monitorRoutes(h.monitor)(app, guard);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { h, app, base, async close() { await app.close(); await h.close(); } };
}

test('alerts over REST: list, acknowledge, comment, resolve, undo, and JSON errors', async () => {
  const s = await serve();
  try {
    for (let i = 0; i < 5; i++) station(s.h, 'CS-1').csms('InvalidStationCredentials', '203.0.113.9');
    await s.h.monitor.settled();
    const get = (path: string, role = 'auditor') => fetch(s.base + path, { headers: { 'x-role': role } });
    const json = async (r: Response | Promise<Response>): Promise<any> => (await r).json();
    const post = (path: string, body: unknown, role = 'operator') => fetch(s.base + path, { method: 'POST', headers: { 'x-role': role, 'content-type': 'application/json' }, body: JSON.stringify(body) });

    const list = await json(get('/api/v1/alerts?stationId=CS-1&state=open'));
    assert.equal(list.length, 1);
    const id = list[0].id;
    assert.equal((await get('/api/v1/alerts?state=bogus')).status, 400);
    assert.equal((await post(`/api/v1/alerts/${id}/acknowledge`, {}, 'auditor')).status, 403);
    const acked = await json(post(`/api/v1/alerts/${id}/acknowledge`, { comment: 'mine' }));
    assert.deepEqual([acked.state, acked.acknowledgedBy], ['acknowledged', 'operator-user']);
    const again = await post(`/api/v1/alerts/${id}/acknowledge`, {});
    assert.equal(again.status, 409);
    assert.equal((await json(again)).error.code, 'MONITOR_ALERT_STATE');
    assert.equal((await post(`/api/v1/alerts/${id}/comments`, { text: 'blocked upstream too' })).status, 201);
    assert.equal((await post(`/api/v1/alerts/${id}/comments`, { text: '' })).status, 400);
    const missing = await post('/api/v1/alerts/does-not-exist/resolve', {});
    assert.deepEqual([missing.status, (await json(missing)).error.code], [404, 'MONITOR_ALERT_NOT_FOUND']);

    assert.equal((await json(get('/api/v1/lockouts'))).lockouts.length, 1);
    const undo = await post(`/api/v1/alert-actions/${acked.actions[0].id}/undo`, {});
    assert.equal(undo.status, 204);
    assert.equal((await json(get('/api/v1/lockouts'))).lockouts.length, 0);

    const resolved = await json(post(`/api/v1/alerts/${id}/resolve`, { comment: 'done' }));
    assert.equal(resolved.resolvedBy, 'operator-user');
    assert.deepEqual(resolved.comments.map((c: any) => c.text), ['mine', 'blocked upstream too', 'done']);

    const events = await json(get('/api/v1/security-events?limit=2'));
    assert.equal(events.length, 0, 'events published with an id by their recorder are not stored twice');
    assert.equal((await get('/api/v1/security-events?limit=5000')).status, 400);
    const bad = await get('/api/v1/security-events?since=whenever');
    assert.equal((await json(bad)).error.code, 'MONITOR_QUERY_INVALID');
  } finally {
    await s.close();
  }
});

test('the live stream delivers alert.raised as server-sent events', async () => {
  const s = await serve();
  try {
    const url = new URL('/api/v1/alerts/stream', s.base);
    const text = await new Promise<string>((resolve, reject) => {
      const req = http.get(url, { headers: { 'x-role': 'auditor' } }, (res) => {
        assert.equal(res.headers['content-type'], 'text/event-stream');
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          if (buf.includes('\n\n') && !buf.includes('event: alert.raised')) station(s.h, 'CS-7').event('TamperDetectionActivated');
          if (/event: alert\.raised\ndata: .*\n\n/.test(buf)) {
            req.destroy();
            resolve(buf);
          }
        });
      });
      req.on('error', reject);
    });
    const data = JSON.parse(/data: (.*)\n/.exec(text)![1]!);
    assert.deepEqual([data.detector, data.stationId], ['tamper', 'CS-7']);
  } finally {
    await s.close();
  }
});
