/**
 * The TAXII 2.1 server (OASIS TAXII 2.1 §4–§5): discovery at /taxii2/, one
 * API root, its collections, objects, manifest, versions and status. Routes
 * live in their own fastify scope, so TAXII's media types, body limit and
 * error format do not leak into the rest of the node's HTTP API.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EvguardError } from '../errors.js';
import { intelErrors } from './errors.js';
import type { StixValidator } from './schema.js';
import type { IntelStore, ObjectRow } from './store.js';
import { normaliseTimestamps, type StixObject } from './stix.js';
import {
  acceptsTaxii, encodeNext, isIdentifier, isTaxiiContentType, parseFilters, STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE, type Filters, type Query,
} from './taxii-media.js';
import { ref } from '../api/schemas.js';

/*
 * The routes' schemas document them in the node's OpenAPI file. They are never used to serialise:
 * `send` hands fastify a Buffer, so the TAXII media type stays as written.
 */
const tags = ['intel'];
const taxii = (description: string, schema: object) => ({ description, content: { [TAXII_MEDIA_TYPE]: { schema } } });
const ERROR_STATUS: Record<number, string> = {
  400: 'The request is malformed (filters, ids, body)', 401: 'No valid bearer token', 403: 'Your role may not read or write this collection, or a remote client used the plain HTTP port',
  404: 'No such resource, or none you may see', 406: 'Accept does not allow application/taxii+json;version=2.1', 413: 'Larger than max_content_length',
  415: 'Content-Type is not application/taxii+json;version=2.1',
};
/** Every TAXII route authenticates and checks Accept and the request's length first (the scope's hook). */
const failures = (...statuses: number[]) =>
  Object.fromEntries([401, 403, 406, 413, ...statuses].map((s) => [s, taxii(ERROR_STATUS[s]!, ref('TaxiiError'))]));
const str = { type: 'string' } as const;
const stixObject = { type: 'object', additionalProperties: true, description: 'A STIX 2.1 object' } as const;
const envelopeOf = (items: Record<string, object>) => ({ type: 'object', required: ['more'], properties: { more: { type: 'boolean' }, next: str, ...items } });
const statusResource = {
  type: 'object',
  description: 'The status of a POST of objects (always complete)',
  required: ['id', 'status', 'total_count', 'success_count', 'failure_count', 'pending_count'],
  properties: {
    id: str, status: { type: 'string', enum: ['complete', 'pending'] }, request_timestamp: str, total_count: { type: 'integer' },
    success_count: { type: 'integer' }, successes: { type: 'array', items: { type: 'object', properties: { id: str, version: str, message: str } } },
    failure_count: { type: 'integer' }, failures: { type: 'array', items: { type: 'object', properties: { id: str, version: str, message: str } } },
    pending_count: { type: 'integer' }, pendings: { type: 'array', items: { type: 'object', properties: { id: str, version: str } } },
  },
} as const;
const collection = {
  type: 'object',
  required: ['id', 'title', 'can_read', 'can_write', 'media_types'],
  properties: { id: str, title: str, description: str, alias: str, can_read: { type: 'boolean' }, can_write: { type: 'boolean' }, media_types: { type: 'array', items: str } },
} as const;

export type Role = 'admin' | 'operator' | 'auditor';
export interface Principal { principal: string; role: Role }

/** The core's bearer-token check; undefined means not authenticated. */
export interface TaxiiAuth {
  authenticate(req: FastifyRequest): Principal | undefined | Promise<Principal | undefined>;
}

/** Who may read or write a collection: role names, or `principal:<name>` for one client. */
export type Grant = Role | `principal:${string}`;

export interface CollectionConfig {
  readonly id: string;
  readonly title: string;
  readonly description?: string;
  readonly alias?: string;
  readonly read: readonly Grant[];
  readonly write: readonly Grant[];
  /** Indicators written here are enforced by this node. */
  readonly enforce?: boolean;
}

