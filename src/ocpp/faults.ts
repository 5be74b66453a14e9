/**
 * The last resort for a promise rejection nobody handled. Node's default is
 * to end the process, which would drop every station on the node because of
 * one peer. Errors raised on a connection's socket are tagged with their
 * station when the gateway sees them, so a rejection that carries one is
 * turned into a security event and the close of that one connection; any
 * other is logged and the node keeps serving.
 */

const owners = new WeakMap<object, string>();

/** Marks an error as raised by this station's connection. */
export function attributeFault(err: unknown, stationId: string): void {
  if (err && typeof err === 'object') owners.set(err, stationId);
}

/** The station whose connection raised the error, if it was tagged. */
export function faultOwner(err: unknown): string | undefined {
  return err && typeof err === 'object' ? owners.get(err) : undefined;
}

/** Returns true when it took care of the rejection (it was its own). */
export type FaultHandler = (reason: unknown) => boolean;

interface Logger {
  error(obj: object, msg: string): void;
}

const handlers = new Map<FaultHandler, Logger>();
let installed = false;

function onUnhandledRejection(reason: unknown): void {
  for (const handler of handlers.keys()) {
    try {
      if (handler(reason)) return;
    } catch {
      // a handler that fails must not turn the last resort into a crash
    }
  }
  const log = [...handlers.values()].at(-1);
  if (log) log.error({ err: reason }, 'unhandled promise rejection; the node keeps serving');
  else console.error('unhandled promise rejection; the node keeps serving', reason);
}

/** Registers a node's handler; the process listener is installed once, for every node in the process. */
export function containRejections(handler: FaultHandler, log: Logger): () => void {
  handlers.set(handler, log);
  if (!installed) {
    installed = true;
    process.on('unhandledRejection', onUnhandledRejection);
  }
  return () => void handlers.delete(handler);
}
