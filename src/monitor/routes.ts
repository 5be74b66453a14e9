/**
 * REST and live stream for security events and alerts. Reading needs the
 * auditor role, changing an alert or undoing an automatic action the operator
 * role. Errors leave as `{ error: { code, message } }` through the API's
 * error handler.
 */
import type { Guard, RoutePlugin } from '../api/route-plugin.js';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import { MAX_COMMENT } from './alerts.js';
import { monitorErrors } from './errors.js';
import type { Monitor } from './index.js';
import { errors, listOf, noContent, ref } from '../api/schemas.js';


/** Comment for SSE keep-alive, so proxies do not close an idle stream. */
const KEEPALIVE_MS = 15_000;
const MAX_STREAMS = 100;

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
const tags = ['monitor'];
const lockout = {
  type: 'object',
  required: ['id', 'until', 'reason', 'mode'],
  properties: {
    id: { type: 'string' }, stationId: { type: 'string' }, remoteAddress: { type: 'string' }, until: { type: 'string', format: 'date-time' }, reason: { type: 'string' },
    mode: { type: 'string', enum: ['refuse', 'slow'], description: 'refuse: connections are refused; slow: logins from unfamiliar addresses are slowed down' },
  },
} as const;
/** Server-Sent Events: the route writes the stream itself (no serialisation). */
const eventStream = (description: string) => ({ 200: { description, content: { 'text/event-stream': { schema: { type: 'string' } } } } }) as const;
const commentBody = { type: 'object', additionalProperties: false, properties: { comment: { type: 'string', maxLength: MAX_COMMENT } } } as const;

function who(req: FastifyRequest): string {
  const p = (req as unknown as { principal?: { name?: unknown } }).principal;
  return typeof p?.name === 'string' && p.name.length > 0 ? p.name.slice(0, 128) : 'unknown';
}

export function monitorRoutes(monitor: Monitor): RoutePlugin {
  return (app, guard) => addMonitorRoutes(app, guard, monitor);
}

function addMonitorRoutes(app: FastifyInstance, guard: Guard, monitor: Monitor): void {
  let streams = 0;

  app.get('/api/v1/security-events', {
    preHandler: guard.require('auditor'),
    schema: {
      tags,
      summary: 'List security events, newest first',
      querystring: { type: 'object', properties: { stationId: { type: 'string', maxLength: 128 }, since: { type: 'string', maxLength: 64 }, limit: { type: 'integer', minimum: 1, maximum: 1000 } } },
      response: { 200: listOf('SecurityEvent') },
    },
  }, async (req) => {
    const q = req.query as { stationId?: string; since?: string; limit?: number };
    return monitor.listSecurityEvents(q);
  });

  app.get('/api/v1/alerts', {
    preHandler: guard.require('auditor'),
    schema: {
      tags,
      summary: 'List alerts, by station or state',
      querystring: { type: 'object', properties: { stationId: { type: 'string', maxLength: 128 }, state: { type: 'string', enum: ['open', 'acknowledged', 'resolved'] }, limit: { type: 'integer', minimum: 1, maximum: 1000 } } },
      response: { 200: listOf('Alert') },
    },
  }, async (req) => {
    const q = req.query as { stationId?: string; state?: 'open' | 'acknowledged' | 'resolved'; limit?: number };
    return monitor.listAlerts(q);
  });

  app.get('/api/v1/lockouts', {
    preHandler: guard.require('auditor'),
    schema: { tags, summary: 'List the lock-outs in force', response: { 200: { type: 'object', required: ['lockouts'], properties: { lockouts: { type: 'array', items: lockout } } } } },
  }, async () => ({ lockouts: await monitor.listLockouts() }));

  // The stream route is registered before `/alerts/:id` so "stream" is never taken for an id.
  app.get('/api/v1/alerts/stream', {
    preHandler: guard.require('auditor'),
    schema: {
      tags,
      summary: 'Follow alerts as they are raised and change (Server-Sent Events)',
      response: { ...eventStream('Events alert.raised and alert.changed, each with an Alert as JSON data; comments keep the stream alive'), ...errors(400) },
    },
  }, (req: FastifyRequest, reply: FastifyReply) => {
    if (streams >= MAX_STREAMS) throw monitorErrors.MONITOR_QUERY_INVALID('Too many live alert streams are open');
    streams++;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(': evguard alert stream\n\n');
    let seq = 0;
    const stop = monitor.onAlert((topic, alert) => {
      res.write(`id: ${++seq}\nevent: ${topic}\ndata: ${JSON.stringify(alert)}\n\n`);
    });
    const keepalive = setInterval(() => res.write(': keep-alive\n\n'), KEEPALIVE_MS);
    keepalive.unref();
    const end = () => {
      clearInterval(keepalive);
      stop();
      streams--;
    };
    req.raw.once('close', end);
  });

  app.get('/api/v1/alerts/:id', { preHandler: guard.require('auditor'), schema: { tags, summary: 'Read an alert', params: idParams, response: { 200: ref('Alert'), ...errors(404) } } }, async (req) => {
    return monitor.getAlert((req.params as { id: string }).id);
  });

  app.post('/api/v1/alerts/:id/acknowledge', {
    preHandler: guard.require('operator'),
    schema: { tags, summary: 'Acknowledge an open alert, with an optional comment', params: idParams, body: { anyOf: [commentBody, { type: 'null' }] }, response: { 200: ref('Alert'), ...errors(404, 409) } },
  }, async (req) => {
    return monitor.acknowledge((req.params as { id: string }).id, who(req), (req.body as { comment?: string } | null)?.comment);
  });

  app.post('/api/v1/alerts/:id/resolve', {
    preHandler: guard.require('operator'),
    schema: { tags, summary: 'Resolve an alert, with an optional comment', params: idParams, body: { anyOf: [commentBody, { type: 'null' }] }, response: { 200: ref('Alert'), ...errors(404, 409) } },
  }, async (req) => {
    return monitor.resolve((req.params as { id: string }).id, who(req), (req.body as { comment?: string } | null)?.comment);
  });

  app.post('/api/v1/alerts/:id/comments', {
    preHandler: guard.require('operator'),
    schema: {
      tags,
      summary: 'Comment on an alert',
      params: idParams,
      body: { type: 'object', required: ['text'], additionalProperties: false, properties: { text: { type: 'string', minLength: 1, maxLength: MAX_COMMENT } } },
      response: { 201: ref('Alert'), ...errors(404) },
    },
  }, async (req, reply) => {
    const alert = await monitor.comment((req.params as { id: string }).id, who(req), (req.body as { text: string }).text);
    return reply.status(201).send(alert);
  });

  app.post('/api/v1/alert-actions/:id/undo', {
    preHandler: guard.require('operator'),
    schema: { tags, summary: 'Undo an automatic action: lift its lock-out, end its quarantine', params: idParams, response: { ...noContent, ...errors(404, 409) } },
  }, async (req, reply) => {
    await monitor.undoAction((req.params as { id: string }).id, who(req));
    return reply.status(204).send();
  });
}
