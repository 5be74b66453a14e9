/**
 * Keep-alive for every station connection on one timer. ocpp-rpc would give
 * each connection its own (a timer, an event emitter, an abort controller
 * and a suspended async loop: about a kilobyte a station, at tens of
 * thousands of stations). Here connections are spread over groups, one tick
 * of a shared interval every MIN_TICK_MS or more; each tick pings one group,
 * so the pings of a large fleet are spread over the interval instead of sent
 * at once. A tick is synchronous (a ping is a TLS write): with 16 groups a
 * tick at 20,000 stations sent 1,250 pings at once, and their pongs came
 * back together, a stall every two seconds that the other stations' messages
 * waited behind; with up to 256 groups a tick at 100,000 stations is about
 * 400 pings.
 *
 * A connection that has sent nothing since its last ping (no pong, no
 * message) when its group's turn comes again is terminated: the same rule
 * as ocpp-rpc's, with any frame counting as a sign of life. A connection
 * that is closing is not pinged but is held to the same rule, as ocpp-rpc's
 * was until its socket closed: a peer that half-closed without a Close and
 * reads nothing would otherwise keep it closing for good.
 */
import type WebSocket from 'ws';

/** At most this many groups; a tick comes at most every MIN_TICK_MS, so a short interval (tests) has fewer. */
const MAX_GROUPS = 256;
const MIN_TICK_MS = 100;

export interface KeepAliveHandle {
  /** A frame arrived on the connection. */
  alive(): void;
  /** The connection closed; it is pinged no more. */
  remove(): void;
}

export interface KeepAlive {
  add(ws: WebSocket): KeepAliveHandle;
  close(): void;
}

/** One connection's place in its group; it is the handle too (no closures per connection). */
class Entry implements KeepAliveHandle {
  awaitingAnswer = false;
  constructor(readonly ws: WebSocket, private readonly group: Set<Entry>) {}
  alive(): void {
    this.awaitingAnswer = false;
  }
  remove(): void {
    this.group.delete(this);
  }
}

export function createKeepAlive(intervalMs: number): KeepAlive {
  const groupCount = Math.min(MAX_GROUPS, Math.max(1, Math.floor(intervalMs / MIN_TICK_MS)));
  const groups: Set<Entry>[] = Array.from({ length: groupCount }, () => new Set());
  let nextGroup = 0;
  let turn = 0;
  const tick = () => {
    const group = groups[turn]!;
    turn = (turn + 1) % groupCount;
    for (const entry of group) {
      // An open connection the node itself stopped reading (backpressure, budget.ts) may have its
      // pong waiting unread: it is not judged this turn. Its pause ends when its budget refills.
      if (entry.ws.isPaused && entry.ws.readyState === 1) {
        entry.awaitingAnswer = false;
        continue;
      }
      // Closing ones too: ws sets no close timer when the peer half-closes.
      if (entry.awaitingAnswer) {
        group.delete(entry);
        entry.ws.terminate();
        continue;
      }
      entry.awaitingAnswer = true;
      // Only an open connection is pinged.
      if (entry.ws.readyState !== 1) continue;
      try {
        entry.ws.ping();
      } catch {
        group.delete(entry);
        entry.ws.terminate();
      }
    }
  };
  // 0 (or an interval no timer can hold) turns keep-alive off, as in ocpp-rpc.
  const timer = intervalMs > 0 && intervalMs <= 2_147_483_647 ? setInterval(tick, Math.max(1, Math.floor(intervalMs / groupCount))).unref() : undefined;
  return {
    add(ws) {
      const group = groups[nextGroup]!;
      nextGroup = (nextGroup + 1) % groupCount;
      const entry = new Entry(ws, group);
      if (timer) group.add(entry);
      return entry;
    },
    close() {
      clearInterval(timer);
      for (const g of groups) g.clear();
    },
  };
}
