/** API tokens, the audit log, health and metrics. */
import type { FastifyInstance } from 'fastify';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { Guard } from '../route-plugin.js';
import type { AuditLog } from '../audit.js';
import type { Role, TokenStore } from '../auth.js';
import { errors, listOf, noContent, ref } from '../schemas.js';

export function adminRoutes(deps: { tokens: TokenStore; audit: AuditLog; metrics: MetricsRegistry; health: () => Record<string, unknown>; ready: () => Promise<boolean>; publicMetrics: boolean }) {
  return async function (app: FastifyInstance, guard: Guard) {
    // Liveness: the process serves. Readiness: it can also store what stations send.
    app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok', ...deps.health() }));
    app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
      if (await deps.ready()) return { status: 'ready' };
      return reply.status(503).header('Retry-After', '5').send({ error: { code: 'DATABASE_UNAVAILABLE', message: 'The database is unreachable or cannot be written' } });
    });
    // Metrics tell an attacker the fleet's size and the node's load: a token unless the operator opens them.
    app.get('/metrics', { schema: { hide: true }, preHandler: deps.publicMetrics ? [] : guard.require('auditor') }, async (_req, reply) => reply.type(deps.metrics.contentType).send(await deps.metrics.metrics()));

    // Who the presented token is: the console signs in with it and shows or hides actions by role.
    app.get('/api/v1/me', {
      preHandler: guard.require('auditor'),
      schema: {
        tags: ['admin'],
        summary: 'Who the presented token is, and its role',
        response: { 200: { type: 'object', required: ['name', 'role'], properties: { name: { type: 'string' }, role: { type: 'string', enum: ['auditor', 'operator', 'admin'] } } } },
      },
    }, async (req) => ({ name: req.principal!.name, role: req.principal!.role }));
    app.get('/api/v1/tokens', { preHandler: guard.require('admin'), schema: { tags: ['admin'], summary: 'List the API tokens (never their secrets)', response: { 200: listOf('ApiToken') } } }, async () => deps.tokens.list());
    app.post(
      '/api/v1/tokens',
      {
        preHandler: guard.require('admin'),
        schema: {
          tags: ['admin'],
          summary: 'Make an API token with a role; its secret is in this answer only',
          response: { 201: ref('ApiToken') },
          body: {
            type: 'object',
            required: ['name', 'role'],
            additionalProperties: false,
            properties: { name: { type: 'string', minLength: 1, maxLength: 100 }, role: { type: 'string', enum: ['auditor', 'operator', 'admin'] } },
          },
        },
      },
      async (req, reply) => {
        const { name, role } = req.body as { name: string; role: Role };
        req.auditDetails = { name, role };
        return reply.status(201).send(await deps.tokens.create(name, role));
      },
    );
    app.delete('/api/v1/tokens/:id', {
      preHandler: guard.require('admin'),
      schema: { tags: ['admin'], summary: 'Revoke an API token', params: { type: 'object', properties: { id: { type: 'string' } } }, response: { ...noContent, ...errors(404) } },
    }, async (req, reply) => {
      await deps.tokens.revoke((req.params as { id: string }).id);
      return reply.status(204).send();
    });
    app.get(
      '/api/v1/audit',
      {
        preHandler: guard.require('auditor'),
        schema: {
          tags: ['admin'],
          summary: 'Read the audit log, newest first',
          response: { 200: listOf('AuditEntry') },
          querystring: { type: 'object', properties: { since: { type: 'string' }, actor: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 1000 } } },
        },
      },
      async (req) => deps.audit.list(req.query as any),
    );
  };
}
