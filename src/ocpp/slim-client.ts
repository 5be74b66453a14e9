/**
 * What ocpp-rpc gives every server-side client but a CSMS session never
 * uses, let go or shared, so that a connected station costs less memory
 * (docs/bench.md, "Memory per station: what a session holds"):
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
 *   holds a Timeout, an EventEmitter and their closure per client.
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
