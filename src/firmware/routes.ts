/**
 * HTTP: the authenticated /api/v1 firmware and campaign routes, and the
 * public per-station download routes (HTTPS only, unguessable expiring
 * token in the path) that serve the image and its TUF metadata.
 */
import { createHash } from 'node:crypto';
import { createReadStream, rmSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FirmwareStore } from './store.js';
import type { Guard } from '../api/route-plugin.js';
import type { Campaigns } from './campaigns.js';
import { firmwareErrors } from './errors.js';
import { imageRepo, type Images } from './images.js';
import { TOP_ROLES, TufKeyMissing, type TopRole, type TufRepositories } from './tuf.js';
import { stageStream, type StagedImage } from './staging.js';
import { anyObject, errors, listOf, ref } from '../api/schemas.js';

export interface RouteDeps {
  store: FirmwareStore;
  images: Images;
  campaigns: Campaigns;
  tuf: TufRepositories;
  maxImageBytes: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The uploaded image, streamed to a staging file. */
    staged?: StagedImage;
  }
}

/** Uploads in progress at a time: each holds a socket, a file and disk space until it ends. */
const MAX_UPLOADS = 4;
const MAX_UPLOADS_PER_CLIENT = 2;

const idParam = { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } };
const tags = ['firmware'];
const tufMetadata = { ...anyObject, description: 'Signed TUF root metadata (version 1)' };
const CAMPAIGN_ACTIONS = {
  pause: 'Pause a running campaign: nothing more is sent until it resumes',
  resume: 'Resume a paused or halted campaign (a halted one judges only what happens from now)',
  abort: 'Abort a campaign: stations not yet sent an update are skipped',
} as const;

