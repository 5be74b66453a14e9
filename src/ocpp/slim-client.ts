/**
 * What ocpp-rpc gives every server-side client but a CSMS session never
 * uses, let go or shared, so that a connected station costs less memory
 * (docs/bench.md, "What a session holds, and checkpoints off the main thread"):
 *
 * - its own map of strict-mode validators, its list of strict protocols and
 *   its copy of the options: the same for every client of one server, so
 *   all share the first client's (identity, the one per-client option, is
 *   kept in `_identity` and read from there);
 * - its map of per-method handlers: the gateway handles every method with
 *   one wildcard handler, so the map stays empty; all share one;
 * - a reconnect backoff strategy: a server-side client never reconnects;
 * - the keep-alive timer `_keepAlive` arms even with pinging off (the
 *   gateway runs one keep-alive for all connections, keep-alive.ts): it
 *   holds a Timeout, an EventEmitter and their closure per client;
 * - its two maps of calls in flight (each way) become SmallMaps.
 *
 * ocpp-rpc 2.x keeps these as fields set in its constructor; the gateway's
 * tests exercise every path that reads them (strict validation both ways,
 * CALLs to stations, close).
 */
export interface SharedClientState {
  options?: object;
  validators?: Map<string, unknown>;
  protocols?: string[];
  handlers: Map<string, unknown>;
}

export function sharedClientState(): SharedClientState {
  return { handlers: new Map() };
}

export function slimClient(client: any, shared: SharedClientState): void {
  if (!shared.options) {
    const { identity: _identity, ...options } = client._options;
    shared.options = options;
    shared.validators = client._strictValidators;
    shared.protocols = client._strictProtocols;
  }
  client._options = shared.options;
  client._strictValidators = shared.validators;
  client._strictProtocols = shared.protocols;
  client._handlers = shared.handlers;
  client._backoffStrategy = undefined;
  clearTimeout(client._nextPingTimeout);
  client._nextPingTimeout = undefined;
  // Empty at this point: the client has read no frame yet (it starts reading on the next tick).
  if (client._pendingCalls.size === 0) client._pendingCalls = new SmallMap();
  if (client._pendingResponses.size === 0) client._pendingResponses = new SmallMap();
}

/**
 * The map ocpp-rpc keeps of a client's calls in flight, for the methods it
 * uses (has, get, set, delete, values, size). A station has one call in
 * flight at a time each way as a rule, so the one entry is held in two
 * fields and a Map is made only while there are more: a Map takes about
 * 300 bytes even when empty, and ocpp-rpc keeps two per client.
 */
export class SmallMap<K, V> {
  private only = false;
  private key: K | undefined;
  private value: V | undefined;
  private more: Map<K, V> | undefined;

  get size(): number {
    return (this.only ? 1 : 0) + (this.more?.size ?? 0);
  }

  has(key: K): boolean {
    return (this.only && this.key === key) || (this.more?.has(key) ?? false);
  }

  get(key: K): V | undefined {
    return this.only && this.key === key ? this.value : this.more?.get(key);
  }

  set(key: K, value: V): this {
    if (this.only && this.key === key) this.value = value;
    else if (!this.only && !this.more?.has(key)) {
      this.only = true;
      this.key = key;
      this.value = value;
    } else (this.more ??= new Map()).set(key, value);
    return this;
  }

  delete(key: K): boolean {
    if (this.only && this.key === key) {
      this.only = false;
      this.key = this.value = undefined;
      return true;
    }
    const deleted = this.more?.delete(key) ?? false;
    if (this.more?.size === 0) this.more = undefined;
    return deleted;
  }

  *values(): IterableIterator<V> {
    if (this.only) yield this.value as V;
    if (this.more) yield* this.more.values();
  }
}

/**
 * An EventEmitter keeps its listeners in an object made with a null
 * prototype, which V8 stores as a hash table (dictionary mode): about 450
 * bytes for a TLS socket's dozen events. An object that is given its null
 * prototype after it was made stays a fast object with a hidden class that
 * every such table shares, so the table of each long-lived emitter of a
 * session is copied into one once its listeners are in place, and each list
 * of listeners into an array of its exact length. Listeners added or removed
 * later work as before.
 */
export function compactListeners(emitter: { _events?: Record<string | symbol, unknown> } | undefined): void {
  const events = emitter?._events;
  if (!events) return;
  const fast: Record<string | symbol, unknown> = Object.setPrototypeOf({}, null);
  for (const key of Reflect.ownKeys(events)) {
    const listeners = events[key];
    // A stream removes a listener by setting its event to undefined (it is not counted).
    if (listeners === undefined) continue;
    fast[key] = Array.isArray(listeners) ? listeners.slice() : listeners;
  }
  emitter!._events = fast;
}

/**
 * Node's TLS server arms a handshake timeout on every socket and, once the
 * handshake is done, clears it but keeps the spent Timeout, its bound
 * callback and its numbers on the socket (about 300 bytes) for as long as
 * the connection lives. A socket whose timeout is off lets it go; Node sets
 * a new one should anything call setTimeout again.
 */
export function releaseSpentTimeout(socket: any): void {
  if (!socket || socket.timeout !== 0) return;
  const kTimeout = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'timeout');
  if (kTimeout && socket[kTimeout]?._idleTimeout === -1) socket[kTimeout] = null;
}
