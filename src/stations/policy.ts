/**
 * Who may connect, and as what: the OCPP security profiles (OCPP 2.0.1 Part 2
 * §A00–A05, OCPP 1.6 security whitepaper §2). Pure decision over the facts the
 * gateway collected; the only side effect is the security event it reports.
 */
import type { HandshakeDecision, HandshakeFacts } from '../model/handshake.js';
import type { SecurityEvent } from '../bus/events.js';
import { createVerifiedCache } from './credentials.js';
import type { Registry, StationSecret } from './registry.js';

export type ClientCertificateCheck = (chainDer: Buffer[], stationId: string) => { ok: true; serialHex: string } | { ok: false; reason: string };

export interface PolicyDeps {
  registry: Registry;
  securityEvent(e: Omit<SecurityEvent, 'timestamp' | 'source' | 'critical'>): void;
  checkClientCertificate?: ClientCertificateCheck;
  /** Refusing lock-out in force for this station from this address: the pair's, the address's or the station's. */
  lockedOut?(target: { stationId?: string; remoteAddress?: string }): { until: string; reason: string; scope: 'pair' | 'address' | 'station' } | undefined;
  /** A distributed guesser's slow-down in force for this station. */
  slowedDown?(stationId: string): { until: string } | undefined;
  /** A shared threat indicator names this address. */
  blockedAddress?(remoteAddress: string): string | undefined;
  allowUnknown: boolean;
  /**
   * The handshake was accepted under this state of the station (the session
   * watch compares later states with it). What it returns travels with this
   * connection's decision to its session, so another handshake for the same
   * station cannot stand in for it.
   */
  accepted?(stationId: string, secret: StationSecret): unknown;
}

/**
 * How much later a distributed guesser's slow-down answers an attempt for the
 * station from an address it has not authenticated from. The attempt is
 * answered on its merits after the wait (a right password gets in), so this
 * is all such a guesser costs the real station: from a new address, at most
 * this much longer per connection while the slow-down lasts; from a known
 * address, nothing.
 */
export const SLOWDOWN_MS = 2_000;

export function createHandshakePolicy(deps: PolicyDeps) {
  const refuse = (status: 401 | 403 | 429, message: string, reason: string): HandshakeDecision => ({ accept: false, status, message, reason });
  const verified = createVerifiedCache();
  const admit = (stationId: string, remoteAddress: string, secret: StationSecret): unknown => {
    void deps.registry.rememberAddress(stationId, remoteAddress).catch(() => undefined);
    return deps.accepted?.(stationId, secret);
  };

  return async function authenticate(f: HandshakeFacts): Promise<HandshakeDecision> {
    const base = { stationId: f.stationId, remoteAddress: f.remoteAddress };
    const indicator = deps.blockedAddress?.(f.remoteAddress);
    if (indicator) {
      deps.securityEvent({ ...base, type: 'BlockedByIndicator', techInfo: `address matches shared indicator ${indicator}` });
      return refuse(403, 'Connection refused', 'BlockedByIndicator');
    }
    // Lock-outs hit the attacker's address, not the station: an address lock-out spares stations that authenticated from it before.
    let knownHere: Promise<boolean> | undefined;
    const known = () => (knownHere ??= deps.registry.knownAt(f.stationId, f.remoteAddress));
    const lock = deps.lockedOut?.({ stationId: f.stationId, remoteAddress: f.remoteAddress });
    if (lock && !(lock.scope === 'address' && (await known()))) return refuse(429, `Locked out until ${lock.until}`, 'LockedOut');
    if (deps.slowedDown?.(f.stationId) && !(await known())) await new Promise((r) => setTimeout(r, SLOWDOWN_MS));

    const secret = await deps.registry.secret(f.stationId);
    if (!secret) {
      if (deps.allowUnknown) {
        // Documented policy: an unknown station may connect as Pending; it can
        // only send BootNotification until an operator accepts it and gives it credentials.
        await deps.registry.create({ id: f.stationId, securityProfile: f.secure ? 2 : 1, registration: 'Pending' }).catch(() => undefined);
        deps.securityEvent({ ...base, type: 'UnknownStation', techInfo: 'registered as Pending (allow-unknown policy)' });
        const created = await deps.registry.fresh(f.stationId);
        return { accept: true, securityProfile: f.secure ? 2 : 1, admission: created && admit(f.stationId, f.remoteAddress, created) };
      }
      deps.securityEvent({ ...base, type: 'UnknownStation', techInfo: 'connection refused' });
      // Same answer as a wrong password, so ids cannot be enumerated.
      return refuse(401, 'Authentication failed', 'UnknownStation');
    }
    const profile = secret.record.securityProfile;

    if (profile >= 2 && !f.secure) {
      deps.securityEvent({ ...base, type: 'SecurityProfileDowngrade', techInfo: `registered for profile ${profile}, arrived over plain ws://` });
      return refuse(403, `This station must connect with wss:// (security profile ${profile})`, 'SecurityProfileDowngrade');
    }
    if (profile === 3) {
      if (!f.peerCertificateChain?.length) {
        deps.securityEvent({ ...base, type: 'SecurityProfileDowngrade', techInfo: 'registered for profile 3, presented no client certificate' });
        return refuse(403, 'This station must present its client certificate (security profile 3)', 'SecurityProfileDowngrade');
      }
      const check = deps.checkClientCertificate?.(f.peerCertificateChain, f.stationId) ?? { ok: false as const, reason: 'no-trust-anchor' };
      if (!check.ok) {
        deps.securityEvent({ ...base, type: 'ClientCertificateRejected', techInfo: check.reason });
        return refuse(403, 'Client certificate rejected', 'ClientCertificateRejected');
      }
      return { accept: true, securityProfile: 3, admission: admit(f.stationId, f.remoteAddress, secret) };
    }

    if (!f.password) {
      deps.securityEvent({
        ...base,
        type: 'InvalidStationCredentials',
        techInfo: f.mismatchedUser ? `Basic-auth username "${f.mismatchedUser}" is not the station id` : 'no Basic-auth credentials',
      });
      return refuse(401, 'Authentication failed', 'InvalidStationCredentials');
    }
    if (!secret.passwordHash || !(await verified.verify(f.stationId, f.password, secret.passwordHash))) {
      deps.securityEvent({ ...base, type: 'InvalidStationCredentials', techInfo: 'wrong password' });
      return refuse(401, 'Authentication failed', 'InvalidStationCredentials');
    }
    return { accept: true, securityProfile: profile, admission: admit(f.stationId, f.remoteAddress, secret) };
  };
}
