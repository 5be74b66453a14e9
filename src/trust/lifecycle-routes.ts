/**
 * /api/v1/stations/:id/certificates: a station's certificate inventory,
 * renewal on demand, and its trust store (InstallCertificate,
 * GetInstalledCertificateIds, DeleteCertificate). Registered inside the
 * API's authenticated scope, like apiRoutes.
 */
import type { FastifyInstance } from 'fastify';
import type { CertificateLifecycle } from './lifecycle.js';
import { errors, listOf, ref } from '../api/schemas.js';

const tags = ['trust'];
/**
 * Registered in the API's authenticated scope (src/app.ts): 401 and 403 from its hook; 404 for an unknown station;
 * 409 when it is not connected; 502 and 504 when it refuses or does not answer.
 */
const stationErrors = errors(401, 403, 404, 409, 502, 504);
const status = { type: 'object', required: ['status'], properties: { status: { type: 'string', description: 'The station\'s answer: Accepted, Rejected, Failed, NotFound, ...' } } } as const;
const inventory = {
  type: 'object',
  required: ['stationId', 'issued', 'installed', 'renewals', 'expiring'],
  properties: {
    stationId: { type: 'string' },
    issued: {
      type: 'array',
      description: 'Station certificates the node issued to this station, newest first',
      items: {
        allOf: [
          ref('Certificate'),
          { type: 'object', required: ['state', 'expiresInDays'], properties: { state: { type: 'string', enum: ['valid', 'expired', 'revoked', 'superseded'] }, expiresInDays: { type: 'integer' } } },
        ],
      },
    },
    installed: { ...listOf('InstalledCertificate'), description: 'What the station reported in its last GetInstalledCertificateIds answers' },
    renewals: listOf('CertificateRenewal'),
    expiring: {
      type: 'array',
      items: {
        type: 'object',
        required: ['serialHex', 'source', 'notAfter', 'expiresInDays'],
        properties: { serialHex: { type: 'string' }, source: { type: 'string', enum: ['issued', 'installed'] }, notAfter: { type: 'string', format: 'date-time' }, expiresInDays: { type: 'integer' } },
      },
    },
  },
} as const;

const idParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 48 } } } as const;
const body = (properties: Record<string, unknown>) => ({ type: 'object', additionalProperties: false, properties } as const);

export async function lifecycleRoutes(app: FastifyInstance, lifecycle: CertificateLifecycle): Promise<void> {
  app.get<{ Params: { id: string } }>('/api/v1/stations/:id/certificates', {
    schema: { tags, summary: 'A station\'s certificates: issued, installed, renewals and those expiring soon', params: idParam, response: { 200: inventory, ...errors(401, 403, 404) } },
  }, async (request) => lifecycle.inventory(request.params.id));

  app.post<{ Params: { id: string }; Body: { certificateType?: string } | undefined }>('/api/v1/stations/:id/certificates/renew', {
    // No body at all means the defaults (the station certificate).
    schema: {
      tags,
      summary: 'Ask a station to renew its certificate now: it sends a new CSR, which the node signs',
      params: idParam,
      body: { anyOf: [body({ certificateType: { type: 'string', maxLength: 40 } }), { type: 'null' }] },
      response: {
        202: ref('CertificateRenewal'),
        ...stationErrors,
        502: { description: 'The station refused the renewal (the renewal, failed or refused), or the call failed (an error)', oneOf: [ref('CertificateRenewal'), ref('Error')] },
      },
    },
  }, async (request, reply) => {
    const renewal = await lifecycle.renew(request.params.id, { certificateType: request.body?.certificateType, reason: 'operator' });
    return reply.code(renewal.state === 'failed' || renewal.state === 'refused' ? 502 : 202).send(renewal);
  });

  app.post<{ Params: { id: string } }>('/api/v1/stations/:id/certificates/query', {
    schema: {
      tags,
      summary: 'Ask a station which certificates it has installed (GetInstalledCertificateIds), and keep the answer',
      params: idParam,
      response: { 200: { type: 'object', required: ['installed'], properties: { installed: listOf('InstalledCertificate') } }, ...stationErrors },
    },
  }, async (request) => ({
    installed: await lifecycle.queryInstalled(request.params.id),
  }));

  app.post<{ Params: { id: string }; Body: { certificateType?: string; certificate?: string } }>('/api/v1/stations/:id/certificates/install', {
    schema: {
      tags,
      summary: 'Install a root certificate in a station\'s trust store: the given one, else the node\'s own of that type',
      params: idParam,
      body: { ...body({ certificateType: { type: 'string', maxLength: 40 }, certificate: { type: 'string', maxLength: 5500 } }), required: ['certificateType'] },
      response: { 200: status, ...stationErrors },
    },
  }, async (request) => lifecycle.install(request.params.id, request.body));

  app.delete<{ Params: { id: string; serial: string }; Querystring: { force?: string } }>('/api/v1/stations/:id/certificates/installed/:serial', {
    schema: {
      tags,
      summary: 'Delete a certificate from a station\'s trust store; force=true even its last CSMS root',
      params: { ...idParam, required: ['id', 'serial'], properties: { ...idParam.properties, serial: { type: 'string', maxLength: 128 } } },
      querystring: { type: 'object', properties: { force: { type: 'string', description: 'true: delete even the station\'s last CSMS root' } } },
      response: { 200: status, ...stationErrors },
    },
  }, async (request) => lifecycle.remove(request.params.id, request.params.serial, { force: request.query.force === 'true' }));
}
