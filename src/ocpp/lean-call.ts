/**
 * An outgoing CALL on an ocpp-rpc client, as its own `_call` makes it, with
 * the per-call machinery it builds whether or not anything uses it left out.
 * For every CALL ocpp-rpc makes a TimeoutError (with its stack), an
 * AbortController, a `timers/promises` timeout listening on its signal, and
 * on the answer aborts that timeout, which makes an AbortError and a
 * DOMException: in a station simulator at full speed, about a third of the
 * process's time. Here the timeout is one plain timer, and the TimeoutError
 * is made only when it fires.
 *
 * What it keeps of ocpp-rpc 2.x's `_call` (the client's call queue still
 * runs one CALL at a time in front of it):
 * - no CALL while the socket is closing or closed;
 * - strict validation of the request, a failure emitted as
 *   `strictValidationFailure` and thrown (the answer is validated by
 *   ocpp-rpc's `_onCallResult`, which finds the call in `_pendingCalls`);
 * - the pending call's `resolve`, `reject`, `abort` and `promise`, which
 *   ocpp-rpc uses to settle it, to reject it on disconnect and to wait for
 *   it on a graceful close;
 * - `options.callTimeoutMs`, `options.signal` and `options.noReply`; unlike
 *   ocpp-rpc, which ignores a signal aborted before the CALL leaves the queue
 *   (it sends it and waits), such a CALL is rejected and not sent;
 * - the `call`, `callResult` and `callError` events, emitted only when someone listens.
 */
import { randomUUID } from 'node:crypto';
import ocppRpc, { RPCClient } from 'ocpp-rpc';

// ocpp-rpc spreads its error classes into module.exports, which Node's CommonJS
// export detection cannot see, so they are taken from the default export.
const { TimeoutError } = ocppRpc;

/** ocpp-rpc's socket states (ws's ready states). */
const CLOSING = 2;
const CLOSED = 3;

interface CallOptions {
  callTimeoutMs?: number;
  signal?: AbortSignal;
  noReply?: boolean;
}

/** Installs the lean CALL, and the guarded reading of a CALLERROR, on one client. */
export function leanCalls(client: any): void {
  client._call = leanCall;
  client._onCallError = onCallError;
}

const readCallError: (this: any, msgId: string, code: unknown, description: unknown, details: unknown) => void = (RPCClient.prototype as any)._onCallError;

/**
 * A CALLERROR for a call in flight, as ocpp-rpc reads it, but with an error
 * code that names something of every object ('constructor', '__proto__',
 * 'toString') read as GenericError: ocpp-rpc looks the code up in a plain
 * object, so a peer naming one of those got its CALLERROR turned into a
 * String object (the gateway took the station for gone) or dropped as a bad
 * message (the call timed out).
 */
function onCallError(this: any, msgId: string, code: unknown, description: unknown, details: unknown): void {
  const safe = typeof code === 'string' && !(code in Object.prototype) ? code : 'GenericError';
  return readCallError.call(this, msgId, safe, description, details);
}

/** True for the error a CALL that got no answer in time rejects with. */
export function isCallTimeout(err: unknown): boolean {
  return err instanceof TimeoutError;
}

async function leanCall(this: any, method: string, params: unknown, options: CallOptions = {}): Promise<unknown> {
  const timeoutMs = options.callTimeoutMs ?? this._options.callTimeoutMs;
  if (this._state === CLOSING || this._state === CLOSED) throw new Error('Cannot make call while socket not open');
  // Given up on before it left the client's queue: it is not sent, so the
  // station never acts on a CALL whose caller was told it was aborted.
  if (options.signal?.aborted) throw abortError(options.signal.reason);
  const msgId = randomUUID();
  const payload = [2, msgId, method, params];
  if (this._strictProtocols.includes(this._protocol)) {
    try {
      this._strictValidators.get(this._protocol).validate(`urn:${method}.req`, params);
    } catch (error) {
      this.emit('strictValidationFailure', { messageId: msgId, method, params, result: null, error, outbound: true, isCall: true });
      throw error;
    }
  }
  // Made before the call is pending: params that cannot be serialized (a
  // cycle, a BigInt) throw here, and leave no pending call whose timeout
  // would later reject a promise nobody awaits.
  const frame = JSON.stringify(payload);
  emitIfHeard(this, 'call', { outbound: true, payload });
  if (options.noReply) {
    this.sendRaw(frame);
    return undefined;
  }
  const pending = new PendingCall(this, msgId, method, params, timeoutMs, options.signal);
  this._pendingCalls.set(msgId, pending);
  // A send that throws (a listener of ocpp-rpc's 'message' event) fails this call, and takes it out of the pending ones.
  try {
    this.sendRaw(frame);
  } catch (error) {
    pending.reject(error);
  }
  try {
    const result = await pending.promise;
    emitIfHeard(this, 'callResult', { outbound: true, messageId: msgId, method, params, result });
    return result;
  } catch (error) {
    emitIfHeard(this, 'callError', { outbound: true, messageId: msgId, method, params, error });
    throw error;
  }
}

/** One CALL in flight, in the shape ocpp-rpc's `_pendingCalls` holds. */
class PendingCall {
  readonly promise: Promise<unknown>;
  resolve!: (result: unknown) => void;
  reject!: (error: unknown) => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    client: any,
    readonly msgId: string,
    readonly method: string,
    readonly params: unknown,
    timeoutMs: number | undefined,
    signal: AbortSignal | undefined,
  ) {
    const onAbort = () => this.abort(signal!.reason);
    this.promise = new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(this.#timer);
        signal?.removeEventListener('abort', onAbort);
        client._pendingCalls.delete(msgId);
      };
      this.resolve = (result) => (done(), resolve(result));
      this.reject = (error) => (done(), reject(error));
    });
    if (timeoutMs && timeoutMs > 0 && timeoutMs < Infinity) {
      this.#timer = setTimeout(() => this.reject(new TimeoutError('Call timeout')), timeoutMs);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  }

  /** ocpp-rpc aborts every call in flight when the connection goes. */
  abort(reason: unknown): void {
    this.reject(abortError(reason));
  }
}

/** The error ocpp-rpc rejects an aborted call with. */
function abortError(reason: unknown): Error {
  const error = new Error(String(reason));
  error.name = 'AbortError';
  return error;
}

function emitIfHeard(client: any, event: string, value: unknown): void {
  if (client.listenerCount(event) > 0) client.emit(event, value);
}
