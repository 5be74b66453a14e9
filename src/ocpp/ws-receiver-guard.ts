/**
 * ws 8.23's Receiver, with `allowSynchronousEvents: false` (one message per
 * event-loop turn), holds each chunk's write callback until its deferred
 * message event has run, so chunks that arrive meanwhile wait in the
 * Writable's buffer. When the callback finally runs, Node hands the buffered
 * chunks to `_write` one after another in the same turn. If one of them
 * carries a frame that fails after its payload was read (invalid UTF-8, a
 * Close with a bad code or reason), the Receiver reports the error, but the
 * next chunk still reaches `_write` and is parsed from the failed frame's
 * state, whose mask is already cleared: a TypeError thrown inside the stream
 * machinery, which no promise or connection handler can catch, and the
 * process exits. A Receiver that has failed must read nothing more; the
 * connection is being closed with the error's own code anyway.
 *
 * Installed once, on import, for every ws server and client in the process.
 */
import WebSocket from 'ws';

const Receiver = (WebSocket as unknown as { Receiver: { prototype: Record<string | symbol, any> } }).Receiver;
const GUARDED = Symbol.for('evguard.wsReceiverGuard');

if (!Receiver.prototype[GUARDED]) {
  const write = Receiver.prototype._write as (chunk: Buffer, encoding: string, cb: (err?: Error) => void) => void;
  Receiver.prototype._write = function (this: { _errored?: boolean }, chunk: Buffer, encoding: string, cb: (err?: Error) => void) {
    if (this._errored) return cb();
    return write.call(this, chunk, encoding, cb);
  };
  Receiver.prototype[GUARDED] = true;
}
