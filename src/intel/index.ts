/**
 * Threat sharing: alerts and incidents out as STIX 2.1 over TAXII 2.1, and
 * received indicators in, enforced at the TLS handshake, at connection and at
 * campaign start. This file is the module's one door.
 */
import type { FastifyInstance } from 'fastify';
import type { Bus } from '../bus/index.js';
import { Topics, type IndicatorSighted as IndicatorSightedEvent } from '../bus/events.js';
import type { Database } from '../store/index.js';
import { intelErrors } from './errors.js';
import { STATION_OBJECT_TYPE } from './pattern.js';
import { buildBundle, EXTENSION_AUTHOR, organizationIdentity, STATION_EXTENSION, type ShareableAlert, type ShareableIncident } from './mapping.js';
import { createIndicatorIndex, type EnforcedIndicator, type Match, type MatchInput } from './matcher.js';
import { parsePattern, type PatternTerm } from './pattern.js';
import { createPseudonymiser } from './pseudonym.js';
import { createStixValidator, type ValidationResult } from './schema.js';
import { normaliseTimestamps, referencesFirst, sdoId, stixTime, tlpMarking, TLP_LEVELS, type Bundle, type Sighting, type StixObject, type TlpLevel } from './stix.js';
import { createIntelStore, sortableTime } from './store.js';
import { registerTaxiiRoutes, type CollectionConfig, type TaxiiAuth } from './taxii-server.js';
import type { TaxiiClient } from './taxii-client.js';
import { createSightingRecorder, type ObservedTraffic } from './sightings.js';

export { intelErrors, type IntelErrorCode } from './errors.js';
export { intelMigrations, intelTablesExist } from './store.js';
export { createTaxiiClient, type TaxiiClient, type TaxiiClientOptions, type PullResult, type PushResult } from './taxii-client.js';
export { TAXII_MEDIA_TYPE, STIX_MEDIA_TYPE } from './taxii-media.js';
export { TLP2_MARKING_IDS, TLP2_EXTENSION_ID, TLP_LEVELS, uuidv5, scoId, sdoId } from './stix.js';
export type { Bundle, StixObject, Indicator, Sighting, TlpLevel } from './stix.js';
export type { ShareableAlert, ShareableIncident, AlertSeverity } from './mapping.js';
export type { EnforcedIndicator, Match, MatchInput } from './matcher.js';
export type { ValidationResult } from './schema.js';
export type { CollectionConfig, Grant, Principal, Role, TaxiiAuth } from './taxii-server.js';
export type { ObservedTraffic } from './sightings.js';
export { canonicalSerial, parsePattern, patternFor, type PatternTerm, type TermKind } from './pattern.js';
export { STATION_EXTENSION } from './mapping.js';

/** Bus topics this module publishes (payloads in src/bus/events.ts). */
export const IntelTopics = {
  /** A received indicator matched live traffic; the monitor raises an alert from it. */
  indicatorSighted: Topics.indicatorSighted,
  /** Indicators were imported (pulled or posted); the payload lists the counts. */
  indicatorsImported: Topics.indicatorsImported,
} as const;

export type { IndicatorSighted as IndicatorSightedEvent } from '../bus/events.js';

export interface IntelConfig {
  organizationName: string;
  /** HMAC key for pseudonyms; keep it secret and stable, or partners cannot correlate. */
  pseudonymKey: string;
  pseudonymise: boolean;
  defaultTlp: TlpLevel;
  /** Largest TAXII request body accepted, in bytes (TAXII `max_content_length`). */
  maxContentLength?: number;
  /** Largest page the TAXII server returns. */
  maxPageSize?: number;
  /** API root name under /taxii2/. */
  apiRoot?: string;
  collections?: CollectionConfig[];
}

