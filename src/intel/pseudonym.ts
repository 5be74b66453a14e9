/**
 * Pseudonyms for station and customer identifiers leaving the node. A keyed
 * HMAC (not a plain hash) because station ids and RFID uids are guessable:
 * without the key nobody can confirm a guess, while the same id always maps
 * to the same pseudonym, so a partner can still correlate our reports.
 */
import { createHmac } from 'node:crypto';

export type PseudonymKind = 'station' | 'customer';

export interface Pseudonymiser {
  /** The pseudonym (or the identifier itself when pseudonymisation is off). */
  (kind: PseudonymKind, identifier: string): string;
}

export function createPseudonymiser(key: string, enabled: boolean): Pseudonymiser {
  return (kind, identifier) => {
    if (!enabled) return identifier;
    const mac = createHmac('sha256', key).update(`${kind}\0${identifier}`).digest('hex').slice(0, 24);
    return `${kind === 'station' ? 'station' : 'customer'}-${mac}`;
  };
}
