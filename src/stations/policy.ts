/**
 * Who may connect, and as what: the OCPP security profiles (OCPP 2.0.1 Part 2
 * §A00–A05, OCPP 1.6 security whitepaper §2). Pure decision over the facts the
 * gateway collected; the only side effect is the security event it reports.
 */
import type { HandshakeDecision, HandshakeFacts } from '../ocpp/index.js';
import type { SecurityEvent } from '../bus/events.js';
import { createVerifiedCache } from './credentials.js';
import type { Registry } from './registry.js';

export type ClientCertificateCheck = (chainDer: Buffer[], stationId: string) => { ok: true; serialHex: string } | { ok: false; reason: string };

export interface PolicyDeps {
  registry: Registry;
  securityEvent(e: Omit<SecurityEvent, 'timestamp' | 'source' | 'critical'>): void;
  checkClientCertificate?: ClientCertificateCheck;
  /** Active lock-out (brute force, operator action) for this station or address. */
  lockedOut?(target: { stationId?: string; remoteAddress?: string }): { until: string; reason: string } | undefined;
  /** A shared threat indicator names this address. */
  blockedAddress?(remoteAddress: string): string | undefined;
  allowUnknown: boolean;
}

export function createHandshakePolicy(deps: PolicyDeps) {
  const refuse = (status: 401 | 403 | 429, message: string): HandshakeDecision => ({ accept: false, status, message });
  const verified = createVerifiedCache();

  return async function authenticate(f: HandshakeFacts): Promise<HandshakeDecision> {
    const base = { stationId: f.stationId, remoteAddress: f.remoteAddress };
    const indicator = deps.blockedAddress?.(f.remoteAddress);
    if (indicator) {
      deps.securityEvent({ ...base, type: 'BlockedByIndicator', techInfo: `address matches shared indicator ${indicator}` });
      return refuse(403, 'Connection refused');
    }
    const lock = deps.lockedOut?.({ stationId: f.stationId, remoteAddress: f.remoteAddress });
    if (lock) return refuse(429, `Locked out until ${lock.until}`);

    const secret = await deps.registry.secret(f.stationId);
    if (!secret) {
      if (deps.allowUnknown) {
        // Documented policy: an unknown station may connect as Pending; it can
        // only send BootNotification until an operator accepts it and gives it credentials.
        await deps.registry.create({ id: f.stationId, securityProfile: f.secure ? 2 : 1, registration: 'Pending' }).catch(() => undefined);
        deps.securityEvent({ ...base, type: 'UnknownStation', techInfo: 'registered as Pending (allow-unknown policy)' });
        return { accept: true, securityProfile: f.secure ? 2 : 1 };
      }
      deps.securityEvent({ ...base, type: 'UnknownStation', techInfo: 'connection refused' });
      // Same answer as a wrong password, so ids cannot be enumerated.
      return refuse(401, 'Authentication failed');
    }
    const profile = secret.record.securityProfile;

    if (profile >= 2 && !f.secure) {
      deps.securityEvent({ ...base, type: 'SecurityProfileDowngrade', techInfo: `registered for profile ${profile}, arrived over plain ws://` });
      return refuse(403, `This station must connect with wss:// (security profile ${profile})`);
    }
    if (profile === 3) {
      if (!f.peerCertificateChain?.length) {
        deps.securityEvent({ ...base, type: 'SecurityProfileDowngrade', techInfo: 'registered for profile 3, presented no client certificate' });
        return refuse(403, 'This station must present its client certificate (security profile 3)');
      }
      const check = deps.checkClientCertificate?.(f.peerCertificateChain, f.stationId) ?? { ok: false as const, reason: 'no-trust-anchor' };
      if (!check.ok) {
        deps.securityEvent({ ...base, type: 'ClientCertificateRejected', techInfo: check.reason });
        return refuse(403, 'Client certificate rejected');
      }
      return { accept: true, securityProfile: 3 };
    }

    if (!f.password) {
      deps.securityEvent({
        ...base,
        type: 'InvalidStationCredentials',
        techInfo: f.mismatchedUser ? `Basic-auth username "${f.mismatchedUser}" is not the station id` : 'no Basic-auth credentials',
      });
      return refuse(401, 'Authentication failed');
    }
    if (!secret.passwordHash || !(await verified.verify(f.stationId, f.password, secret.passwordHash))) {
      deps.securityEvent({ ...base, type: 'InvalidStationCredentials', techInfo: 'wrong password' });
      return refuse(401, 'Authentication failed');
    }
    return { accept: true, securityProfile: profile };
  };
}