export interface IntelDeps {
  db: Database;
  bus: Bus;
  log?: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

export interface ImportResult {
  accepted: number;
  rejected: { id: string; reason: string }[];
  enforced: number;
  notEnforced: { id: string; reason: string }[];
}

export interface Intel {
  readonly collections: readonly CollectionConfig[];
  /** One STIX 2.1 bundle for the alerts (created at or after `since`) and incidents; pure and deterministic. */
  exportBundle(input: { since?: string; alerts: ShareableAlert[]; incidents?: ShareableIncident[]; tlp?: TlpLevel }): Bundle;
  /** Exports and stores the result in the outbound collection, so TAXII readers see it. Returns the bundle. */
  share(input: { since?: string; alerts: ShareableAlert[]; incidents?: ShareableIncident[] }): Promise<Bundle>;
  validate(object: unknown): ValidationResult;
  /** Mounts /taxii2/… on the node's fastify instance; `auth` is the core's bearer-token check. */
  taxiiRoutes(app: FastifyInstance, auth: TaxiiAuth): Promise<void>;
  /** Validates, stores into the inbox collection and enforces the indicators among `objects`. */
  importObjects(objects: unknown[], opts?: { source?: string }): Promise<ImportResult>;
  indicators(): EnforcedIndicator[];
  /** Synchronous and I/O-free: call it at the TLS handshake, at connection and before a campaign. */
  match(input: MatchInput): Match | undefined;
  /**
   * Whether a received indicator names this firmware image (SHA-256, hex in any
   * case); a firmware campaign must not ship an image for which this is defined.
   * Synchronous and I/O-free, like `match`.
   */
  isFirmwareBlocked(sha256: string): Match | undefined;
  /**
   * Re-reads the enforced indicators from the store, so that indicators another
   * process imported into the same database (`evguard intel pull`) take effect.
   * Returns how many are enforced.
   */
  reload(): Promise<number>;
  /** Reloads only when the stored indicators changed since the last load (cheap enough to call every few seconds). */
  refresh(): Promise<void>;
  recordSighting(indicatorId: string, observed: ObservedTraffic): Promise<Sighting>;
  /** Pulls a remote collection from where the last pull stopped, then imports it. */
  pullFrom(client: TaxiiClient, collectionId: string, opts?: { addedAfter?: string; remote?: string }): Promise<ImportResult & { lastAdded?: string }>;
  /** Runs `task` now and then every `everyMs` until the returned stop function is called; runs never overlap. */
  schedule(task: () => Promise<unknown>, everyMs: number, onError?: (err: unknown) => void): () => void;
}

export function defaultCollections(organizationName: string): CollectionConfig[] {
  return [
    {
      id: sdoId('collection', { name: 'shared', organizationName }).slice('collection--'.length), alias: 'shared',
      title: `${organizationName}: alerts and sightings`, description: 'What this node shares: alerts, indicators and sightings as STIX 2.1.',
      read: ['admin', 'operator', 'auditor'], write: ['admin'],
    },
    {
      id: sdoId('collection', { name: 'inbox', organizationName }).slice('collection--'.length), alias: 'inbox',
      title: `${organizationName}: received intelligence`, description: 'Intelligence received from partners; indicators here are enforced.',
      read: ['admin', 'operator', 'auditor'], write: ['admin', 'operator'], enforce: true,
    },
  ];
}

export async function createIntel(deps: IntelDeps, config: IntelConfig): Promise<Intel> {
  if (!config.organizationName || typeof config.organizationName !== 'string') throw intelErrors.INTEL_INVALID_INPUT('intel.organizationName is required');
  if (!config.pseudonymKey || config.pseudonymKey.length < 16) throw intelErrors.INTEL_INVALID_INPUT('intel.pseudonymKey must be at least 16 characters');
  if (!TLP_LEVELS.includes(config.defaultTlp)) throw intelErrors.INTEL_INVALID_INPUT(`intel.defaultTlp must be one of ${TLP_LEVELS.join(', ')}`);
  const maxContentLength = config.maxContentLength ?? 10 * 1024 * 1024;
  const collections = Object.freeze([...(config.collections ?? defaultCollections(config.organizationName))]);
  const outbound = collections.find((c) => c.alias === 'shared') ?? collections[0];
  const inbox = collections.find((c) => c.enforce) ?? collections[collections.length - 1];
  if (!outbound || !inbox) throw intelErrors.INTEL_INVALID_INPUT('intel.collections must name at least one collection');

  const store = createIntelStore(deps.db);
  const validator = createStixValidator();
  const pseudonym = createPseudonymiser(config.pseudonymKey, config.pseudonymise);
  const index = createIndicatorIndex((stationId) => pseudonym('station', stationId));
  const identity = organizationIdentity(config.organizationName);

  let lastMicros = 0;
  const dateAdded = () => {
    // Strictly increasing per node, so TAXII's added_after never skips an object added in the same millisecond.
    lastMicros = Math.max(Date.now() * 1000, lastMicros + 1);
    const ms = Math.floor(lastMicros / 1000);
    return `${new Date(ms).toISOString().slice(0, -1)}${String(lastMicros % 1000).padStart(3, '0')}Z`;
  };

  let fingerprint = '';
  const load = async () => {
    fingerprint = await store.indicatorsFingerprint();
    const rows = await store.indicators();
    const present = new Set(rows.map((r) => r.indicator_id));
    for (const known of index.list()) if (!present.has(known.indicatorId)) index.remove(known.indicatorId);
    for (const row of rows) {
      index.put({
        indicatorId: row.indicator_id, version: row.version, name: row.name ?? undefined, terms: JSON.parse(row.terms) as PatternTerm[],
        validFrom: row.valid_from ?? undefined, validUntil: row.valid_until ?? undefined,
      });
    }
    return rows.length;
  };
  await load();

  const enforce = async (objects: StixObject[], source: string): Promise<Omit<ImportResult, 'accepted' | 'rejected'>> => {
    let enforced = 0;
    const notEnforced: ImportResult['notEnforced'] = [];
    for (const o of objects) {
      if (o.type !== 'indicator') continue;
      const version = sortableTime(String(o.modified ?? o.created))!;
      const known = index.get(o.id);
      if (known?.version && known.version > version) continue; // an older version arriving late changes nothing
      if (o.revoked === true) {
        index.remove(o.id);
        await store.deleteIndicator(o.id);
        notEnforced.push({ id: o.id, reason: 'revoked' });
        continue;
      }
      const parsed = o.pattern_type === 'stix' ? parsePattern(String(o.pattern)) : { enforceable: false as const, reason: `pattern_type ${String(o.pattern_type)} is not enforced` };
      if (!parsed.enforceable) {
        index.remove(o.id);
        await store.deleteIndicator(o.id);
        notEnforced.push({ id: o.id, reason: parsed.reason });
        continue;
      }
      const indicator: EnforcedIndicator = {
        indicatorId: o.id, version, name: typeof o.name === 'string' ? o.name.slice(0, 256) : undefined, terms: parsed.terms,
        validFrom: typeof o.valid_from === 'string' ? o.valid_from : undefined, validUntil: typeof o.valid_until === 'string' ? o.valid_until : undefined,
      };
      await store.putIndicator({
        indicator_id: o.id, version, name: indicator.name ?? null, pattern: String(o.pattern), terms: JSON.stringify(parsed.terms),
        valid_from: indicator.validFrom ?? null, valid_until: indicator.validUntil ?? null, source: source.slice(0, 200), imported_at: new Date().toISOString(),
      });
      index.put(indicator);
      enforced++;
    }
    if (enforced || notEnforced.length) deps.bus.publish(IntelTopics.indicatorsImported, { source, enforced, notEnforced: notEnforced.length });
    return { enforced, notEnforced };
  };

  const exportBundle: Intel['exportBundle'] = ({ since, alerts, incidents = [], tlp = config.defaultTlp }) => {
    if (!Array.isArray(alerts)) throw intelErrors.INTEL_INVALID_INPUT('alerts must be an array');
    if (!TLP_LEVELS.includes(tlp)) throw intelErrors.INTEL_INVALID_INPUT(`tlp must be one of ${TLP_LEVELS.join(', ')}`);
    let sinceMs: number | undefined;
    if (since !== undefined) {
      sinceMs = Date.parse(since);
      if (Number.isNaN(sinceMs)) throw intelErrors.INTEL_INVALID_INPUT('since must be an ISO-8601 time, e.g. 2024-05-01T00:00:00Z');
    }
    const picked = alerts.filter((a, i) => {
      checkAlert(a, i);
      return sinceMs === undefined || Date.parse(a.createdAt) >= sinceMs;
    });
    const bundle = buildBundle(picked, incidents.filter((x) => checkIncident(x)), { organizationName: config.organizationName, tlp, pseudonym });
    const check = validator.validate(bundle);
    if (!check.valid) throw intelErrors.INTEL_INVALID_STIX(`evguard produced invalid STIX: ${check.errors.slice(0, 3).join('; ')}`);
    return bundle;
  };

  const sightings = createSightingRecorder({
    identity, marking: () => tlpMarking(config.defaultTlp), pseudonym, validator, store, outboundId: outbound.id, dateAdded,
    publish: (event, stationId) => deps.bus.publish(IntelTopics.indicatorSighted, event satisfies IndicatorSightedEvent, stationId),
    nameOf: (id) => index.get(id)?.name,
  });

  const intel: Intel = {
    collections,
    exportBundle,
    async share(input) {
      const bundle = exportBundle(input);
      // The definition of evguard's custom observable travels in the collection with the first objects that use it.
      const usesStation = bundle.objects.some((o) => o.type === STATION_OBJECT_TYPE || (typeof o.pattern === 'string' && o.pattern.includes(`${STATION_OBJECT_TYPE}:`)));
      // Stored one at a time, each after what it refers to: a reader never sees a report before its indicators.
      const objects = referencesFirst([...(usesStation ? [EXTENSION_AUTHOR, STATION_EXTENSION] : []), ...bundle.objects]);
      for (const o of objects) await store.insertObject(outbound.id, o, dateAdded());
      return bundle;
    },
    validate: (object) => validator.validate(object),
    taxiiRoutes(app, auth) {
      return registerTaxiiRoutes(app, auth, {
        store, validator, collections, apiRoot: config.apiRoot ?? 'evguard', title: `${config.organizationName} TAXII`,
        maxContentLength, maxPageSize: config.maxPageSize ?? 1000, dateAdded,
        enforce: async (objects, source) => { await enforce(objects, source); },
      });
    },
    async importObjects(objects, opts = {}) {
      if (!Array.isArray(objects)) throw intelErrors.INTEL_INVALID_INPUT('objects must be an array');
      const source = opts.source ?? 'import';
      const rejected: ImportResult['rejected'] = [];
      const accepted: StixObject[] = [];
      for (const received of objects) {
        // Any precision STIX allows is accepted, and stored at millisecond precision or finer.
        const object = normaliseTimestamps(received);
        const check = validator.validate(object);
        const id = (object as { id?: unknown })?.id;
        if (!check.valid) {
          rejected.push({ id: typeof id === 'string' ? id.slice(0, 300) : 'unknown', reason: check.errors.slice(0, 3).join('; ').slice(0, 1000) });
          continue;
        }
        await store.insertObject(inbox.id, object as StixObject, dateAdded());
        accepted.push(object as StixObject);
      }
      const result = await enforce(accepted, source);
      return { accepted: accepted.length, rejected, ...result };
    },
    indicators: () => index.list(),
    match: (input) => index.match(input ?? {}),
    isFirmwareBlocked: (sha256) => (typeof sha256 === 'string' ? index.match({ firmwareSha256: sha256 }) : undefined),
    reload: load,
    async refresh() {
      if ((await store.indicatorsFingerprint()) !== fingerprint) await load();
    },
    recordSighting: (indicatorId, observed) => sightings.record(indicatorId, observed),
    async pullFrom(client, collectionId, opts = {}) {
      const remote = opts.remote ?? `${(await client.apiRoot()).url}#${collectionId}`;
      const addedAfter = opts.addedAfter ?? (await store.remotePosition(remote));
      const { objects, lastAdded } = await client.pull(collectionId, { addedAfter });
      const result = await intel.importObjects(objects, { source: remote });
      if (lastAdded && sortableTime(lastAdded)) await store.setRemotePosition(remote, lastAdded, new Date().toISOString());
      deps.log?.info({ remote, accepted: result.accepted, enforced: result.enforced, rejected: result.rejected.length }, 'pulled threat intelligence');
      return { ...result, lastAdded };
    },
    schedule(task, everyMs, onError = (err) => deps.log?.warn({ err }, 'scheduled intel exchange failed')) {
      if (!Number.isSafeInteger(everyMs) || everyMs < 1000) throw intelErrors.INTEL_INVALID_INPUT('the schedule interval must be at least one second');
      let timer: NodeJS.Timeout | undefined;
      let stopped = false;
      const run = async () => {
        try {
          await task();
        } catch (err) {
          onError(err);
        }
        if (!stopped) timer = setTimeout(run, everyMs);
      };
      void run();
      return () => {
        stopped = true;
        if (timer) clearTimeout(timer);
      };
    },
  };
  return intel;
}

function checkAlert(a: ShareableAlert, i: number): void {
  const bad = (what: string) => intelErrors.INTEL_INVALID_INPUT(`alerts[${i}]: ${what}`);
  if (!a || typeof a !== 'object') throw bad('not an object');
  if (typeof a.id !== 'string' || !a.id) throw bad('id must be a non-empty string');
  if (typeof a.detector !== 'string' || typeof a.title !== 'string') throw bad('detector and title must be strings');
  if (!['low', 'medium', 'high', 'critical'].includes(a.severity)) throw bad('severity must be low, medium, high or critical');
  if (typeof a.createdAt !== 'string' || Number.isNaN(Date.parse(a.createdAt))) throw bad('createdAt must be an ISO-8601 time');
  if (a.stationId !== undefined && typeof a.stationId !== 'string') throw bad('stationId must be a string');
  if (a.evidence !== undefined && (typeof a.evidence !== 'object' || a.evidence === null)) throw bad('evidence must be an object');
  stixTime(a.createdAt);
}

function checkIncident(x: ShareableIncident): boolean {
  if (!x || typeof x.id !== 'string' || typeof x.title !== 'string' || !Array.isArray(x.alertIds) || Number.isNaN(Date.parse(x.createdAt))) {
    throw intelErrors.INTEL_INVALID_INPUT('each incident needs id, title, createdAt and alertIds');
  }
  return true;
}
