/**
 * STIX patterning (STIX 2.1 §9) for the observables a charging network can
 * enforce: firmware hashes, certificate serials and fingerprints, network
 * addresses and station ids. Building is total; parsing is deliberately
 * narrow: only a disjunction of simple comparisons is enforceable, because an
 * AND, FOLLOWEDBY or a qualifier cannot be decided from one handshake.
 */
import { isIP } from 'node:net';

export type TermKind = 'firmware-sha256' | 'certificate-serial' | 'certificate-sha256' | 'address' | 'network' | 'station';

export interface PatternTerm {
  readonly kind: TermKind;
  /** Normalised value: lower-case hex, canonical address, `addr/prefix` for a network. */
  readonly value: string;
}

/** The custom observable type evguard uses for charging-station identities in patterns. */
export const STATION_OBJECT_TYPE = 'x-evguard-charging-station';

export const MAX_PATTERN_LENGTH = 16_384;
const MAX_TERMS = 1_000;

export function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The STIX pattern that matches one term. */
export function patternFor(term: PatternTerm): string {
  switch (term.kind) {
    case 'firmware-sha256':
      return `[file:hashes.'SHA-256' = ${quote(term.value)}]`;
    case 'certificate-serial':
      return `[x509-certificate:serial_number = ${quote(canonicalSerial(term.value)!)}]`;
    case 'certificate-sha256':
      return `[x509-certificate:hashes.'SHA-256' = ${quote(term.value)}]`;
    case 'address':
      return `[${isIP(term.value) === 6 ? 'ipv6-addr' : 'ipv4-addr'}:value = ${quote(term.value)}]`;
    case 'network':
      return `[${term.value.includes(':') ? 'ipv6-addr' : 'ipv4-addr'}:value ISSUBSET ${quote(term.value)}]`;
    case 'station':
      return `[${STATION_OBJECT_TYPE}:station_id = ${quote(term.value)}]`;
  }
}

// ---------------------------------------------------------------- normalising

export function normaliseSha256(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const hex = value.replace(/[\s:]/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

/** Serials compare as unsigned integers: colons, case and DER's leading zero byte don't matter. */
export function normaliseSerial(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const hex = value.replace(/[\s:]/g, '').replace(/^0x/i, '').toLowerCase();
  if (!/^[0-9a-f]{1,128}$/.test(hex)) return undefined;
  return hex.replace(/^0+(?=.)/, '');
}

/**
 * The one spelling of a certificate serial in everything evguard writes,
 * observables and patterns alike: lower-case hex byte pairs joined by
 * colons, as the STIX 2.1 specification's own x509-certificate examples
 * write it (`36:f7:d4:…`), without leading zero bytes. Any spelling a partner
 * uses (colons or not, either case, `0x`, DER's sign byte) compares equal
 * through normaliseSerial.
 */
export function canonicalSerial(value: unknown): string | undefined {
  const hex = normaliseSerial(value);
  return hex === undefined ? undefined : colonHex(hex);
}

function colonHex(hex: string): string {
  const even = hex.length % 2 ? `0${hex}` : hex;
  return even.match(/../g)!.join(':');
}

/** Canonical text of an IP address; IPv4-mapped IPv6 becomes plain IPv4 so both spellings match. */
export function normaliseAddress(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 64) return undefined;
  let v = value.trim();
  if (v.startsWith('[') && v.endsWith(']')) v = v.slice(1, -1);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(v);
  if (mapped) v = mapped[1]!;
  const family = isIP(v);
  if (family === 4) return v;
  if (family === 6) return new URL(`http://[${v}]/`).hostname.slice(1, -1);
  return undefined;
}

export function normaliseNetwork(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const [addr, prefixText, extra] = value.split('/');
  if (extra !== undefined) return undefined;
  const address = normaliseAddress(addr);
  if (!address) return undefined;
  if (prefixText === undefined) return undefined;
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > (address.includes(':') ? 128 : 32)) return undefined;
  return `${address}/${prefix}`;
}

/** Addresses nobody else can act on, and that would only reveal our network layout. */
export function isShareableAddress(address: string): boolean {
  if (address.includes(':')) {
    return !/^(::1?|fe[89ab][0-9a-f]?:|f[cd][0-9a-f]{0,2}:)/i.test(address);
  }
  const [a, b] = address.split('.').map(Number) as [number, number];
  return !(a === 10 || a === 127 || a === 0 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || a >= 224);
}

// ------------------------------------------------------------------- parsing

type Token = { t: 'punct' | 'str' | 'word' | 'path' | 'num'; v: string };

// Sticky, so scanning stays linear in the pattern's length.
const WORD = /[A-Za-z0-9_+\-.]+/y;
const PATH_SEGMENT = /(?:[A-Za-z0-9_\-.]+|'(?:[^'\\]|\\.)*'|\[(?:\d+|\*)\])/y;

