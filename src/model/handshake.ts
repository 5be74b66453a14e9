/**
 * The contract between the gateway (transport) and the admission policy
 * (src/stations): what the transport knows about a connection attempt, and
 * what the policy decides.
 */
import type { OcppVersion } from './ocpp-version.js';

/** What the transport knows about a connection attempt; the policy decides. */
export interface HandshakeFacts {
  stationId: string;
  remoteAddress: string;
  /** The connection arrived over TLS (security profile 2 or 3 possible). */
  secure: boolean;
  /** Basic-auth password, present only when the username equals the station id. */
  password?: Buffer;
  /** Basic-auth username as sent, when it differs from the station id. */
  mismatchedUser?: string;
  /** DER chain of the client certificate, leaf first, when one was presented. */
  peerCertificateChain?: Buffer[];
  version: OcppVersion;
}

export type HandshakeDecision =
  | { accept: true; securityProfile: 1 | 2 | 3; /** What the policy admitted this connection under, opaque to the transport: handed back with its session (StationContext.admission). */ admission?: unknown }
  | { accept: false; status: 400 | 401 | 403 | 404 | 409 | 429 | 503; message: string; /** Why, for metrics: the security event type, or LockedOut. */ reason?: string };
