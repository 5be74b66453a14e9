/**
 * STIX 2.1 types (only the objects evguard produces or enforces), the TLP 2.0
 * markings, and deterministic identifiers. No well-kept STIX library exists on
 * npm, so the shapes live here and the OASIS schemas (schema.ts) check them.
 */
import { canonicalJson } from '../canonical-json.js';
import { createHash } from 'node:crypto';

export type TlpLevel = 'clear' | 'green' | 'amber' | 'amber+strict' | 'red';

export interface StixCommon {
  type: string;
  spec_version: '2.1';
  id: string;
  created_by_ref?: string;
  created?: string;
  modified?: string;
  revoked?: boolean;
  labels?: string[];
  confidence?: number;
  external_references?: ExternalReference[];
  object_marking_refs?: string[];
  extensions?: Record<string, Record<string, unknown>>;
  [property: string]: unknown;
}

export interface ExternalReference {
  source_name: string;
  description?: string;
  url?: string;
  external_id?: string;
}

export interface Identity extends StixCommon { type: 'identity'; name: string; identity_class?: string; sectors?: string[] }
export interface Indicator extends StixCommon {
  type: 'indicator';
  name?: string;
  description?: string;
  indicator_types?: string[];
  pattern: string;
  pattern_type: string;
  valid_from: string;
  valid_until?: string;
}
export interface ObservedData extends StixCommon { type: 'observed-data'; first_observed: string; last_observed: string; number_observed: number; object_refs: string[] }
export interface Sighting extends StixCommon {
  type: 'sighting';
  sighting_of_ref: string;
  first_seen?: string;
  last_seen?: string;
  count?: number;
  observed_data_refs?: string[];
  where_sighted_refs?: string[];
}
export interface Relationship extends StixCommon { type: 'relationship'; relationship_type: string; source_ref: string; target_ref: string; description?: string }
export interface Bundle { type: 'bundle'; id: string; objects: StixCommon[] }
export interface ExtensionDefinition extends StixCommon {
  type: 'extension-definition';
  name: string;
  description?: string;
  schema: string;
  version: string;
  extension_types: ('new-sdo' | 'new-sco' | 'new-sro' | 'property-extension' | 'toplevel-property-extension')[];
}

/** A STIX object as received from someone else: only the common core is trusted to exist, after validation. */
export type StixObject = StixCommon;

// The OASIS TLP 2.0 extension (cti-stix-common-objects, extension-definition-specifications/tlp-2.0).
// Its marking-definition ids and `created` are fixed by that specification, so every
// producer emits byte-identical marking objects.
export const TLP2_EXTENSION_ID = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d';

export const TLP2_MARKING_IDS: Readonly<Record<TlpLevel, string>> = Object.freeze({
  clear: 'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
  green: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  amber: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  'amber+strict': 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
  red: 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
});

export const TLP_LEVELS: readonly TlpLevel[] = ['clear', 'green', 'amber', 'amber+strict', 'red'];

export function tlpMarking(level: TlpLevel): StixCommon {
  return {
    type: 'marking-definition',
    spec_version: '2.1',
    id: TLP2_MARKING_IDS[level],
    created: '2022-10-01T00:00:00.000Z',
    name: `TLP:${level.toUpperCase()}`,
    extensions: { [TLP2_EXTENSION_ID]: { extension_type: 'property-extension', tlp_2_0: level } },
  };
}

/** The TLP 2.0 level an object carries, if any (the most restrictive when several are present). */
export function tlpOf(object: StixCommon): TlpLevel | undefined {
  let found: TlpLevel | undefined;
  for (const ref of object.object_marking_refs ?? []) {
    const level = TLP_LEVELS.find((l) => TLP2_MARKING_IDS[l] === ref);
    if (level && (!found || TLP_LEVELS.indexOf(level) > TLP_LEVELS.indexOf(found))) found = level;
  }
  return found;
}


