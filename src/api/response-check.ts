/**
 * fastify serialises a reply through its route's response schema
 * (fast-json-stringify), which silently drops properties the schema does not
 * list and coerces values to the declared type. With EVGUARD_CHECK_RESPONSES=1
 * (the tests set it, see test/support/node.ts) every JSON reply is compared
 * with what plain JSON.stringify would have sent, and a difference fails the
 * request with a 500 that names the route and the first differing path, so a
 * schema that falls behind its handler shows up in the tests, not in a client.
 */
import { isDeepStrictEqual } from 'node:util';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { EvguardError } from '../errors.js';

export function responseCheckEnabled(): boolean {
  return process.env.EVGUARD_CHECK_RESPONSES === '1';
}

export function checkResponsesAgainstSchemas(app: FastifyInstance): void {
  const sent = new WeakMap<FastifyRequest, unknown>();
  app.addHook('preSerialization', async (req, reply, payload) => {
    if (reply.routeOptions.schema?.response) sent.set(req, payload);
    return payload;
  });
  app.addHook('onSend', async (req, _reply, payload) => {
    if (!sent.has(req) || typeof payload !== 'string') return payload;
    const original = sent.get(req);
    sent.delete(req);
    const expected = JSON.parse(JSON.stringify(original) ?? 'null');
    const got = JSON.parse(payload);
    if (isDeepStrictEqual(expected, got)) return payload;
    const where = firstDifference(expected, got, '');
    const message = `${req.method} ${req.routeOptions.url}: the response schema changed the body at ${where.path || '/'} (handler: ${where.expected}, sent: ${where.got})`;
    // On stderr too: a test's node logs nothing, and a test may not look at every status it gets.
    process.emitWarning(message, 'ResponseSchemaWarning');
    // An EvguardError, so the test that met it reads the reason in the 500's body.
    throw new EvguardError('INTERNAL', message);
  });
}

function firstDifference(a: unknown, b: unknown, path: string): { path: string; expected: string; got: string } {
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const x = (a as Record<string, unknown>)[k];
      const y = (b as Record<string, unknown>)[k];
      if (!isDeepStrictEqual(x, y)) return firstDifference(x, y, `${path}/${k}`);
    }
  }
  const show = (v: unknown) => (v === undefined ? 'absent' : JSON.stringify(v).slice(0, 120));
  return { path, expected: show(a), got: show(b) };
}
