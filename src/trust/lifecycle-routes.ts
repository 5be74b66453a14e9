/**
 * /api/v1/stations/:id/certificates: a station's certificate inventory,
 * renewal on demand, and its trust store (InstallCertificate,
 * GetInstalledCertificateIds, DeleteCertificate). Registered inside the
 * API's authenticated scope, like apiRoutes.
 */
import type { FastifyInstance } from 'fastify';
import type { CertificateLifecycle } from './lifecycle.js';

const idParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 48 } } } as const;
const body = (properties: Record<string, unknown>) => ({ type: 'object', additionalProperties: false, properties } as const);

export async function lifecycleRoutes(app: FastifyInstance, lifecycle: CertificateLifecycle): Promise<void> {
  app.get<{ Params: { id: string } }>('/api/v1/stations/:id/certificates', { schema: { params: idParam } }, async (request) => lifecycle.inventory(request.params.id));

  app.post<{ Params: { id: string }; Body: { certificateType?: string } | undefined }>('/api/v1/stations/:id/certificates/renew', {
    // No body at all means the defaults (the station certificate).
    schema: { params: idParam, body: { anyOf: [body({ certificateType: { type: 'string', maxLength: 40 } }), { type: 'null' }] } },
  }, async (request, reply) => {
    const renewal = await lifecycle.renew(request.params.id, { certificateType: request.body?.certificateType, reason: 'operator' });
    return reply.code(renewal.state === 'failed' || renewal.state === 'refused' ? 502 : 202).send(renewal);
  });

  app.post<{ Params: { id: string } }>('/api/v1/stations/:id/certificates/query', { schema: { params: idParam } }, async (request) => ({
    installed: await lifecycle.queryInstalled(request.params.id),
  }));

  app.post<{ Params: { id: string }; Body: { certificateType?: string; certificate?: string } }>('/api/v1/stations/:id/certificates/install', {
    schema: { params: idParam, body: { ...body({ certificateType: { type: 'string', maxLength: 40 }, certificate: { type: 'string', maxLength: 5500 } }), required: ['certificateType'] } },
  }, async (request) => lifecycle.install(request.params.id, request.body));

  app.delete<{ Params: { id: string; serial: string }; Querystring: { force?: string } }>('/api/v1/stations/:id/certificates/installed/:serial', {
    schema: { params: { ...idParam, required: ['id', 'serial'], properties: { ...idParam.properties, serial: { type: 'string', maxLength: 128 } } } },
  }, async (request) => lifecycle.remove(request.params.id, request.params.serial, { force: request.query.force === 'true' }));
}
