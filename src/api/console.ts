/**
 * Serves the operations console (web/, built by `npm run build` into
 * dist/web) at `/`. Only the files that exist at start are routed, so the
 * console can never shadow an API path or answer for an unknown one.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fastifyStatic from '@fastify/static';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The built console: next to the compiled server (dist/src/api → dist/web),
 * or under dist/ when the server runs from source (src/api → dist/web).
 */
export function findConsoleDir(): string | undefined {
  const candidates = [path.resolve(here, '../../web'), path.resolve(here, '../../dist/web')];
  return candidates.find((dir) => existsSync(path.join(dir, 'index.html')) && existsSync(path.join(dir, '.evguard-console')));
}

/**
 * The console talks only to this node: no inline script, no third-party
 * origin, no framing (clickjacking on action buttons).
 */
const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function securityHeaders(reply: FastifyReply) {
  reply.header('content-security-policy', CONSOLE_CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('x-frame-options', 'DENY');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('cross-origin-opener-policy', 'same-origin');
}

/** `dir`: the build to serve; null serves the "not built" answer (tests). */
export function consoleRoutes(dir: string | null | undefined = findConsoleDir()) {
  return async function (app: FastifyInstance) {
    if (!dir) {
      app.get('/', { schema: { hide: true } }, async (_req, reply) => {
        securityHeaders(reply);
        return reply
          .status(503)
          .type('text/plain; charset=utf-8')
          .send('The operations console is not built. Run `npm run build` (it builds the server and the console into dist/), then restart the node.\n');
      });
      return;
    }
    await app.register(fastifyStatic, {
      root: dir,
      prefix: '/',
      wildcard: false,
      decorateReply: false,
      schemaHide: true,
      preCompressed: true,
      index: ['index.html'],
      globIgnore: ['**/*.gz', '**/*.br', '.evguard-console'],
      setHeaders(reply, file) {
        securityHeaders(reply as unknown as FastifyReply);
        // Vite names assets by content hash, so they never change; the page itself must be revalidated.
        const immutable = file.includes(`${path.sep}assets${path.sep}`);
        (reply as unknown as FastifyReply).header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  };
}