export interface TaxiiServerDeps {
  readonly store: IntelStore;
  readonly validator: StixValidator;
  readonly collections: readonly CollectionConfig[];
  readonly apiRoot: string;
  readonly title: string;
  readonly maxContentLength: number;
  readonly maxPageSize: number;
  readonly dateAdded: () => string;
  /** Called with the objects accepted into a collection marked `enforce`. */
  readonly enforce: (objects: StixObject[], source: string) => Promise<void>;
}

const granted = (grants: readonly Grant[], p: Principal) => grants.includes(p.role) || grants.includes(`principal:${p.principal}`);

export async function registerTaxiiRoutes(app: FastifyInstance, auth: TaxiiAuth, deps: TaxiiServerDeps): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // One parser for every type, so a wrong Content-Type gets TAXII's 415 in TAXII's format.
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: deps.maxContentLength }, (req, body, done) => {
      if (!isTaxiiContentType(req.headers['content-type'])) return done(intelErrors.TAXII_UNSUPPORTED_MEDIA_TYPE(), undefined);
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(intelErrors.TAXII_BAD_REQUEST('the body is not valid JSON'), undefined);
      }
    });
    scope.setErrorHandler((err: unknown, _req, reply) => sendError(reply, err));
    scope.setNotFoundHandler((_req, reply) => sendError(reply, intelErrors.TAXII_NOT_FOUND()));

    const principals = new WeakMap<FastifyRequest, Principal>();
    scope.addHook('onRequest', async (req) => {
      const principal = await auth.authenticate(req);
      if (!principal) throw intelErrors.TAXII_UNAUTHENTICATED();
      principals.set(req, principal);
      if (!acceptsTaxii(req.headers.accept)) throw intelErrors.TAXII_NOT_ACCEPTABLE();
      const length = Number(req.headers['content-length'] ?? 0);
      if (length > deps.maxContentLength) throw intelErrors.TAXII_TOO_LARGE(`the request is larger than max_content_length (${deps.maxContentLength} bytes)`);
    });
    const who = (req: FastifyRequest) => principals.get(req)!;
    const root = `/${deps.apiRoot}/`;

    scope.get('/', {
      schema: {
        tags, summary: 'TAXII discovery: the server and its API roots',
        response: { 200: taxii('Discovery', { type: 'object', required: ['title'], properties: { title: str, description: str, default: str, api_roots: { type: 'array', items: str } } }), ...failures() },
      },
    }, async (req, reply) => {
      const base = `${req.protocol}://${req.host}/taxii2`;
      return send(reply, 200, { title: deps.title, description: 'evguard threat sharing (STIX 2.1 over TAXII 2.1)', default: `${base}${root}`, api_roots: [`${base}${root}`] });
    });

    scope.get(root, {
      schema: {
        tags, summary: 'TAXII API root: its versions and max_content_length',
        response: { 200: taxii('The API root', { type: 'object', required: ['title', 'versions', 'max_content_length'], properties: { title: str, versions: { type: 'array', items: str }, max_content_length: { type: 'integer' } } }), ...failures() },
      },
    }, async (_req, reply) => {
      return send(reply, 200, { title: `${deps.title}: ${deps.apiRoot}`, versions: [TAXII_MEDIA_TYPE], max_content_length: deps.maxContentLength });
    });

    scope.get(`${root}status/:statusId/`, {
      schema: { tags, summary: 'The status of an earlier POST of objects', response: { 200: taxii('The status resource', statusResource), ...failures(404) } },
    }, async (req, reply) => {
      const { statusId } = req.params as { statusId: string };
      const status = /^[0-9a-f-]{36}$/.test(statusId) ? await deps.store.getStatus(statusId) : undefined;
      const collection = status && deps.collections.find((c) => c.id === status.collectionId);
      if (!status || !collection || !granted(collection.write, who(req))) throw intelErrors.TAXII_NOT_FOUND('no such status resource');
      return send(reply, 200, status.body);
    });

    scope.get(`${root}collections/`, {
      schema: {
        tags, summary: 'List the collections you may read or write',
        response: { 200: taxii('The collections (an empty object when there are none)', { type: 'object', properties: { collections: { type: 'array', items: collection } } }), ...failures() },
      },
    }, async (req, reply) => {
      const p = who(req);
      const visible = deps.collections.filter((c) => granted(c.read, p) || granted(c.write, p)).map((c) => describe(c, p));
      return send(reply, 200, visible.length ? { collections: visible } : {});
    });

    const collectionOf = (req: FastifyRequest, need: 'read' | 'write') => {
      const { collectionId } = req.params as { collectionId: string };
      const p = who(req);
      const c = deps.collections.find((x) => x.id === collectionId || (x.alias !== undefined && x.alias === collectionId));
      // A collection the caller may neither read nor write does not exist for them.
      if (!c || (!granted(c.read, p) && !granted(c.write, p))) throw intelErrors.TAXII_NOT_FOUND('no such collection');
      if (!granted(c[need], p)) throw intelErrors.TAXII_FORBIDDEN(`your role may not ${need} this collection`);
      return c;
    };

    scope.get(`${root}collections/:collectionId/`, {
      schema: { tags, summary: 'Describe a collection, by id or alias', response: { 200: taxii('The collection', collection), ...failures(404) } },
    }, async (req, reply) => {
      const { collectionId } = req.params as { collectionId: string };
      const p = who(req);
      const c = deps.collections.find((x) => x.id === collectionId || x.alias === collectionId);
      if (!c || (!granted(c.read, p) && !granted(c.write, p))) throw intelErrors.TAXII_NOT_FOUND('no such collection');
      return send(reply, 200, describe(c, p));
    });

    const page = async (collectionId: string, filters: Filters, reply: FastifyReply) => {
      const { rows, more } = await deps.store.queryObjects({ collectionId, ...filters });
      addedHeaders(reply, rows);
      const last = rows[rows.length - 1];
      return { rows, more, next: more && last ? encodeNext([last.date_added, last.object_id, last.version]) : undefined };
    };

    scope.get(`${root}collections/:collectionId/objects/`, {
      schema: {
        tags, summary: 'Read a collection\'s objects, a page at a time (added_after, limit, next, match[...])',
        response: { 200: taxii('An envelope of STIX objects', envelopeOf({ objects: { type: 'array', items: stixObject } })), ...failures(400, 404) },
      },
    }, async (req, reply) => {
      const c = collectionOf(req, 'read');
      const { rows, more, next } = await page(c.id, parseFilters(req.query as Query, deps.maxPageSize), reply);
      return send(reply, 200, envelope(more, next, { objects: rows.map((r) => JSON.parse(r.body)) }));
    });

    scope.get(`${root}collections/:collectionId/manifest/`, {
      schema: {
        tags, summary: 'Read a collection\'s manifest: which objects and versions it holds, and when they were added',
        response: {
          200: taxii('A page of manifest records', envelopeOf({
            objects: { type: 'array', items: { type: 'object', required: ['id', 'date_added', 'version', 'media_type'], properties: { id: str, date_added: str, version: str, media_type: str } } },
          })),
          ...failures(400, 404),
        },
      },
    }, async (req, reply) => {
      const c = collectionOf(req, 'read');
      const { rows, more, next } = await page(c.id, parseFilters(req.query as Query, deps.maxPageSize), reply);
      const objects = rows.map((r) => ({ id: r.object_id, date_added: r.date_added, version: r.version_raw, media_type: STIX_MEDIA_TYPE }));
      return send(reply, 200, envelope(more, next, { objects }));
    });

    const objectId = (req: FastifyRequest) => {
      const { objectId: id } = req.params as { objectId: string };
      if (!isIdentifier(id)) throw intelErrors.TAXII_BAD_REQUEST('the object id is not a STIX identifier');
      return id;
    };

    scope.get(`${root}collections/:collectionId/objects/:objectId/`, {
      schema: {
        tags, summary: 'Read one object of a collection, in the versions asked for',
        response: { 200: taxii('An envelope of the object\'s versions', envelopeOf({ objects: { type: 'array', items: stixObject } })), ...failures(400, 404) },
      },
    }, async (req, reply) => {
      const c = collectionOf(req, 'read');
      const id = objectId(req);
      const filters = parseFilters(req.query as Query, deps.maxPageSize, { id: false });
      if (!(await deps.store.hasObject(c.id, id))) throw intelErrors.TAXII_NOT_FOUND('no such object in this collection');
      const { rows, more, next } = await page(c.id, { ...filters, ids: [id] }, reply);
      return send(reply, 200, envelope(more, next, { objects: rows.map((r) => JSON.parse(r.body)) }));
    });

    scope.get(`${root}collections/:collectionId/objects/:objectId/versions/`, {
      schema: {
        tags, summary: 'List the versions of an object in a collection',
        response: { 200: taxii('A page of versions', envelopeOf({ versions: { type: 'array', items: str } })), ...failures(400, 404) },
      },
    }, async (req, reply) => {
      const c = collectionOf(req, 'read');
      const id = objectId(req);
      const filters = parseFilters(req.query as Query, deps.maxPageSize, { id: false, version: false });
      if (!(await deps.store.hasObject(c.id, id))) throw intelErrors.TAXII_NOT_FOUND('no such object in this collection');
      const { rows, more, next } = await page(c.id, { ...filters, ids: [id], versions: ['all'] }, reply);
      return send(reply, 200, envelope(more, next, { versions: rows.map((r) => r.version_raw) }));
    });

    scope.delete(`${root}collections/:collectionId/objects/:objectId/`, {
      schema: {
        tags, summary: 'Delete an object from a collection: every version, or those in match[version] (needs read and write rights)',
        response: { 200: taxii('Deleted (an empty object)', { type: 'object' }), ...failures(400, 404) },
      },
    }, async (req, reply) => {
      const c = collectionOf(req, 'write');
      if (!granted(c.read, who(req))) throw intelErrors.TAXII_FORBIDDEN('deleting needs read and write rights');
      const id = objectId(req);
      const filters = parseFilters(req.query as Query, deps.maxPageSize, { id: false });
      // Without match[version] a DELETE removes every version (TAXII 2.1 §5.7); first/last are resolved to the exact versions first.
      let versions: string[] | undefined;
      if (filters.versions && !filters.versions.includes('all')) {
        const { rows } = await deps.store.queryObjects({ collectionId: c.id, ids: [id], versions: filters.versions, limit: 1000 });
        versions = rows.map((r) => r.version);
        if (versions.length === 0) throw intelErrors.TAXII_NOT_FOUND('no such version of this object');
      }
      const deleted = await deps.store.deleteObject(c.id, id, versions);
      if (deleted === 0) throw intelErrors.TAXII_NOT_FOUND('no such object in this collection');
      return send(reply, 200, {});
    });

    scope.post(`${root}collections/:collectionId/objects/`, {
      schema: {
        tags, summary: 'Add STIX objects to a collection; each is validated, and enforced where the collection says so',
        response: { 202: taxii('The status of the request: which objects were added and which failed, and why', statusResource), ...failures(400, 404, 415) },
      },
    }, async (req, reply) => {
      const c = collectionOf(req, 'write');
      if (!isTaxiiContentType(req.headers['content-type'])) throw intelErrors.TAXII_UNSUPPORTED_MEDIA_TYPE();
      const body = req.body as { objects?: unknown } | undefined;
      if (!body || typeof body !== 'object' || Array.isArray(body) || !Array.isArray(body.objects)) {
        throw intelErrors.TAXII_BAD_REQUEST('the body must be a TAXII envelope: { "objects": [ … ] }');
      }
      const requestTimestamp = deps.dateAdded();
      const successes: { id: string; version: string; message?: string }[] = [];
      const failures: { id: string; version?: string; message: string }[] = [];
      const accepted: StixObject[] = [];
      for (const received of body.objects as unknown[]) {
        // Any precision STIX allows is accepted, and stored at millisecond precision or finer.
        const object = normaliseTimestamps(received);
        const o = object as Partial<StixObject> | null;
        const id = o && typeof o === 'object' && typeof o.id === 'string' ? o.id.slice(0, 300) : 'unknown';
        const version = o && typeof o.modified === 'string' ? o.modified : o && typeof o.created === 'string' ? o.created : undefined;
        const check = deps.validator.validate(object);
        if (!check.valid) {
          failures.push({ id, ...(version ? { version } : {}), message: check.errors.slice(0, 3).join('; ').slice(0, 1000) });
          continue;
        }
        const outcome = await deps.store.insertObject(c.id, object as StixObject, deps.dateAdded());
        successes.push({ id, version: version ?? requestTimestamp, ...(outcome === 'duplicate' ? { message: 'already in the collection' } : {}) });
        accepted.push(object as StixObject);
      }
      if (c.enforce && accepted.length) await deps.enforce(accepted, `taxii:${who(req).principal}`);
      const status = {
        id: randomUUID(), status: 'complete', request_timestamp: requestTimestamp,
        total_count: successes.length + failures.length, success_count: successes.length, successes,
        failure_count: failures.length, failures, pending_count: 0, pendings: [],
      };
      await deps.store.putStatus(status.id, c.id, requestTimestamp, status);
      return send(reply, 202, status);
    });
  }, { prefix: '/taxii2' });
}