export function firmwareRoutes(deps: RouteDeps) {
  const uploads = {
    total: 0,
    by: new Map<string, number>(),
    take(who: string) {
      this.total++;
      this.by.set(who, (this.by.get(who) ?? 0) + 1);
    },
    release(who: string) {
      this.total--;
      const n = (this.by.get(who) ?? 1) - 1;
      if (n > 0) this.by.set(who, n);
      else this.by.delete(who);
    },
  };
  return async function (app: FastifyInstance, guard: Guard) {
    await app.register(async (scope) => {
      // The body streams to a staging file while it is hashed (never held in memory);
      // the token was checked before the first byte was read (guards run on onRequest).
      scope.addContentTypeParser('application/octet-stream', (req, payload, done) => {
        const who = req.principal?.name ?? req.ip;
        if (uploads.total >= MAX_UPLOADS || (uploads.by.get(who) ?? 0) >= MAX_UPLOADS_PER_CLIENT) {
          return done(firmwareErrors.FIRMWARE_UPLOADS_BUSY(`at most ${MAX_UPLOADS_PER_CLIENT} uploads per client and ${MAX_UPLOADS} in all at a time`), undefined);
        }
        const declared = Number(req.headers['content-length']);
        if (declared > deps.maxImageBytes) return done(firmwareErrors.FIRMWARE_TOO_LARGE(`the image is larger than the limit of ${deps.maxImageBytes} bytes`), undefined);
        uploads.take(who);
        stageStream(payload, deps.images.stagingDir, deps.maxImageBytes)
          .then((staged) => {
            req.staged = staged;
            // The client may have left while the last bytes were written.
            if (ended.has(req)) {
              discard(req);
              return done(firmwareErrors.FIRMWARE_INVALID('the upload ended before it was stored'), undefined);
            }
            done(null, staged);
          }, (err) => done(err, undefined))
          .finally(() => uploads.release(who));
      });
      // A staged file that no handler took (refused before it, or the client left) is removed when the
      // exchange ends. The response's 'close' comes in every case; onResponse does not come when the client left.
      const ended = new WeakSet<FastifyRequest>();
      const discard = (req: FastifyRequest) => {
        if (req.staged) rmSync(req.staged.path, { force: true });
        req.staged = undefined;
      };
      scope.addHook('onRequest', async (req, reply) => {
        reply.raw.once('close', () => {
          ended.add(req);
          discard(req);
        });
      });

      scope.post('/api/v1/firmware', {
        preHandler: guard.require('operator'),
        schema: {
          tags,
          summary: 'Upload a firmware image as the raw body (application/octet-stream); the node signs it unless a signature is given',
          description: 'An imported signature comes in the X-Firmware-Signature header, its certificate (base64 PEM) in X-Firmware-Signing-Certificate.',
          response: { 201: ref('FirmwareImage'), ...errors(409, 413, 415, 429) },
          querystring: {
            type: 'object', additionalProperties: false, required: ['vendor', 'model', 'version'],
            properties: { vendor: { type: 'string', maxLength: 50 }, model: { type: 'string', maxLength: 1000 }, version: { type: 'string', maxLength: 50 }, sign: { type: 'boolean' } },
          },
        },
      }, async (req, reply) => {
        const q = req.query as { vendor: string; model: string; version: string; sign?: boolean };
        // The handler owns the staged file from here: stored (moved) or removed, whether the client waits or not.
        const image = req.staged;
        req.staged = undefined;
        if (!image) throw firmwareErrors.FIRMWARE_INVALID('send the image as the raw body with Content-Type: application/octet-stream');
        const sig = header(req, 'x-firmware-signature');
        const certB64 = header(req, 'x-firmware-signing-certificate');
        const img = await deps.images.upload({
          vendor: q.vendor, version: q.version, models: q.model.split(',').map((m) => m.trim()).filter(Boolean), image, sign: q.sign,
          signature: sig, signingCertificate: certB64 === undefined ? undefined : Buffer.from(certB64, 'base64').toString('utf8'),
        }).finally(() => rmSync(image.path, { force: true }));
        req.auditTarget = img.id;
        req.auditDetails = { vendor: img.vendor, version: img.version, sha256: img.sha256, signer: img.signer };
        return reply.status(201).send(img);
      });
    });

    app.get('/api/v1/firmware', {
      preHandler: guard.require('auditor'),
      schema: {
        tags,
        summary: 'List the firmware images, or one vendor\'s',
        querystring: { type: 'object', additionalProperties: false, properties: { vendor: { type: 'string', maxLength: 50 } } },
        response: { 200: listOf('FirmwareImage') },
      },
    },
      async (req) => deps.images.list(req.query as { vendor?: string }));
    app.get('/api/v1/firmware/tuf-roots', {
      preHandler: guard.require('auditor'),
      schema: {
        tags,
        summary: 'The TUF root metadata stations are provisioned with: the director\'s and each vendor image repository\'s',
        response: {
          200: {
            type: 'object',
            required: ['director', 'images'],
            properties: { director: { ...tufMetadata, type: ['object', 'null'] }, images: { type: 'object', additionalProperties: tufMetadata, description: 'By vendor' } },
          },
        },
      },
    }, async () => {
      const vendors = [...new Set((await deps.images.list()).map((i) => i.vendor))];
      const images: Record<string, unknown> = {};
      for (const v of vendors) {
        const root = await deps.tuf.root(imageRepo(v), 1);
        if (root) images[v] = JSON.parse(root);
      }
      await deps.tuf.ensureRoot('director');
      const director = await deps.tuf.root('director', 1);
      return { director: director ? JSON.parse(director) : null, images };
    });
    app.post('/api/v1/firmware/tuf-roots/rotate', {
      preHandler: guard.require('admin'),
      schema: {
        tags,
        summary: 'Rotate the keys of a TUF repository\'s top roles, signing the new root with the old keys and the new',
        response: {
          200: {
            type: 'object',
            required: ['repository', 'version', 'keyids'],
            properties: {
              repository: { type: 'string' }, version: { type: 'integer', description: 'Of the new root' },
              keyids: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } }, description: 'Key ids by role' },
            },
          },
          ...errors(404, 409),
        },
        body: {
          type: 'object', additionalProperties: false, required: ['repository'],
          properties: { repository: { type: 'string', maxLength: 60 }, roles: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: [...TOP_ROLES] } } },
        },
      },
    }, async (req) => {
      const b = req.body as { repository: string; roles?: TopRole[] };
      if (b.repository !== 'director' && !(await deps.images.list()).some((i) => imageRepo(i.vendor) === b.repository)) {
        throw firmwareErrors.FIRMWARE_REPOSITORY_UNKNOWN(`no repository ${b.repository}: name "director" or "image/<vendor>"`);
      }
      await deps.tuf.ensureRoot(b.repository);
      try {
        const rotated = await deps.tuf.rotateRoot(b.repository, b.roles ?? TOP_ROLES);
        req.auditTarget = b.repository;
        req.auditDetails = { rootVersion: rotated.version, roles: b.roles ?? TOP_ROLES };
        return { repository: b.repository, ...rotated };
      } catch (err) {
        if (err instanceof TufKeyMissing) throw firmwareErrors.FIRMWARE_KEY_MISSING(err.message);
        throw err;
      }
    });
    app.get('/api/v1/firmware/:id', {
      preHandler: guard.require('auditor'),
      schema: { tags, summary: 'Read a firmware image', params: idParam, response: { 200: ref('FirmwareImage'), ...errors(404) } },
    }, async (req) => deps.images.get((req.params as { id: string }).id));
    app.post('/api/v1/firmware/:id/sign', {
      preHandler: guard.require('operator'),
      schema: { tags, summary: 'Sign an image with the node\'s code-signing certificate for its vendor, and publish it', params: idParam, response: { 200: ref('FirmwareImage'), ...errors(404, 409) } },
    }, async (req) => deps.images.sign((req.params as { id: string }).id));
    app.put('/api/v1/firmware/:id/signature', {
      preHandler: guard.require('operator'),
      schema: {
        tags,
        summary: 'Attach a signature made elsewhere (and its signing certificate) to an image, and publish it',
        params: idParam,
        response: { 200: ref('FirmwareImage'), ...errors(404, 409) },
        body: { type: 'object', additionalProperties: false, required: ['signature', 'signingCertificate'], properties: { signature: { type: 'string', maxLength: 2000 }, signingCertificate: { type: 'string', maxLength: 10000 } } },
      },
    }, async (req) => {
      const b = req.body as { signature: string; signingCertificate: string };
      return deps.images.importSignature((req.params as { id: string }).id, b.signature, b.signingCertificate);
    });

    app.post('/api/v1/campaigns', {
      preHandler: guard.require('operator'),
      schema: {
        tags,
        summary: 'Start a firmware update campaign: a canary wave first, then waves, halting when too many fail',
        response: { 201: ref('Campaign'), ...errors(403, 404, 409) },
        body: {
          type: 'object', additionalProperties: false, required: ['firmwareId'],
          properties: {
            firmwareId: { type: 'string', maxLength: 64 },
            stationIds: { type: 'array', maxItems: 100000, items: { type: 'string', maxLength: 48 } },
            filter: { type: 'object', additionalProperties: false, properties: { vendor: { type: 'string', maxLength: 50 }, model: { type: 'string', maxLength: 50 }, version: { type: 'string', maxLength: 50 }, tag: { type: 'string', maxLength: 50 } } },
            canaryPercent: { type: 'number' }, waveSize: { type: 'integer' }, failureThresholdPercent: { type: 'number' },
            window: { type: 'object', additionalProperties: false, required: ['start', 'end'], properties: { start: { type: 'string', maxLength: 40 }, end: { type: 'string', maxLength: 40 } } },
            allowInsecure: { type: 'boolean' }, paused: { type: 'boolean' },
            force: { type: 'object', additionalProperties: false, required: ['reason'], properties: { reason: { type: 'string', maxLength: 500 } } },
          },
        },
      },
    }, async (req, reply) => {
      const body = req.body as any;
      const c = await deps.campaigns.create(body, { name: req.principal!.name, role: req.principal!.role });
      req.auditTarget = c.id;
      // A forced downgrade is recorded with its reason (anti-rollback override).
      req.auditDetails = { firmwareId: c.firmwareId, stations: c.stations.length, ...(c.spec.forced ? { forcedDowngrade: c.spec.forced.reason } : {}) };
      return reply.status(201).send(c);
    });
    app.get('/api/v1/campaigns', {
      preHandler: guard.require('auditor'),
      schema: { tags, summary: 'List the campaigns, newest first (at most 200, without their stations)', response: { 200: listOf('Campaign') } },
    }, async () => deps.campaigns.list());
    app.get('/api/v1/campaigns/:id', {
      preHandler: guard.require('auditor'),
      schema: { tags, summary: 'Read a campaign, with each station\'s progress', params: idParam, response: { 200: ref('Campaign'), ...errors(404) } },
    }, async (req) => deps.campaigns.get((req.params as { id: string }).id));
    for (const [action, summary] of Object.entries(CAMPAIGN_ACTIONS) as [keyof typeof CAMPAIGN_ACTIONS, string][]) {
      app.post(`/api/v1/campaigns/:id/${action}`, {
        preHandler: guard.require('operator'),
        schema: { tags, summary, params: idParam, response: { 200: ref('Campaign'), ...errors(404, 409) } },
      }, async (req) => deps.campaigns[action]((req.params as { id: string }).id));
    }

    // Public download routes: the token is the credential.
    app.get('/firmware/d/:token/:kind/:file', { schema: { hide: true } as any }, async (req, reply) => {
      const { token, kind, file } = req.params as { token: string; kind: string; file: string };
      if (!(req.raw.socket as any).encrypted) return notFound(reply, 'firmware is served over HTTPS only');
      const grant = await lookup(deps.store, token);
      if (!grant) return notFound(reply);
      const img = await deps.images.get(grant.firmware_id);
      if (kind === 'image') {
        // Consistent snapshots: a plain TUF client asks for <sha256>.<targetPath>.
        if (file !== img.targetPath && file !== `${img.sha256}.${img.targetPath}`) return notFound(reply);
        return reply.type('application/octet-stream').header('Content-Length', img.length).send(createReadStream(deps.images.blobPath(img.sha256)));
      }
      const repoRoot = kind === 'repo' ? imageRepo(img.vendor) : kind === 'director' ? 'director' : undefined;
      if (!repoRoot) return notFound(reply);
      const repo = kind === 'repo' ? repoRoot : `director/${grant.station_id}`;
      const json = await deps.tuf.file(repo, file);
      if (!json) return notFound(reply);
      return reply.type('application/json').header('Cache-Control', 'no-store').send(json);
    });
  };
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

function notFound(reply: FastifyReply, message = 'No such download, or it has expired') {
  return reply.status(404).type('application/json').send({ error: { code: 'DOWNLOAD_NOT_FOUND', message } });
}

async function lookup(store: FirmwareStore, token: string): Promise<{ station_id: string; firmware_id: string } | undefined> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
  const row = await store.downloads.get(createHash('sha256').update(token).digest('hex'));
  if (!row || Date.parse(row.expires_at) <= Date.now()) return undefined;
  return row;
}
