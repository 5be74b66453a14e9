/**
 * CSMS→station calls across nodes. The node holding a station's socket
 * subscribes to that station's subject, `<namespace>.station.<id>`; any
 * node's call for a station it does not hold is a NATS request to that
 * subject, answered by the holder. NATS answers "no responders" at once when
 * nobody holds the station, so no directory of owners is needed.
 *
 * The holder runs every routed call through its own gateway, whose ocpp-rpc
 * client sends one CALL at a time per station (callConcurrency 1): calls
 * from all nodes queue on the one socket, so one outstanding call per
 * station holds cluster-wide.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { EvguardError } from '../errors.js';
import { gatewayErrors, type Gateway } from '../ocpp/index.js';
import { clusterErrors } from './errors.js';

/** What the API, detectors and campaigns use to reach a station, wherever it is connected. */
export interface Calls {
  call(stationId: string, action: string, payload: unknown, opts?: { timeoutMs?: number }): Promise<unknown>;
  disconnect(stationId: string, code?: number, reason?: string): Promise<void>;
}

type Request =
  | { op: 'call'; action: string; payload: unknown; timeoutMs?: number }
  | { op: 'probe'; ms: number }
  | { op: 'disconnect'; code?: number; reason?: string };

type Reply = { ok: true; result?: unknown; alive?: boolean } | { ok: false; error: { code: string; message: string; details?: Record<string, unknown> } };

/** Extra time a routed call may wait in the holder's per-station queue before the caller gives up. */
const QUEUE_ALLOWANCE_MS = 5_000;
const CONTROL_TIMEOUT_MS = 5_000;

export interface Router extends Calls {
  /** This node now holds the station's socket: answer its subject. */
  held(stationId: string): void;
  /** The station's session here ended; stop answering unless a newer session took its place. */
  released(stationId: string): void;
  /** True if another node holds a live session for the station (it pinged it); a dead one there is closed. */
  heldElsewhere(stationId: string, ms: number): Promise<boolean>;
  close(): void;
}

/** Station ids may contain `.` and `*`, which mean something in a subject; base64url has neither. */
export function stationSubject(namespace: string, stationId: string): string {
  return `${namespace}.station.${Buffer.from(stationId, 'utf8').toString('base64url')}`;
}

export function createRouter(deps: { nc: NatsConnection; namespace: string; gateway: Gateway; callTimeoutMs: number; onError?: (err: unknown) => void }): Router {
  const { nc, namespace, gateway } = deps;
  const subs = new Map<string, Subscription>();
  const onError = deps.onError ?? (() => undefined);

  async function answer(stationId: string, req: Request): Promise<Reply> {
    switch (req?.op) {
      case 'call':
        if (typeof req.action !== 'string') return failure(clusterErrors.CLUSTER_ROUTE_FAILED('malformed routed call'));
        return { ok: true, result: await gateway.call(stationId, req.action, req.payload, { timeoutMs: typeof req.timeoutMs === 'number' ? req.timeoutMs : undefined }) };
      case 'probe':
        return { ok: true, alive: await gateway.probe(stationId, typeof req.ms === 'number' ? req.ms : undefined) };
      case 'disconnect':
        await gateway.disconnect(stationId, req.code, req.reason);
        return { ok: true };
      default:
        return failure(clusterErrors.CLUSTER_ROUTE_FAILED('unknown routed operation'));
    }
  }

  function held(stationId: string) {
    if (subs.has(stationId)) return;
    const sub = nc.subscribe(stationSubject(namespace, stationId), {
      callback(err, msg) {
        if (err) return onError(err);
        let req: Request;
        try {
          req = msg.json<Request>();
        } catch {
          return void msg.respond(JSON.stringify(failure(clusterErrors.CLUSTER_ROUTE_FAILED('routed request is not JSON'))));
        }
        answer(stationId, req)
          .catch(failure)
          .then((reply) => msg.respond(JSON.stringify(reply)))
          .catch(onError);
      },
    });
    subs.set(stationId, sub);
  }

  async function request(stationId: string, req: Request, timeoutMs: number): Promise<Reply | undefined> {
    try {
      const msg = await nc.request(stationSubject(namespace, stationId), JSON.stringify(req), { timeout: timeoutMs });
      return msg.json<Reply>();
    } catch (err: any) {
      if (err?.isNoResponders?.() || err?.cause?.name === 'NoRespondersError' || err?.name === 'NoRespondersError') return undefined;
      if (err?.name === 'TimeoutError' || err?.cause?.name === 'TimeoutError') throw gatewayErrors.STATION_CALL_TIMEOUT(`No answer from the node holding station ${stationId} in time`);
      throw clusterErrors.CLUSTER_UNAVAILABLE(`Cannot route to station ${stationId}: ${String(err?.message ?? err).slice(0, 200)}`, { cause: err });
    }
  }

  return {
    held,
    released(stationId) {
      if (gateway.session(stationId)) return;
      subs.get(stationId)?.unsubscribe();
      subs.delete(stationId);
    },
    async heldElsewhere(stationId, ms) {
      try {
        const reply = await request(stationId, { op: 'probe', ms }, ms + CONTROL_TIMEOUT_MS);
        return Boolean(reply?.ok && reply.alive);
      } catch (err) {
        // The holder did not answer in time (or NATS is down): as with a local ping, silence is not a live session.
        onError(err);
        return false;
      }
    },
    async call(stationId, action, payload, opts = {}) {
      if (gateway.session(stationId)) return gateway.call(stationId, action, payload, opts);
      const timeoutMs = opts.timeoutMs ?? deps.callTimeoutMs;
      const reply = await request(stationId, { op: 'call', action, payload, timeoutMs }, timeoutMs + QUEUE_ALLOWANCE_MS);
      if (!reply) throw gatewayErrors.STATION_OFFLINE(`Station ${stationId} is not connected`);
      if (reply.ok) return reply.result;
      throw new EvguardError(String(reply.error?.code ?? 'CLUSTER_ROUTE_FAILED'), String(reply.error?.message ?? ''), { details: reply.error?.details });
    },
    async disconnect(stationId, code, reason) {
      if (gateway.session(stationId)) return gateway.disconnect(stationId, code, reason);
      await request(stationId, { op: 'disconnect', code, reason }, CONTROL_TIMEOUT_MS);
    },
    close() {
      for (const s of subs.values()) s.unsubscribe();
      subs.clear();
    },
  };
}

function failure(err: unknown): Reply {
  if (err instanceof EvguardError) return { ok: false, error: { code: err.code, message: err.message, details: err.details } };
  return { ok: false, error: { code: 'CLUSTER_ROUTE_FAILED', message: 'The node holding the station failed to handle the call' } };
}
