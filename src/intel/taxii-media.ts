/**
 * TAXII 2.1 media types (§1.6.8), paging tokens and query filters (§3.4),
 * kept apart from the routes so each rule reads on its own.
 */
import { intelErrors } from './errors.js';
import { sortableTime } from './store.js';

export const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1';
export const STIX_MEDIA_TYPE = 'application/stix+json;version=2.1';

interface MediaRange { type: string; params: Map<string, string> }

function parseMediaRange(text: string): MediaRange {
  const [type = '', ...params] = text.split(';').map((s) => s.trim());
  const map = new Map<string, string>();
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq > 0) map.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim().replace(/^"|"$/g, ''));
  }
  return { type: type.toLowerCase(), params: map };
}

/** The Accept header names TAXII 2.1 (a bare `application/taxii+json` means the newest, which is 2.1). */
export function acceptsTaxii(accept: string | undefined): boolean {
  if (!accept || accept.length > 1024) return false;
  return accept.split(',').some((range) => {
    const { type, params } = parseMediaRange(range);
    const version = params.get('version');
    const q = params.get('q');
    if (q !== undefined && Number(q) === 0) return false;
    return type === 'application/taxii+json' && (version === undefined || version === '2.1');
  });
}

export function isTaxiiContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const { type, params } = parseMediaRange(contentType);
  const version = params.get('version');
  return type === 'application/taxii+json' && (version === undefined || version === '2.1');
}

/** An opaque cursor: the (date_added, id, version) of the last item already sent. */
export function encodeNext(last: [string, string, string]): string {
  return Buffer.from(JSON.stringify(last)).toString('base64url');
}

export function decodeNext(token: string): [string, string, string] {
  try {
    if (token.length > 1024) throw new Error('too long');
    const value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 3 && value.every((v) => typeof v === 'string' && v.length < 300)) return value as [string, string, string];
  } catch {
    // fall through to the coded error
  }
  throw intelErrors.TAXII_BAD_REQUEST('the next parameter is not a token this server issued');
}

export type Query = Record<string, string | string[] | undefined>;

export function list(query: Query, name: string): string[] | undefined {
  const raw = query[name];
  if (raw === undefined) return undefined;
  const values = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  if (values.length > 100) throw intelErrors.TAXII_BAD_REQUEST(`${name} has too many values (at most 100)`);
  return values;
}

function single(query: Query, name: string): string | undefined {
  const raw = query[name];
  if (Array.isArray(raw)) throw intelErrors.TAXII_BAD_REQUEST(`${name} may be given once`);
  return raw;
}

export interface Filters {
  addedAfter?: string;
  limit: number;
  after?: [string, string, string];
  ids?: string[];
  types?: string[];
  versions?: string[];
  specVersions?: string[];
}

const IDENTIFIER = /^[a-z][a-z0-9-]*--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isIdentifier(value: string): boolean {
  return value.length <= 300 && IDENTIFIER.test(value);
}

/** Parses and checks the TAXII filter parameters; anything malformed is a 400 with the parameter named. */
export function parseFilters(query: Query, maxPageSize: number, allowed: { id?: boolean; version?: boolean } = {}): Filters {
  const filters: Filters = { limit: maxPageSize };
  const addedAfter = single(query, 'added_after');
  if (addedAfter !== undefined) {
    const t = sortableTime(addedAfter);
    if (!t) throw intelErrors.TAXII_BAD_REQUEST('added_after must be a timestamp like 2024-05-01T12:00:00.000Z');
    filters.addedAfter = t;
  }
  const limit = single(query, 'limit');
  if (limit !== undefined) {
    if (!/^\d{1,9}$/.test(limit) || Number(limit) < 1) throw intelErrors.TAXII_BAD_REQUEST('limit must be a positive integer');
    filters.limit = Math.min(Number(limit), maxPageSize);
  }
  const next = single(query, 'next');
  if (next !== undefined) filters.after = decodeNext(next);
  const ids = list(query, 'match[id]');
  if (ids) {
    if (allowed.id === false) throw intelErrors.TAXII_BAD_REQUEST('match[id] is not allowed here');
    const bad = ids.find((id) => !isIdentifier(id));
    if (bad !== undefined) throw intelErrors.TAXII_BAD_REQUEST('match[id] must list STIX identifiers');
    filters.ids = ids;
  }
  const types = list(query, 'match[type]');
  if (types) {
    if (types.some((t) => !/^[a-z0-9][a-z0-9-]{0,249}$/.test(t))) throw intelErrors.TAXII_BAD_REQUEST('match[type] must list STIX object types');
    filters.types = types;
  }
  const versions = list(query, 'match[version]');
  if (versions) {
    if (allowed.version === false) throw intelErrors.TAXII_BAD_REQUEST('match[version] is not allowed here');
    filters.versions = versions.map((v) => {
      if (v === 'first' || v === 'last' || v === 'all') return v;
      const t = sortableTime(v);
      if (!t) throw intelErrors.TAXII_BAD_REQUEST('match[version] must be first, last, all or a timestamp');
      return t;
    });
  }
  const specVersions = list(query, 'match[spec_version]');
  if (specVersions) {
    if (specVersions.some((v) => v !== '2.0' && v !== '2.1')) throw intelErrors.TAXII_BAD_REQUEST('match[spec_version] must be 2.0 or 2.1');
    filters.specVersions = specVersions;
  }
  return filters;
}