function describe(c: CollectionConfig, p: Principal) {
  return {
    id: c.id, title: c.title, ...(c.description ? { description: c.description } : {}), ...(c.alias ? { alias: c.alias } : {}),
    can_read: granted(c.read, p), can_write: granted(c.write, p), media_types: [STIX_MEDIA_TYPE],
  };
}

function envelope(more: boolean, next: string | undefined, body: Record<string, unknown>) {
  return { more, ...(next ? { next } : {}), ...body };
}

function addedHeaders(reply: FastifyReply, rows: ObjectRow[]) {
  if (rows.length === 0) return;
  const sorted = rows.map((r) => r.date_added).sort();
  reply.header('X-TAXII-Date-Added-First', sorted[0]);
  reply.header('X-TAXII-Date-Added-Last', sorted[sorted.length - 1]);
}

/**
 * Handlers return what this returns (the reply): an async handler that sends
 * and resolves with undefined makes fastify send an empty body when an
 * onSend hook is still running (the audit log's is).
 */
function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  // A Buffer keeps the header as written: for a string or object fastify rewrites a
  // +json type to `version="2.1"; charset=utf-8`, which strict TAXII clients refuse.
  return reply.code(status).header('content-type', TAXII_MEDIA_TYPE).send(Buffer.from(JSON.stringify(body)));
}

/** TAXII's error message resource (§3.6.1), carrying evguard's `{ error: { code, message } }` beside it. */
function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  let code = 'TAXII_BAD_REQUEST';
  let status = 400;
  let message = 'The TAXII request is malformed';
  if (err instanceof EvguardError) {
    ({ code, status, message } = err);
  } else if (err && typeof err === 'object' && 'statusCode' in err && typeof err.statusCode === 'number' && err.statusCode < 500) {
    status = err.statusCode;
    const known: Record<number, [string, string]> = {
      413: ['TAXII_TOO_LARGE', 'The request is larger than max_content_length'],
      415: ['TAXII_UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/taxii+json;version=2.1'],
      404: ['TAXII_NOT_FOUND', 'No such TAXII resource'],
    };
    [code, message] = known[status] ?? ['TAXII_BAD_REQUEST', 'The TAXII request is malformed'];
  } else {
    status = 500;
    code = 'INTERNAL';
    message = 'Internal error';
  }
  if (status === 401) reply.header('WWW-Authenticate', 'Bearer realm="taxii"');
  return send(reply, status, { title: message, http_status: String(status), error_code: code, error: { code, message } });
}
