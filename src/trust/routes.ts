/**
 * HTTP faces of the trust module. Public (no auth, relying parties fetch
 * them): CRLs and OCSP. Authenticated (the API registers them inside its
 * auth scope): CA list, certificate inventory, revocation, contract
 * registration.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { EvguardError } from '../errors.js';
import type { Trust } from './index.js';
import { errors, listOf } from '../api/schemas.js';

const tags = ['trust'];
/** DER bodies: the routes send Buffers, which fastify never serialises. */
const der = (type: string, description: string) => ({ 200: { description, content: { [type]: { schema: { type: 'string', format: 'binary' } } } } });
/** The API routes sit in a scope whose hook wants an auditor token for GET and an operator token otherwise (src/app.ts). */
const guarded = errors(401, 403);
const caSummary = {
  type: 'object',
  required: ['name', 'purpose', 'pem', 'subject', 'notAfter', 'offline'],
  properties: {
    name: { type: 'string' }, purpose: { type: 'string' }, pem: { type: 'string', description: 'Empty while the CA has no certificate' }, subject: { type: 'string' },
    notAfter: { type: 'string' }, offline: { type: 'boolean', description: 'The CA\'s key is kept off this node' },
  },
} as const;

function sendError(reply: FastifyReply, err: unknown) {
  const e = err instanceof EvguardError ? err : new EvguardError('INTERNAL');
  return reply.code(e.status).type('application/json').send({ error: { code: e.code, message: e.message } });
}

export async function publicRoutes(app: FastifyInstance, trust: Trust): Promise<void> {
  // RFC 6960 A.1: POST carries the DER request as application/ocsp-request.
  app.addContentTypeParser('application/ocsp-request', { parseAs: 'buffer', bodyLimit: 65_536 }, (_req, body, done) => done(null, body));

  app.get<{ Params: { file: string } }>('/pki/crl/:file', {
    schema: { tags, summary: 'A CA\'s certificate revocation list, as /pki/crl/<ca>.crl (DER, no token needed)', security: [], response: { ...der('application/pkix-crl', 'The CRL'), ...errors(404) } },
  }, async (request, reply) => {
    const m = /^([a-z0-9-]{1,64})\.crl$/.exec(request.params.file);
    if (!m) return sendError(reply, new EvguardError('NOT_FOUND', 'CRLs are served as /pki/crl/<ca>.crl'));
    try {
      const der = await trust.crlDer(m[1]!);
      return reply.type('application/pkix-crl').header('cache-control', 'max-age=300').send(der);
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.post('/pki/ocsp', {
    schema: { tags, summary: 'Answer an OCSP request sent as application/ocsp-request (RFC 6960, no token needed)', security: [], response: der('application/ocsp-response', 'The OCSP response') },
  }, async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    return reply.type('application/ocsp-response').send(await trust.ocspRespond(body));
  });

  // RFC 6960 A.1: GET {url}/{url-encoding of base-64 encoding of the DER request}.
  app.get<{ Params: { '*': string } }>('/pki/ocsp/*', {
    schema: { tags, summary: 'Answer an OCSP request given base64 in the path (RFC 6960 A.1, no token needed)', security: [], response: der('application/ocsp-response', 'The OCSP response') },
  }, async (request, reply) => {
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
  app.get('/api/v1/pki/cas', {
    schema: { tags, summary: 'List the certificate authorities and their certificates', response: { 200: { type: 'array', items: caSummary }, ...guarded } },
  }, async () => trust.listCas().map(({ name, purpose, pem, subject, notAfter, offline }) => ({ name, purpose, pem, subject, notAfter, offline })));

  app.get<{ Querystring: { stationId?: string } }>('/api/v1/certificates', {
    schema: {
      tags,
      summary: 'List the certificates the node issued, or those of one station',
      querystring: { type: 'object', properties: { stationId: { type: 'string' } } },
      response: { 200: listOf('Certificate'), ...guarded },
    },
  }, async (request) => {
    const stationId = typeof request.query.stationId === 'string' ? request.query.stationId : undefined;
    return trust.listCertificates({ stationId });
  });

  app.post<{ Params: { serial: string }; Body: { reason?: string } | undefined }>('/api/v1/certificates/:serial/revoke', {
    schema: {
      tags,
      summary: 'Revoke a certificate the node issued, with an RFC 5280 reason; CRLs and OCSP say so at once',
      response: {
        200: {
          type: 'object',
          required: ['serialHex', 'revoked', 'stationId'],
          properties: { serialHex: { type: 'string' }, revoked: { type: 'boolean' }, stationId: { type: ['string', 'null'], description: 'The station it was issued to, if any' } },
        },
        ...errors(404),
        ...guarded,
      },
    },
  }, async (request) => {
    const reason = request.body && typeof request.body === 'object' && typeof request.body.reason === 'string' ? request.body.reason : undefined;
    const result = await trust.revoke(request.params.serial, reason);
    return { serialHex: request.params.serial.toLowerCase(), revoked: true, stationId: result.stationId ?? null };
  });

  app.post<{ Body: { pcid?: string; emaid?: string } }>('/api/v1/pki/contracts', {
    schema: {
      tags,
      summary: 'Register a vehicle\'s contract (PCID and eMAID) for Plug & Charge',
      response: { 201: { type: 'object', required: ['pcid', 'emaid'], properties: { pcid: { type: 'string' }, emaid: { type: 'string' } } }, ...guarded },
    },
  }, async (request, reply) => {
    const body = (request.body ?? {}) as { pcid?: string; emaid?: string };
    await trust.registerContract({ pcid: String(body.pcid ?? ''), emaid: String(body.emaid ?? '') });
    return reply.code(201).send({ pcid: body.pcid, emaid: body.emaid });
  });
}
