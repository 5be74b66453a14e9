/**
 * /api/v1/grid: limits (admin: a stolen operator token must not be able to
 * raise them), station assignment (admin), live load, its time series and a
 * live stream (auditor), and two-person approvals for mass actions (operator,
 * approved by a different token).
 */
import type { Guard, RoutePlugin } from '../api/route-plugin.js';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import { gridErrors } from './errors.js';
import type { Grid } from './index.js';
import { errors, listOf, noContent, ref } from '../api/schemas.js';

const KEEPALIVE_MS = 15_000;
const MAX_STREAMS = 100;
const id = { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,64}$' } as const;
const kw = { type: 'number', minimum: 0, maximum: 10_000_000 } as const;
const idParams = { type: 'object', required: ['id'], properties: { id } } as const;
const tags = ['grid'];
const time = { type: 'string', format: 'date-time' } as const;
const resumeRecord = {
  type: 'object',
  required: ['stationId', 'cause', 'ocppVersion', 'sentAt', 'releaseAt', 'releaseS', 'drawnBy', 'outcome'],
  properties: {
    stationId: { type: 'string' }, cause: { type: 'string', enum: ['power-up', 'reconnect'] }, ocppVersion: { type: 'string' }, sentAt: time,
    releaseAt: { ...time, description: 'When the station may draw power again' }, releaseS: { type: 'number' },
    drawnBy: { type: 'string', enum: ['csms', 'station'], description: 'Who drew the random delay' }, outcome: { type: 'string', enum: ['sent', 'failed'] }, error: { type: 'string' },
  },
} as const;
const resumeSettings = {
  type: 'object',
  required: ['enabled', 'windowS', 'profileId', 'stackLevel'],
  properties: { enabled: { type: 'boolean' }, windowS: { type: 'number' }, profileId: { type: 'integer' }, stackLevel: { type: 'integer' } },
} as const;
/** Server-Sent Events: the route writes the stream itself (no serialisation). */
const eventStream = (description: string) => ({ 200: { description, content: { 'text/event-stream': { schema: { type: 'string' } } } } }) as const;

function principal(req: FastifyRequest): { tokenId: string; name: string } {
  const p = (req as unknown as { principal?: { tokenId?: string; name?: string } }).principal;
  return { tokenId: String(p?.tokenId ?? 'unknown'), name: String(p?.name ?? 'unknown').slice(0, 128) };
}

export function gridRoutes(grid: Grid): RoutePlugin {
  return (app, guard) => addGridRoutes(app, guard, grid);
}