/** UUIDv5 (RFC 9562 §5.5): SHA-1 over namespace bytes and name, version and variant bits set. */
export function uuidv5(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new TypeError('namespace is not a UUID');
  const digest = createHash('sha1').update(ns).update(name, 'utf8').digest();
  digest[6] = (digest[6]! & 0x0f) | 0x50;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = digest.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The namespace STIX 2.1 §2.9 fixes for cyber-observable ids, so any producer derives the same id. */
export const STIX_SCO_NAMESPACE = '00abedb4-aa42-466c-9c01-fed23315a9b7';
/** evguard's own namespace for domain objects (indicators, sightings, …), so re-sharing yields the same ids. */
export const EVGUARD_NAMESPACE = 'a3c1e3f4-6a3e-5b8e-9d1c-2f7e0c4b9a61';

/** Id of a cyber-observable from its id-contributing properties (STIX 2.1 §2.9). */
export function scoId(type: string, contributing: Record<string, unknown>): string {
  return `${type}--${uuidv5(STIX_SCO_NAMESPACE, canonicalJson(contributing))}`;
}

/** Id of a domain or relationship object from the properties that identify it for evguard. */
export function sdoId(type: string, identifying: Record<string, unknown>): string {
  return `${type}--${uuidv5(EVGUARD_NAMESPACE, canonicalJson({ type, ...identifying }))}`;
}

/** STIX timestamps carry millisecond precision and `Z`; anything else is normalised or refused. */
export function stixTime(value: string | Date): string {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) throw new RangeError(`not a timestamp: ${String(value).slice(0, 40)}`);
  return d.toISOString();
}

/** A STIX timestamp whose fraction has fewer than three digits (or none). */
const COARSE_TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,2}))?Z$/;

/**
 * Partners' objects in every precision STIX allows (a timestamp's fraction
 * is optional, §2.15), stored normalised: any timestamp with less than
 * millisecond precision gets its fraction padded to three digits, so
 * `created` and `modified` meet §3.2's millisecond rule and every timestamp
 * compares and sorts as text. Finer precision is kept as sent. Walks nested
 * objects and arrays (extensions, kill chains, SCO properties); returns a new
 * value and leaves the input alone.
 */
export function normaliseTimestamps<T>(value: T, depth = 0): T {
  if (depth > 32) return value;
  if (typeof value === 'string') {
    const m = COARSE_TIMESTAMP.exec(value);
    return (m ? `${m[1]}.${(m[2] ?? '').padEnd(3, '0')}Z` : value) as T;
  }
  if (Array.isArray(value)) return value.map((v) => normaliseTimestamps(v, depth + 1)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normaliseTimestamps(v, depth + 1)])) as T;
  }
  return value;
}

/** The ids an object refers to: its `*_ref` and `*_refs` properties and the extension definitions it uses. */
export function referencedIds(object: StixCommon): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(object)) {
    if (key.endsWith('_ref') && typeof value === 'string') out.push(value);
    else if (key.endsWith('_refs') && Array.isArray(value)) out.push(...value.filter((v): v is string => typeof v === 'string'));
  }
  const extensions = (object as { extensions?: unknown }).extensions;
  if (extensions && typeof extensions === 'object') out.push(...Object.keys(extensions).filter((k) => k.startsWith('extension-definition--')));
  return out;
}

/**
 * The objects reordered so that each comes after every object of the list it
 * refers to (otherwise in the given order). Stored in this order, one at a
 * time, a collection never shows a reader a report whose indicator is not
 * there yet. A reference cycle, which STIX does not forbid, keeps its order.
 */
export function referencesFirst<T extends StixCommon>(objects: readonly T[]): T[] {
  const byId = new Map(objects.map((o) => [o.id, o] as const));
  const placed = new Set<string>();
  const visiting = new Set<string>();
  const out: T[] = [];
  const place = (o: T) => {
    if (placed.has(o.id) || visiting.has(o.id)) return;
    visiting.add(o.id);
    for (const ref of referencedIds(o)) {
      const target = byId.get(ref);
      if (target) place(target);
    }
    visiting.delete(o.id);
    placed.add(o.id);
    out.push(o);
  };
  for (const o of objects) place(o);
  return out;
}
