/**
 * HTTP faces of the trust module. Public (no auth, relying parties fetch
 * them): CRLs and OCSP. Authenticated (the API registers them inside its
 * auth scope): CA list, certificate inventory, revocation, contract
 * registration.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { EvguardError } from '../errors.js';
import type { Trust } from './index.js';

function sendError(reply: FastifyReply, err: unknown) {
  const e = err instanceof EvguardError ? err : new EvguardError('INTERNAL');
  return reply.code(e.status).type('application/json').send({ error: { code: e.code, message: e.message } });
}

export async function publicRoutes(app: FastifyInstance, trust: Trust): Promise<void> {
  // RFC 6960 A.1: POST carries the DER request as application/ocsp-request.
  app.addContentTypeParser('application/ocsp-request', { parseAs: 'buffer', bodyLimit: 65_536 }, (_req, body, done) => done(null, body));

  app.get<{ Params: { file: string } }>('/pki/crl/:file', async (request, reply) => {
    const m = /^([a-z0-9-]{1,64})\.crl$/.exec(request.params.file);
    if (!m) return sendError(reply, new EvguardError('NOT_FOUND', 'CRLs are served as /pki/crl/<ca>.crl'));
    try {
      const der = await trust.crlDer(m[1]!);
      return reply.type('application/pkix-crl').header('cache-control', 'max-age=300').send(der);
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.post('/pki/ocsp', async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    return reply.type('application/ocsp-response').send(await trust.ocspRespond(body));
  });

  // RFC 6960 A.1: GET {url}/{url-encoding of base-64 encoding of the DER request}.
  app.get<{ Params: { '*': string } }>('/pki/ocsp/*', async (request, reply) => {
    let der: Buffer;
    try {
      const raw = request.params['*'];
      if (raw.length > 8192) throw new Error('too long');
      der = Buffer.from(decodeURIComponent(raw), 'base64');
    } catch {
      der = Buffer.alloc(0);
    }
    return reply.type('application/ocsp-response').send(await trust.ocspRespond(der));
  });
}

export async function apiRoutes(app: FastifyInstance, trust: Trust): Promise<void> {
  app.get('/api/v1/pki/cas', async () => trust.listCas().map(({ name, purpose, pem, subject, notAfter, offline }) => ({ name, purpose, pem, subject, notAfter, offline })));

  app.get<{ Querystring: { stationId?: string } }>('/api/v1/certificates', async (request) => {
    const stationId = typeof request.query.stationId === 'string' ? request.query.stationId : undefined;
    return trust.listCertificates({ stationId });
  });

  app.post<{ Params: { serial: string }; Body: { reason?: string } | undefined }>('/api/v1/certificates/:serial/revoke', async (request) => {
    const reason = request.body && typeof request.body === 'object' && typeof request.body.reason === 'string' ? request.body.reason : undefined;
    const result = await trust.revoke(request.params.serial, reason);
    return { serialHex: request.params.serial.toLowerCase(), revoked: true, stationId: result.stationId ?? null };
  });

  app.post<{ Body: { pcid?: string; emaid?: string } }>('/api/v1/pki/contracts', async (request, reply) => {
    const body = (request.body ?? {}) as { pcid?: string; emaid?: string };
    await trust.registerContract({ pcid: String(body.pcid ?? ''), emaid: String(body.emaid ?? '') });
    return reply.code(201).send({ pcid: body.pcid, emaid: body.emaid });
  });
}
