/**
 * Revocation ends sessions: a live session was admitted under the station's
 * security state at its handshake (password hash, profile, registration,
 * quarantine). When that state is revoked — password rotated, profile raised,
 * quarantined, set Rejected, deleted — the node holding the session closes it
 * (1008, with a `SessionRevoked` security event) and the station must
 * reconnect under the new rules.
 *
 * Each node watches only its own sessions. It re-checks one at once when a
 * `station.changed` event arrives (from any node over the bus), and re-checks
 * all of them against the store every STALE_BOUND_MS, so a lost event delays
 * the close by at most that bound.
 */
import type { Bus } from '../bus/index.js';
import type { SecurityEvent } from '../bus/events.js';
import { onChange, STALE_BOUND_MS } from '../bus/changes.js';
import { securityStateOf, type Registry, type SecurityState, type StationSecret } from './registry.js';

/** What a session was admitted with. */
interface Admitted {
  passwordHash?: string;
  quarantined: boolean;
  registration: string;
}

export interface LiveSession {
  stationId: string;
  securityProfile: 1 | 2 | 3;
  remoteAddress: string;
  /** What `accepted` returned for this connection's own handshake. */
  admission?: unknown;
}

export interface SessionWatchDeps {
  registry: Registry;
  bus: Bus;
  /** This node's live session for a station, if any. */
  session(stationId: string): LiveSession | undefined;
  close(stationId: string, reason: string): Promise<void>;
  securityEvent(e: Omit<SecurityEvent, 'timestamp' | 'source' | 'critical'>): void;
  log?: { warn(o: unknown, m: string): void };
  intervalMs?: number;
}

/** Why the current state revokes the admitted one, or undefined when the session may continue. */
export function revocationReason(session: LiveSession, admitted: Admitted, now: SecurityState | undefined): string | undefined {
  if (!now) return 'station deleted';
  if (admitted.passwordHash !== undefined && now.passwordHash !== admitted.passwordHash) return 'password rotated';
  if (now.securityProfile > session.securityProfile) return `security profile raised to ${now.securityProfile}`;
  if (now.quarantined && !admitted.quarantined) return 'station quarantined';
  if (now.registration === 'Rejected' && admitted.registration !== 'Rejected') return 'registration set to Rejected';
  return undefined;
}

export function createSessionWatch(deps: SessionWatchDeps) {
  /**
   * Handed out by the handshake policy when it accepts, carried by that
   * connection's decision to its session, and read back when the session
   * starts. Keyed by the token, not the station id: another handshake for the
   * same station, accepted by the policy while this one was still being
   * established (and then refused as a duplicate), holds a newer state that
   * this connection never proved.
   */
  const tickets = new WeakMap<object, Admitted>();
  type Watched = { session: LiveSession; admitted: Admitted };
  const live = new Map<string, Watched>();

  async function end(stationId: string, reason: string) {
    const entry = live.get(stationId);
    if (!entry) return;
    // Unwatched at once: an event and a sweep arriving together close it (and record it) once.
    live.delete(stationId);
    deps.securityEvent({ stationId, remoteAddress: entry.session.remoteAddress, type: 'SessionRevoked', techInfo: `live session closed: ${reason}` });
    await deps.close(stationId, `Session revoked (${reason}); reconnect`);
  }

  /**
   * Judges the session that was watched when `now` was read. One that started
   * since was admitted under a state at least as new as that read: judged
   * against it, a reconnect with a rotated password was closed again.
   */
  function judge(stationId: string, entry: Watched, now: SecurityState | undefined) {
    if (live.get(stationId) !== entry || deps.session(stationId) !== entry.session) return;
    const reason = revocationReason(entry.session, entry.admitted, now);
    if (reason) void end(stationId, reason).catch((err) => deps.log?.warn({ err, stationId }, 'revoked session not closed'));
  }

  async function recheck(stationId: string) {
    const entry = live.get(stationId);
    if (!entry) return;
    const now = await deps.registry.fresh(stationId);
    judge(stationId, entry, now && securityStateOf(now));
  }

  async function sweep() {
    const entries = [...live];
    if (!entries.length) return;
    const rows = await deps.registry.securityStates(entries.map(([id]) => id));
    for (const [id, entry] of entries) judge(id, entry, rows.get(id));
  }

  const unfollow = onChange(deps.bus, 'station.changed', (c) => {
    if (typeof c.stationId === 'string' && live.has(c.stationId)) void recheck(c.stationId).catch((err) => deps.log?.warn({ err }, 'session re-check failed'));
  });
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweep()
      .catch((err) => deps.log?.warn({ err }, 'session sweep failed'))
      .finally(() => (running = false));
  }, deps.intervalMs ?? STALE_BOUND_MS);
  timer.unref();

  return {
    /** The handshake accepted the station under this state: the token to start its session with (LiveSession.admission). */
    accepted(s: StationSecret): object {
      const ticket = Object.freeze({});
      tickets.set(ticket, securityStateOf(s));
      return ticket;
    },
    /** A session started on this node: it is watched from now on. */
    started(session: LiveSession) {
      const ticket = session.admission;
      const admitted = typeof ticket === 'object' && ticket !== null ? tickets.get(ticket) : undefined;
      if (!admitted) return;
      tickets.delete(ticket as object);
      // A change made between the handshake and now is caught by the next sweep.
      live.set(session.stationId, { session, admitted });
    },
    ended(session: LiveSession) {
      if (live.get(session.stationId)?.session === session) live.delete(session.stationId);
    },
    close() {
      unfollow();
      clearInterval(timer);
      live.clear();
    },
  };
}

export type SessionWatch = ReturnType<typeof createSessionWatch>;
