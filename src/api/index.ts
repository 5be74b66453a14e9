/**
 * The HTTP edge: REST under /api/v1 with bearer-token roles, JSON errors
 * `{ error: { code, message } }` from one table, an audit entry for every
 * mutating call, OpenAPI, /healthz and /metrics. Modules contribute routes as
 * plugins; this file only knows how to authenticate, audit and render errors.
 */
import type { Server } from 'node:http';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type preHandlerHookHandler } from 'fastify';
import swagger from '@fastify/swagger';
import { EvguardError, commonErrors } from '../errors.js';
import type { AuditLog } from './audit.js';
import type { Guard, RoutePlugin } from './route-plugin.js';
import { isDatabaseUnavailable } from '../store/index.js';
import { roleAllows, type Principal, type Role, type TokenStore } from './auth.js';
import { addSharedSchemas, API_TAGS, withStandardErrors } from './schemas.js';
import { checkResponsesAgainstSchemas, responseCheckEnabled } from './response-check.js';

export { apiMigrations } from './store.js';
export { createTokenStore, ROLES, roleAllows, type Role, type Principal, type TokenStore } from './auth.js';
export { createAuditLog, type AuditLog, type AuditEntry } from './audit.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** Extra facts a handler wants in this call's audit entry (never secrets). */
    auditDetails?: Record<string, unknown>;
    auditTarget?: string;
  }
}

export type { Guard, RoutePlugin };

export interface ApiDeps {
  tokens: TokenStore;
  audit: AuditLog;
  log: any;
  version: string;
  /** What the plain HTTP port serves to clients that are not on this host (see plainPortAllows). */
  transport?: { plainApi: boolean; publicMetrics?: boolean; httpsPort(): number | undefined };
}

/**
 * On the plain HTTP port, remote clients get only what must be reachable
 * without TLS: /healthz, /readyz, CRLs and OCSP (signed objects that RFC 5280 relying
 * parties fetch over http), and the firmware download path (which itself
 * answers "HTTPS only"). OCPP `ws://` upgrades never reach this router. The
 * API, console, TAXII and /metrics carry tokens and answers that must not
 * cross a network in clear: there they answer loopback clients only, unless
 * the operator sets plainApi for a TLS-terminating proxy.
 */
