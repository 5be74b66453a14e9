/**
 * The in-memory index of enforced indicators. `match` runs on the hot path
 * (every TLS handshake, every connection, every campaign start), so it is a
 * handful of map look-ups plus a scan of network ranges, with no I/O.
 */
import { BlockList } from 'node:net';
import { normaliseAddress, normaliseSerial, normaliseSha256, type PatternTerm, type TermKind } from './pattern.js';

export interface EnforcedIndicator {
  readonly indicatorId: string;
  /** The indicator's `modified`, in sortable form; an older version never replaces a newer one. */
  readonly version?: string;
  readonly name?: string;
  readonly terms: readonly PatternTerm[];
  /** ISO time after which the indicator no longer applies. */
  readonly validUntil?: string;
  readonly validFrom?: string;
}

export interface MatchInput {
  firmwareSha256?: string;
  certificateSerialHex?: string;
  certificateSha256Fingerprint?: string;
  remoteAddress?: string;
  /** The station id as the node knows it; matched raw and as its pseudonym. */
  stationId?: string;
}

export interface Match {
  readonly indicatorId: string;
  readonly name?: string;
  /** Which observable matched. */
  readonly kind: TermKind;
}

interface Network { block: BlockList; indicator: EnforcedIndicator }

export interface IndicatorIndex {
  put(indicator: EnforcedIndicator): void;
  remove(indicatorId: string): void;
  get(indicatorId: string): EnforcedIndicator | undefined;
  match(input: MatchInput, now?: number): Match | undefined;
  list(): EnforcedIndicator[];
}

/** `pseudonymOf` maps a station id to the pseudonym this node shares, so its own exports match too. */
export function createIndicatorIndex(pseudonymOf: (stationId: string) => string): IndicatorIndex {
  const indicators = new Map<string, EnforcedIndicator>();
  let exact = new Map<string, EnforcedIndicator[]>();
  let networks: Network[] = [];
  let dirty = false;

  const rebuild = () => {
    exact = new Map();
    networks = [];
    for (const indicator of indicators.values()) {
      for (const term of indicator.terms) {
        if (term.kind === 'network') {
          const [addr, prefix] = term.value.split('/') as [string, string];
          const block = new BlockList();
          block.addSubnet(addr, Number(prefix), addr.includes(':') ? 'ipv6' : 'ipv4');
          networks.push({ block, indicator });
        } else {
          const key = `${term.kind}|${term.value}`;
          const list = exact.get(key);
          if (list) list.push(indicator);
          else exact.set(key, [indicator]);
        }
      }
    }
    dirty = false;
  };

  const live = (indicator: EnforcedIndicator, now: number) =>
    (!indicator.validUntil || Date.parse(indicator.validUntil) > now) && (!indicator.validFrom || Date.parse(indicator.validFrom) <= now);

  const lookup = (kind: TermKind, value: string | undefined, now: number): Match | undefined => {
    if (value === undefined) return undefined;
    const found = exact.get(`${kind}|${value}`)?.find((i) => live(i, now));
    return found && { indicatorId: found.indicatorId, name: found.name, kind };
  };

  return {
    put(indicator) {
      indicators.set(indicator.indicatorId, indicator);
      dirty = true;
    },
    remove(indicatorId) {
      if (indicators.delete(indicatorId)) dirty = true;
    },
    get(indicatorId) {
      return indicators.get(indicatorId);
    },
    list() {
      return [...indicators.values()];
    },
    match(input, now = Date.now()) {
      // Asked on every connection and boot: with nothing to enforce, no pseudonym is computed and no address parsed.
      if (indicators.size === 0) return undefined;
      if (dirty) rebuild();
      const hit =
        lookup('firmware-sha256', normaliseSha256(input.firmwareSha256), now) ??
        lookup('certificate-serial', normaliseSerial(input.certificateSerialHex), now) ??
        lookup('certificate-sha256', normaliseSha256(input.certificateSha256Fingerprint), now) ??
        (typeof input.stationId === 'string' && input.stationId.length <= 256
          ? lookup('station', input.stationId, now) ?? lookup('station', pseudonymOf(input.stationId), now)
          : undefined);
      if (hit) return hit;
      const address = normaliseAddress(input.remoteAddress);
      if (address === undefined) return undefined;
      const exactHit = lookup('address', address, now);
      if (exactHit) return exactHit;
      const family = address.includes(':') ? 'ipv6' : 'ipv4';
      for (const { block, indicator } of networks) {
        if (live(indicator, now) && block.check(address, family)) return { indicatorId: indicator.indicatorId, name: indicator.name, kind: 'network' };
      }
      return undefined;
    },
  };
}
