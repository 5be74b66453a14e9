/**
 * RFC 8785 (JCS) canonical JSON: what STIX 2.1 §2.9 hashes into a
 * deterministic id, what a contract envelope and a billing record are signed
 * or hashed over. One implementation, the `canonicalize` package; it refuses
 * non-finite numbers, which have no JSON form.
 */
import canonicalizeModule from 'canonicalize';

const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;

export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('canonical JSON of undefined');
  return text;
}