const PLAIN_PUBLIC = /^\/(?:healthz(?:[?#]|$)|readyz(?:[?#]|$)|pki\/(?:crl|ocsp)(?:[/?#]|$)|firmware\/d\/)/;
/** With publicMetrics the operator chose a tokenless scrape: no secret crosses, so /metrics is public on the plain port too. */
const METRICS = /^\/metrics(?:[?#]|$)/;

export function isLoopback(address: string | undefined): boolean {
  return !!address && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}

/** One year; browsers then refuse plain HTTP for this host name. */
const HSTS = 'max-age=31536000';


const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function sendError(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.status(status).type('application/json').send({ error: { code, message } });
}

export async function createApi(deps: ApiDeps, server: Server, plugins: RoutePlugin[]): Promise<FastifyInstance> {
  const app = Fastify({
    serverFactory: (handler) => {
      server.on('request', handler);
      return server;
    },
    loggerInstance: deps.log,
    // Request lines would drown the operational log at info (the console polls); they are debug lines below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  });

  app.addHook('onResponse', async (req, reply) => {
    req.log.debug({ event: 'http.request', method: req.method, url: req.url.split('?')[0], statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  const guards = new WeakSet<Function>();
  const guard: Guard = {
    require(role) {
      const hook = async function requireRole(req: FastifyRequest, reply: FastifyReply) {
        const principal = await deps.tokens.authenticate(req.headers.authorization);
        if (!principal) {
          reply.header('WWW-Authenticate', 'Bearer realm="evguard"');
          return sendError(reply, 401, 'UNAUTHENTICATED', 'Send Authorization: Bearer <token>; the admin token is printed on first start and kept in <data-dir>/admin-token');
        }
        req.principal = principal;
        if (!roleAllows(principal.role, role)) return sendError(reply, 403, 'FORBIDDEN', `This needs the ${role} role; your token has ${principal.role}`);
      };
      guards.add(hook);
      return hook;
    },
  };

  // Authentication before anything else a request costs: a guard declared as
  // preHandler would run after the body was read (up to the route's body
  // limit, 64 MiB for firmware) and validated, so anonymous clients could
  // spend the node's memory and learn the API's shape from 400s. Every guard
  // is moved to onRequest, however a route declares it.
  app.addHook('onRoute', (route) => {
    const pre = route.preHandler === undefined ? [] : [route.preHandler].flat();
    const auth = pre.filter((h) => guards.has(h));
    // The document's 400/401/403 follow from what the route is (src/api/schemas.ts).
    route.schema = withStandardErrors(route.schema, { guarded: auth.length > 0, method: route.method });
    if (auth.length === 0) return;
    route.preHandler = pre.filter((h) => !guards.has(h));
    route.onRequest = [...auth, ...(route.onRequest === undefined ? [] : [route.onRequest].flat())] as typeof route.onRequest;
  });
  app.addHook('onRequest', async (req, reply) => {
    if ((req.raw.socket as { encrypted?: boolean }).encrypted || deps.transport?.plainApi !== false) return;
    if (isLoopback(req.raw.socket.remoteAddress) || PLAIN_PUBLIC.test(req.url) || (deps.transport.publicMetrics && METRICS.test(req.url))) return;
    const tlsPort = deps.transport.httpsPort();
    const host = /^([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d+)?$/.exec(req.headers.host ?? '')?.[1];
    const browsing = (req.method === 'GET' || req.method === 'HEAD') && !/^\/(?:api\/|taxii2\/|metrics(?:[?#]|$))/.test(req.url);
    // A browser asking for the console is sent to HTTPS; an API client is told, not redirected (its token already crossed).
    if (tlsPort && host && browsing) return reply.redirect(`https://${host}:${tlsPort}${req.url}`, 308);
    const where = tlsPort ? `https://${host ?? '<host>'}:${tlsPort}` : 'a TLS listener (--tls-port) or a TLS-terminating proxy with --plain-api';
    return sendError(reply, 403, 'HTTPS_REQUIRED', `The API, console, TAXII and metrics are served over HTTPS to remote clients: use ${where}`);
  });
  app.addHook('onSend', async (req, reply, payload) => {
    if ((req.raw.socket as { encrypted?: boolean }).encrypted) reply.header('strict-transport-security', HSTS);
    // API answers can carry secrets (new tokens, station passwords) and always carry a tenant's data: never cached.
    if (/^\/(?:api|taxii2)\/|^\/metrics(?:[?#]|$)/.test(req.url) && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.setErrorHandler((err: any, req, reply) => {
    if (err instanceof EvguardError) {
      if (err.status >= 500) req.log.error({ err }, 'request failed');
      return sendError(reply, err.status, err.code, err.message);
    }
    if (err.validation) return sendError(reply, 400, 'VALIDATION_FAILED', err.message);
    if (isDatabaseUnavailable(err)) {
      req.log.warn({ err }, 'database unavailable');
      reply.header('Retry-After', '5');
      return sendError(reply, 503, 'DATABASE_UNAVAILABLE', 'The database is unreachable or cannot be written; try again shortly (GET /readyz says when it is back)');
    }
    const status = Number(err.statusCode);
    if (status >= 400 && status < 500) {
      const code = status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : status === 406 ? 'NOT_ACCEPTABLE' : status === 404 ? 'NOT_FOUND' : status === 429 ? 'RATE_LIMITED' : 'BAD_REQUEST';
      return sendError(reply, status, code, err.message);
    }
    req.log.error({ err }, 'unhandled error');
    return sendError(reply, 500, 'INTERNAL', 'Internal error; see the node log');
  });
  // Ajv's type coercion turns "1e400" and "Infinity" (signed, blank-padded) into an infinite number and
  // then lets it pass `integer` and `maximum`; a number that large is never a valid parameter. A string
  // parameter that happens to read as one (a vendor called "Infinity") is left alone.
  app.addHook('preValidation', async (req, reply) => {
    const declared = (req.routeOptions.schema?.querystring as { properties?: Record<string, { type?: string | string[] }> } | undefined)?.properties;
    for (const [name, value] of Object.entries((req.query ?? {}) as Record<string, unknown>)) {
      if (typeof value !== 'string' || value.trim() === '' || Number.isFinite(Number(value)) || Number.isNaN(Number(value))) continue;
      const type = declared?.[name]?.type;
      if (type !== undefined && ![type].flat().some((t) => t === 'integer' || t === 'number')) continue;
      return sendError(reply, 400, 'VALIDATION_FAILED', `querystring/${name} is out of range`);
    }
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}`));

  // Every mutating API call is audited, whatever its outcome, before its answer
  // leaves: a client that has its answer can read the call in the audit log
  // (and so can anything that derives state from it, such as the assessment's
  // password age).
  app.addHook('onSend', async (req, reply, payload) => {
    if (!MUTATING.has(req.method) || !(req.url.startsWith('/api/') || req.url.startsWith('/taxii2/'))) return payload;
    const status = reply.statusCode;
    await deps.audit
      .append({
        actor: req.principal?.name ?? 'anonymous',
        role: req.principal?.role ?? 'none',
        action: `${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]}`,
        target: req.auditTarget ?? auditTargetOf(req.params),
        outcome: status < 400 ? 'ok' : status === 401 || status === 403 ? 'refused' : 'failed',
        details: { status, ...(req.auditDetails ?? {}) },
        sourceAddress: req.ip,
      })
      .catch((err) => req.log.error({ err }, 'audit append failed'));
    return payload;
  });

  addSharedSchemas(app);
  if (responseCheckEnabled()) checkResponsesAgainstSchemas(app);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'evguard API', version: deps.version, description: 'Security-first CSMS for EV charging networks. Errors answer `{ error: { code, message } }`; docs/errors.md lists the codes.' },
      tags: API_TAGS.map((t) => ({ ...t })),
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    // Shared shapes keep their names (#/components/schemas/Station), not def-0, def-1, ...
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  for (const plugin of plugins) await plugin(app, guard);
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

export { commonErrors };

/** What a mutating call acted on: the route's `id`, else its first parameter (a serial, a campaign, a token name). */
function auditTargetOf(params: unknown): string | undefined {
  if (!params || typeof params !== 'object') return undefined;
  const p = params as Record<string, unknown>;
  const value = typeof p.id === 'string' ? p.id : Object.values(p).find((v) => typeof v === 'string');
  return typeof value === 'string' ? value.slice(0, 200) : undefined;
}