function tokenize(pattern: string): Token[] | undefined {
  const tokens: Token[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if ('[]()'.includes(c) || c === ',') { tokens.push({ t: 'punct', v: c }); i++; continue; }
    if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= pattern.length) return undefined;
        const d = pattern[i]!;
        if (d === '\\') { s += pattern[i + 1] ?? ''; i += 2; continue; }
        if (d === "'") { i++; break; }
        s += d; i++;
      }
      tokens.push({ t: 'str', v: s });
      continue;
    }
    if ('=!<>'.includes(c)) {
      const two = pattern.slice(i, i + 2);
      const op = ['!=', '<=', '>=', '=='].includes(two) ? two : c;
      tokens.push({ t: 'punct', v: op });
      i += op.length;
      continue;
    }
    WORD.lastIndex = i;
    const word = WORD.exec(pattern)?.[0];
    if (!word) return undefined;
    if (pattern[i + word.length] === ':' && /^[a-z0-9-]+$/.test(word)) {
      // An object path: type:property(.property|.'quoted'|[index])*
      let j = i + word.length + 1;
      for (;;) {
        PATH_SEGMENT.lastIndex = j;
        const segment = PATH_SEGMENT.exec(pattern);
        if (!segment) break;
        j += segment[0].length;
      }
      tokens.push({ t: 'path', v: pattern.slice(i, j) });
      i = j;
      continue;
    }
    tokens.push({ t: /^\d/.test(word) ? 'num' : 'word', v: word.toUpperCase() });
    i += word.length;
  }
  return tokens;
}

function termKind(path: string): ((v: string) => PatternTerm | undefined) | undefined {
  const p = path.replace(/'/g, '').toLowerCase();
  if (/^file:hashes\.(sha-?256)$/.test(p)) return (v) => mk('firmware-sha256', normaliseSha256(v));
  if (p === 'x509-certificate:serial_number') return (v) => mk('certificate-serial', normaliseSerial(v));
  if (/^x509-certificate:hashes\.(sha-?256)$/.test(p)) return (v) => mk('certificate-sha256', normaliseSha256(v));
  if (/^(ipv4-addr|ipv6-addr):value$/.test(p) || /^network-traffic:(src|dst)_ref\.value$/.test(p)) {
    return (v) => (v.includes('/') ? mk('network', normaliseNetwork(v)) : mk('address', normaliseAddress(v)));
  }
  if (p === `${STATION_OBJECT_TYPE}:station_id`) return (v) => mk('station', v.length > 0 && v.length <= 256 ? v : undefined);
  return undefined;
}

function mk(kind: TermKind, value: string | undefined): PatternTerm | undefined {
  return value === undefined ? undefined : { kind, value };
}

export type ParsedPattern = { enforceable: true; terms: PatternTerm[] } | { enforceable: false; reason: string };

/**
 * Extracts enforceable terms from `[a = 'x' OR b = 'y'] OR [c IN ('z')]`.
 * Anything else (AND, FOLLOWEDBY, NOT, qualifiers, LIKE/MATCHES) is not enforced.
 */
export function parsePattern(pattern: string): ParsedPattern {
  if (pattern.length > MAX_PATTERN_LENGTH) return { enforceable: false, reason: 'pattern too long' };
  const tokens = tokenize(pattern);
  if (!tokens) return { enforceable: false, reason: 'pattern does not tokenize' };
  const terms: PatternTerm[] = [];
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++];
  const expect = (v: string) => next()?.v === v;
  const addValue = (make: ((v: string) => PatternTerm | undefined) | undefined, value: string) => {
    const term = make?.(value);
    if (term && terms.length < MAX_TERMS) terms.push(term);
  };
  while (i < tokens.length) {
    if (!expect('[')) return { enforceable: false, reason: 'expected an observation expression' };
    for (;;) {
      const path = next();
      if (path?.t !== 'path') return { enforceable: false, reason: 'expected an object path' };
      const make = termKind(path.v);
      const op = next();
      if (op?.v === '=' || op?.v === 'ISSUBSET') {
        const value = next();
        if (value?.t !== 'str') return { enforceable: false, reason: 'expected a string literal' };
        if (op.v === 'ISSUBSET' && !value.v.includes('/')) return { enforceable: false, reason: 'ISSUBSET needs a network' };
        addValue(make, value.v);
      } else if (op?.v === 'IN') {
        if (!expect('(')) return { enforceable: false, reason: 'expected ( after IN' };
        for (;;) {
          const value = next();
          if (value?.t !== 'str') return { enforceable: false, reason: 'expected a string literal' };
          addValue(make, value.v);
          const sep = next();
          if (sep?.v === ')') break;
          if (sep?.v !== ',') return { enforceable: false, reason: 'expected , or )' };
        }
      } else {
        return { enforceable: false, reason: `operator ${op?.v ?? 'missing'} is not enforced` };
      }
      const joiner = next();
      if (joiner?.v === ']') break;
      if (joiner?.v !== 'OR') return { enforceable: false, reason: `${joiner?.v ?? 'end'} inside an observation is not enforced` };
    }
    if (i < tokens.length) {
      if (peek()?.v !== 'OR') return { enforceable: false, reason: `${peek()?.v} between observations is not enforced` };
      i++;
    }
  }
  if (terms.length === 0) return { enforceable: false, reason: 'no enforceable observable in the pattern' };
  return { enforceable: true, terms };
}
