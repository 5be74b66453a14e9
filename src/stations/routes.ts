/**
 * /api/v1/stations: registration, credentials, profile changes, live status,
 * and generic CSMS→station calls validated against the station's schemas.
 */
import type { FastifyInstance } from 'fastify';
import type { Guard } from '../api/route-plugin.js';
import type { SendCall } from '../model/commands.js';
import type { Stations, StationRecord } from './index.js';
import { stationErrors } from './errors.js';
import { anyObject, errors, listOf, noContent, ref } from '../api/schemas.js';

export interface StationRoutesDeps {
  stations: Stations;
  /** Sends an operator's CALL as given (validated by the gateway against the station's schemas); cluster mode routes it. */
  call: SendCall;
  /** A station may move to profile 3 only once it holds a valid station certificate (OCPP A05). */
  hasValidCertificate?(stationId: string): boolean;
  /** Where the station is connected, if anywhere: the composition root answers for the whole cluster. */
  presence(stationId: string): { ocppVersion: string; connectedSince: string; remoteAddress?: string; node?: string } | undefined;
}

const idParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 48 } } } as const;
export function stationRoutes(deps: StationRoutesDeps) {
  const { stations, presence } = deps;
  const view = (s: StationRecord) => {
    const p = presence(s.id);
    return {
      ...s,
      connected: Boolean(p),
      ocppVersion: p?.ocppVersion ?? s.ocppVersion,
      connectedSince: p?.connectedSince,
      remoteAddress: p?.remoteAddress,
      // The node holding the socket (cluster mode).
      node: p?.node,
    };
  };

  return async function (app: FastifyInstance, guard: Guard) {
    app.post(
      '/api/v1/stations',
      {
        preHandler: guard.require('operator'),
        schema: {
          tags: ['stations'],
          summary: 'Register a station; its password is generated unless given, and shown in this answer only',
          response: { 201: ref('Station'), ...errors(409) },
          body: {
            type: 'object',
            required: ['id', 'securityProfile'],
            additionalProperties: false,
            properties: {
              id: { type: 'string', minLength: 1, maxLength: 48 },
              securityProfile: { type: 'integer', enum: [1, 2, 3] },
              password: { type: 'string', minLength: 16, maxLength: 40 },
              tags: { type: 'array', maxItems: 32, items: { type: 'string', maxLength: 64 } },
            },
          },
        },
      },
      async (req, reply) => {
        const body = req.body as { id: string; securityProfile: 1 | 2 | 3; password?: string; tags?: string[] };
        req.auditTarget = body.id;
        req.auditDetails = { securityProfile: body.securityProfile };
        const { station, password } = await stations.registry.create(body);
        return reply.status(201).send({ ...view(station), ...(password ? { password } : {}) });
      },
    );

    app.get(
      '/api/v1/stations',
      {
        preHandler: guard.require('auditor'),
        schema: {
          tags: ['stations'],
          summary: 'List the stations, with where each is connected now',
          response: { 200: listOf('Station') },
          querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 100000 }, offset: { type: 'integer', minimum: 0, maximum: 2147483647 } } },
        },
      },
      async (req) => {
        const q = req.query as { limit?: number; offset?: number };
        return (await stations.registry.list({ limit: q.limit ?? 10_000, offset: q.offset })).map(view);
      },
    );

    app.get('/api/v1/stations/:id', {
      preHandler: guard.require('auditor'),
      schema: { tags: ['stations'], summary: 'Read a station, with its connectors', params: idParam, response: { 200: ref('Station'), ...errors(404) } },
    }, async (req) => {
      const { id } = req.params as { id: string };
      const station = await stations.registry.get(id);
      return { ...view(station), connectors: await stations.connectors(id) };
    });

    app.patch(
      '/api/v1/stations/:id',
      {
        preHandler: guard.require('operator'),
        schema: {
          tags: ['stations'],
          summary: 'Change a station\'s security profile, registration, quarantine or tags',
          params: idParam,
          response: { 200: ref('Station'), ...errors(404, 409) },
          body: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: {
              securityProfile: { type: 'integer', enum: [1, 2, 3] },
              registration: { type: 'string', enum: ['Accepted', 'Pending', 'Rejected'] },
              quarantined: { type: 'boolean' },
              tags: { type: 'array', maxItems: 32, items: { type: 'string', maxLength: 64 } },
            },
          },
        },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        const body = req.body as { securityProfile?: 1 | 2 | 3; registration?: string; quarantined?: boolean; tags?: string[] };
        req.auditDetails = { ...body };
        const current = await stations.registry.get(id);
        if (body.securityProfile === 3 && current.securityProfile !== 3 && !deps.hasValidCertificate?.(id)) {
          throw stationErrors.SECURITY_PROFILE_PRECONDITION('The station needs a valid station certificate (SignCertificate → CertificateSigned) before moving to security profile 3');
        }
        const fields: Record<string, unknown> = {};
        if (body.securityProfile !== undefined) fields.security_profile = body.securityProfile;
        if (body.registration !== undefined) fields.registration = body.registration;
        if (body.quarantined !== undefined) fields.quarantined = body.quarantined ? 1 : 0;
        if (body.tags !== undefined) fields.tags = JSON.stringify(body.tags);
        // A stronger profile, quarantine or rejection ends the live session wherever it is held (src/stations/sessions.ts).
        return view(await stations.registry.update(id, fields));
      },
    );

    app.delete('/api/v1/stations/:id', {
      preHandler: guard.require('admin'),
      schema: { tags: ['stations'], summary: 'Remove a station and its credentials', params: idParam, response: { ...noContent, ...errors(404) } },
    }, async (req, reply) => {
      const { id } = req.params as { id: string };
      await stations.registry.remove(id);
      return reply.status(204).send();
    });

    app.post(
      '/api/v1/stations/:id/password',
      {
        preHandler: guard.require('operator'),
        schema: {
          tags: ['stations'],
          summary: 'Give a station a new password, generated unless given; shown in this answer only',
          params: idParam,
          response: { 200: { type: 'object', required: ['id', 'password'], properties: { id: { type: 'string' }, password: { type: 'string' } } }, ...errors(404) },
          body: { type: 'object', nullable: true, additionalProperties: false, properties: { password: { type: 'string', minLength: 16, maxLength: 40 } } },
        },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        const password = await stations.registry.rotatePassword(id, (req.body as { password?: string } | null)?.password);
        return { id, password };
      },
    );

    app.post(
      '/api/v1/stations/:id/calls',
      {
        preHandler: guard.require('operator'),
        schema: {
          tags: ['stations'],
          summary: 'Send an OCPP call to a connected station and answer with its response',
          description: 'The payload is validated against the OCPP schema of the station\'s version; the grid guard may hold or refuse power-affecting calls.',
          params: idParam,
          response: { 200: { ...anyObject, description: 'The station\'s response payload' }, ...errors(404, 409, 429, 502, 503, 504) },
          body: {
            type: 'object',
            required: ['action', 'payload'],
            additionalProperties: false,
            properties: { action: { type: 'string', pattern: '^[A-Za-z0-9]{1,64}$' }, payload: { type: 'object' }, timeoutMs: { type: 'integer', minimum: 100, maximum: 120000 } },
          },
        },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        const { action, payload, timeoutMs } = req.body as { action: string; payload: object; timeoutMs?: number };
        req.auditDetails = { action };
        await stations.registry.get(id);
        return deps.call(id, action, payload as Record<string, unknown>, { timeoutMs });
      },
    );

    app.get(
      '/api/v1/stations/:id/reports',
      {
        preHandler: guard.require('auditor'),
        schema: {
          tags: ['stations'],
          summary: 'List the reports a station sent, newest first (at most 500)',
          params: idParam,
          querystring: { type: 'object', properties: { kind: { type: 'string', maxLength: 64 } } },
          response: { 200: listOf('StationReport'), ...errors(404) },
        },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        await stations.registry.get(id);
        return stations.reports(id, (req.query as { kind?: string }).kind);
      },
    );
  };
}
