/**
 * The station's outgoing CALLs. Every payload is checked against the schema
 * before it leaves. Transaction and security messages that cannot be sent
 * (offline, or the link drops mid-call) wait in order, and are replayed in
 * that order on reconnect (OCPP 2.0.1 E04/A04.FR.02, 1.6 §4.7); while a
 * queue exists, new ones join its end so nothing overtakes it.
 */
import type { RPCClient } from 'ocpp-rpc';
import { EvguardError } from '../errors.js';
import { simErrors } from './errors.js';
import { callFailure, isLinkLoss } from './link.js';
import type { SimValidator } from './schemas.js';
import type { CallRecord, SimStationState } from './types.js';

/** A message built at send time, so a 1.6 transaction id learnt on replay is used. */
export interface Pending {
  action: string;
  build: () => Record<string, unknown>;
  onResult?: (res: any) => void;
}

interface Ordered extends Pending {
  order: number;
}

export const QUEUED = Symbol('queued');

export interface OutboxHost {
  readonly id: string;
  state(): SimStationState;
  client(): RPCClient | undefined;
  emit(event: string, ...args: unknown[]): boolean;
}

export class Outbox {
  readonly #host: OutboxHost;
  readonly #validator: SimValidator;
  readonly #timeoutMs: number;
  readonly #queue: Ordered[] = [];
  #order = 0;
  #replaying = false;

  constructor(host: OutboxHost, validator: SimValidator, timeoutMs: number) {
    this.#host = host;
    this.#validator = validator;
    this.#timeoutMs = timeoutMs;
  }

  get size(): number {
    return this.#queue.length;
  }

  /** Sends now and returns the answer, or queues a queueable message and returns QUEUED. */
  async transmit(entry: Pending, queueable: boolean): Promise<unknown> {
    const state = this.#host.state();
    if (state === 'closed') throw simErrors.SIM_CLOSED(`station ${this.#host.id} is closed`);
    const pending: Ordered = { ...entry, order: this.#order++ };
    const client = this.#host.client();
    if (state !== 'open' || !client || this.#replaying || this.#queue.length > 0) {
      if (!queueable) throw simErrors.SIM_OFFLINE(`${entry.action}: station ${this.#host.id} is ${state}`);
      this.#checkEarly(pending);
      this.#queue.push(pending);
      return QUEUED;
    }
    try {
      return await this.#send(client, pending, false);
    } catch (err) {
      if (queueable && isLinkLoss(err) && this.#host.client() !== client) {
        this.#requeue(pending);
        return QUEUED;
      }
      throw err instanceof EvguardError ? err : callFailure(entry.action, err, this.#timeoutMs);
    }
  }

  /** Sends the queue in order; stops early if the link drops again, keeping the rest. */
  async replay(): Promise<void> {
    this.#replaying = true;
    let sent = 0;
    try {
      for (let client = this.#host.client(); client && this.#queue.length > 0; client = this.#host.client()) {
        const pending = this.#queue.shift()!;
        try {
          await this.#send(client, pending, true);
          sent++;
        } catch (err) {
          if (isLinkLoss(err) && this.#host.client() !== client) {
            this.#requeue(pending);
            break;
          }
          // OCPP lets a station give up on a message the CSMS keeps refusing; go on with the rest.
          this.#host.emit('failure', { action: pending.action, error: err, replayed: true });
        }
      }
    } finally {
      this.#replaying = false;
    }
    this.#host.emit('replayed', { sent, left: this.#queue.length });
  }

  async #send(client: RPCClient, pending: Ordered, replayed: boolean): Promise<unknown> {
    const payload = pending.build();
    this.#check(pending.action, payload);
    const started = performance.now();
    let ok = false;
    try {
      const res = await client.call(pending.action, payload);
      ok = true;
      pending.onResult?.(res);
      return res;
    } finally {
      const record: CallRecord = { action: pending.action, ms: performance.now() - started, ok, replayed };
      this.#host.emit('call', record);
    }
  }

  #check(action: string, payload: unknown): void {
    try {
      this.#validator.validate(`urn:${action}.req`, payload);
    } catch (err) {
      throw simErrors.SIM_INVALID_MESSAGE(`${action}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Refuses a message that can never be valid now rather than at replay; a 1.6 id not yet known is checked then. */
  #checkEarly(pending: Ordered): void {
    let payload: Record<string, unknown>;
    try {
      payload = pending.build();
    } catch {
      return;
    }
    this.#check(pending.action, payload);
  }

  #requeue(pending: Ordered): void {
    const at = this.#queue.findIndex((p) => p.order > pending.order);
    if (at < 0) this.#queue.push(pending);
    else this.#queue.splice(at, 0, pending);
  }
}