function addGridRoutes(app: FastifyInstance, guard: Guard, grid: Grid): void {
  let streams = 0;
  const read = guard.require('auditor');
  const admin = guard.require('admin');
  const operator = guard.require('operator');

  app.get('/api/v1/grid', {
    preHandler: read,
    schema: { tags, summary: 'The load now at every level, with the DSO limits in force and the grid guard\'s counters', response: { 200: ref('GridSnapshot') } },
  }, async () => ({ ...grid.snapshot(), dsoLimits: grid.dsoLimits(), guard: grid.guardStats() }));
  app.get('/api/v1/grid/load', { preHandler: read, schema: { tags, summary: 'The load now at every level', response: { 200: ref('GridSnapshot') } } }, async () => grid.snapshot());

  app.get('/api/v1/grid/load/series', {
    preHandler: read,
    schema: {
      tags,
      summary: 'The load over time of the fleet, a feeder or a site',
      querystring: { type: 'object', properties: { level: { type: 'string', enum: ['fleet', 'feeder', 'site'] }, id, since: { type: 'string', format: 'date-time' } } },
      response: {
        200: {
          type: 'object',
          required: ['level', 'points'],
          properties: {
            level: { type: 'string', enum: ['fleet', 'feeder', 'site'] }, id: { type: 'string' },
            points: { type: 'array', items: { type: 'object', required: ['t', 'kw'], properties: { t: time, kw: { type: 'number' } } } },
          },
        },
        ...errors(404),
      },
    },
  }, async (req) => {
    const q = req.query as { level?: 'fleet' | 'feeder' | 'site'; id?: string; since?: string };
    return { level: q.level ?? 'fleet', id: q.id, points: grid.series(q.level ?? 'fleet', q.id, q.since ? new Date(q.since).toISOString() : undefined) };
  });

  app.get('/api/v1/grid/load/stream', {
    preHandler: read,
    schema: { tags, summary: 'Follow the load as it is sampled (Server-Sent Events)', response: { ...eventStream('Events grid.load, each with a GridSnapshot as JSON data'), ...errors(400) } },
  }, (req: FastifyRequest, reply: FastifyReply) => {
    if (streams >= MAX_STREAMS) throw gridErrors.GRID_INPUT_INVALID('Too many live load streams are open');
    streams++;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(': evguard grid load stream\n\n');
    let seq = 0;
    const stop = grid.onSample((s) => res.write(`id: ${++seq}\nevent: grid.load\ndata: ${JSON.stringify(s)}\n\n`));
    const keepalive = setInterval(() => res.write(': keep-alive\n\n'), KEEPALIVE_MS);
    keepalive.unref();
    req.raw.once('close', () => {
      clearInterval(keepalive);
      stop();
      streams--;
    });
  });

  const levelBody = { type: 'object', required: ['limitKw'], additionalProperties: false, properties: { name: { type: 'string', minLength: 1, maxLength: 100 }, limitKw: kw, rampKwPerS: kw } } as const;

  app.get('/api/v1/grid/feeders', { preHandler: read, schema: { tags, summary: 'List the feeders and their limits', response: { 200: listOf('GridLimit') } } }, async () => grid.feeders());
  app.put('/api/v1/grid/feeders/:id', {
    preHandler: admin,
    schema: { tags, summary: 'Add a feeder or change its limit', params: idParams, body: levelBody, response: { 200: ref('GridLimit') } },
  }, async (req) => {
    const body = req.body as { name?: string; limitKw: number; rampKwPerS?: number };
    return grid.putFeeder({ id: (req.params as { id: string }).id, ...body });
  });
  app.delete('/api/v1/grid/feeders/:id', {
    preHandler: admin,
    schema: { tags, summary: 'Remove a feeder that supplies no site', params: idParams, response: { ...noContent, ...errors(404, 409) } },
  }, async (req, reply) => {
    await grid.deleteFeeder((req.params as { id: string }).id);
    return reply.status(204).send();
  });

  app.get('/api/v1/grid/sites', { preHandler: read, schema: { tags, summary: 'List the sites and their limits', response: { 200: listOf('GridLimit') } } }, async () => grid.sites());
  app.put('/api/v1/grid/sites/:id', {
    preHandler: admin,
    schema: {
      tags,
      summary: 'Add a site or change its limit and feeder',
      params: idParams,
      body: { ...levelBody, properties: { ...levelBody.properties, feederId: id } },
      response: { 200: ref('GridLimit'), ...errors(404) },
    },
  }, async (req) => {
    const body = req.body as { name?: string; feederId?: string; limitKw: number; rampKwPerS?: number };
    return grid.putSite({ id: (req.params as { id: string }).id, ...body });
  });
  app.delete('/api/v1/grid/sites/:id', {
    preHandler: admin,
    schema: { tags, summary: 'Remove a site that has no stations', params: idParams, response: { ...noContent, ...errors(404, 409) } },
  }, async (req, reply) => {
    await grid.deleteSite((req.params as { id: string }).id);
    return reply.status(204).send();
  });
  app.get('/api/v1/grid/sites/:id/stations', {
    preHandler: read,
    schema: { tags, summary: 'List the stations on a site', params: idParams, response: { 200: listOf('StationAssignment'), ...errors(404) } },
  }, async (req) => {
    const siteId = (req.params as { id: string }).id;
    if (!grid.sites().some((s) => s.id === siteId)) throw gridErrors.GRID_NOT_FOUND(`No site ${siteId}`);
    return grid.stationsOf(siteId);
  });
  const stationParams = { type: 'object', required: ['id', 'stationId'], properties: { id, stationId: { type: 'string', minLength: 1, maxLength: 48 } } } as const;
  app.put('/api/v1/grid/sites/:id/stations/:stationId', {
    preHandler: admin,
    schema: {
      tags,
      summary: 'Put a station on a site, with the power it may draw',
      params: stationParams,
      body: { anyOf: [{ type: 'object', additionalProperties: false, properties: { maxPowerW: { type: 'number', minimum: 1, maximum: 10_000_000 } } }, { type: 'null' }] },
      response: { 200: ref('StationAssignment'), ...errors(404) },
    },
  }, async (req) => {
    const { id: siteId, stationId } = req.params as { id: string; stationId: string };
    req.auditTarget = stationId;
    return grid.assignStation(siteId, stationId, (req.body as { maxPowerW?: number } | null)?.maxPowerW);
  });
  app.delete('/api/v1/grid/sites/:id/stations/:stationId', {
    preHandler: admin,
    schema: { tags, summary: 'Take a station off its site', params: stationParams, response: { ...noContent, ...errors(404) } },
  }, async (req, reply) => {
    const { id: siteId, stationId } = req.params as { id: string; stationId: string };
    req.auditTarget = stationId;
    await grid.unassignStation(siteId, stationId);
    return reply.status(204).send();
  });

  app.get('/api/v1/grid/resumes', {
    preHandler: read,
    schema: {
      tags,
      summary: 'The randomised-resume settings, and the resume profiles sent after power or connection losses',
      querystring: { type: 'object', additionalProperties: false, properties: { stationId: { type: 'string', minLength: 1, maxLength: 48 } } },
      response: { 200: { type: 'object', required: ['settings', 'resumes'], properties: { settings: resumeSettings, resumes: { type: 'array', items: resumeRecord } } } },
    },
  }, async (req) => ({ settings: grid.resumeSettings(), resumes: grid.resumes((req.query as { stationId?: string }).stationId) }));

  app.get('/api/v1/grid/approvals', { preHandler: read, schema: { tags, summary: 'List the approvals for mass actions', response: { 200: listOf('Approval') } } }, async () => grid.approvals());
  app.post('/api/v1/grid/approvals', {
    preHandler: operator,
    schema: {
      tags,
      summary: 'Ask for a second operator\'s approval of a mass action on many stations',
      response: { 201: ref('Approval') },
      body: { type: 'object', required: ['stations', 'reason'], additionalProperties: false, properties: { stations: { type: 'integer', minimum: 1, maximum: 1_000_000 }, reason: { type: 'string', minLength: 1, maxLength: 500 }, minutes: { type: 'integer', minimum: 1, maximum: 240 } } },
    },
  }, async (req, reply) => {
    const b = req.body as { stations: number; reason: string; minutes?: number };
    const a = grid.requestApproval(principal(req).tokenId, b.stations, b.reason, b.minutes);
    req.auditTarget = a.id;
    req.auditDetails = { stations: b.stations };
    return reply.status(201).send({ ...a, requestedBy: principal(req).name });
  });
  app.post('/api/v1/grid/approvals/:id/approve', {
    preHandler: operator,
    schema: {
      tags,
      summary: 'Approve another operator\'s mass action',
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } },
      response: { 200: ref('Approval'), ...errors(404, 409) },
    },
  }, async (req) => {
    return grid.approve((req.params as { id: string }).id, principal(req).tokenId);
  });
}
