/**
 * The one shape of a module's routes: a function that adds them to the API's
 * fastify instance, given the guard that checks bearer tokens and roles.
 */
import type { FastifyInstance, preHandlerHookHandler } from 'fastify';
import type { Role } from './auth.js';

export interface Guard {
  /**
   * A hook that admits a principal with at least `role`. Routes declare it as
   * `preHandler`; the API moves it to `onRequest` (see createApi), so the
   * token is checked before the body is read, parsed or validated.
   */
  require(role: Role): preHandlerHookHandler;
}

/** May return fastify's own thenable (`app.register(…)`), which createApi awaits. */
export type RoutePlugin = (app: FastifyInstance, guard: Guard) => PromiseLike<unknown> | void;
