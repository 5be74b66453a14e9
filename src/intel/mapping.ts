/**
 * Alerts and incidents as STIX 2.1. Every id is derived from what identifies
 * the thing (STIX 2.1 §2.9 for observables, the same idea for the rest) and
 * every timestamp from the alert, so exporting the same alerts twice gives
 * byte-identical objects and a receiver de-duplicates re-shared intel.
 */
import { canonicalJson } from '../canonical-json.js';
import {
  scoId, sdoId, stixTime, tlpMarking, uuidv5, EVGUARD_NAMESPACE,
  type Bundle, type ExtensionDefinition, type Identity, type Indicator, type ObservedData, type Relationship, type Sighting, type StixCommon, type TlpLevel,
} from './stix.js';
import {
  canonicalSerial, isShareableAddress, normaliseAddress, normaliseSerial, normaliseSha256, patternFor, STATION_OBJECT_TYPE, type PatternTerm,
} from './pattern.js';
import type { Pseudonymiser } from './pseudonym.js';

export type AlertSeverity = 'low' | 'medium' | 'high' | 'critical';

/** An alert as the monitor raises it; only these fields are read. */
export interface ShareableAlert {
  id: string;
  detector: string;
  severity: AlertSeverity;
  title: string;
  description?: string;
  stationId?: string;
  createdAt: string;
  evidence: {
    firmwareSha256?: string;
    certificateSerialHex?: string;
    certificateSha256Fingerprint?: string;
    remoteAddress?: string;
    idToken?: string;
    /** Name of the malware, where a detector or analyst knows it. */
    malware?: string;
    /** CVE id of the vulnerability exploited, where known. */
    cve?: string;
    [k: string]: unknown;
  };
}

export interface ObservableEvidence {
  firmwareSha256?: unknown;
  certificateSerialHex?: unknown;
  certificateSha256Fingerprint?: unknown;
  remoteAddress?: unknown;
  idToken?: unknown;
}

/** A group of alerts an operator treats as one incident. */
export interface ShareableIncident {
  id: string;
  title: string;
  description?: string;
  createdAt: string;
  alertIds: string[];
}

export interface MappingContext {
  readonly organizationName: string;
  readonly tlp: TlpLevel;
  readonly pseudonym: Pseudonymiser;
}

// The identity must be the same object in every bundle we ever send, so its
// timestamps are fixed rather than taken from the clock.
const IDENTITY_CREATED = '2024-01-01T00:00:00.000Z';
const SEVERE: ReadonlySet<AlertSeverity> = new Set(['high', 'critical']);

// Unmarked: who we are is public, and the object must not change with the TLP level.
export function organizationIdentity(name: string): Identity {
  return {
    type: 'identity',
    spec_version: '2.1',
    id: sdoId('identity', { name, identity_class: 'organization' }),
    created: IDENTITY_CREATED,
    modified: IDENTITY_CREATED,
    name,
    identity_class: 'organization',
    sectors: ['energy', 'transportation'],
  };
}

const TERM_NAMES: Record<PatternTerm['kind'], string> = {
  'firmware-sha256': 'Malicious firmware image',
  'certificate-serial': 'Untrusted certificate (serial number)',
  'certificate-sha256': 'Untrusted certificate (fingerprint)',
  address: 'Hostile network address',
  network: 'Hostile network range',
  station: 'Compromised charging station',
};

/** The observables of one alert that are worth sharing, normalised. */
export function alertTerms(alert: ShareableAlert, ctx: MappingContext): PatternTerm[] {
  const terms: PatternTerm[] = [];
  const e = alert.evidence ?? {};
  const fw = normaliseSha256(e.firmwareSha256);
  if (fw) terms.push({ kind: 'firmware-sha256', value: fw });
  const serial = normaliseSerial(e.certificateSerialHex);
  if (serial) terms.push({ kind: 'certificate-serial', value: serial });
  const fp = normaliseSha256(e.certificateSha256Fingerprint);
  if (fp) terms.push({ kind: 'certificate-sha256', value: fp });
  const address = normaliseAddress(e.remoteAddress);
  if (address && isShareableAddress(address)) terms.push({ kind: 'address', value: address });
  // A station is only named as compromised on a severe alert; a low one (a
  // wrong password) says nothing about the station itself.
  if (alert.stationId && SEVERE.has(alert.severity)) terms.push({ kind: 'station', value: ctx.pseudonym('station', alert.stationId) });
  return terms;
}

class ObjectSet {
  private readonly objects = new Map<string, StixCommon>();
  add<T extends StixCommon>(object: T): T {
    const known = this.objects.get(object.id) as T | undefined;
    if (known) return known;
    this.objects.set(object.id, object);
    return object;
  }
  values(): StixCommon[] {
    return [...this.objects.values()];
  }
}

/** Builds the bundle for a set of alerts (and the incidents grouping some of them). */
export function buildBundle(alerts: ShareableAlert[], incidents: ShareableIncident[], ctx: MappingContext): Bundle {
  const marking = tlpMarking(ctx.tlp);
  const identity = organizationIdentity(ctx.organizationName);
  const set = new ObjectSet();
  set.add(marking);
  set.add(identity);
  const common = { spec_version: '2.1' as const, created_by_ref: identity.id, object_marking_refs: [marking.id] };
  const stamp = (at: string) => ({ created: at, modified: at });

  // Objects shared between alerts (indicators, stations, malware) take the
  // earliest alert's time, so their content does not depend on alert order.
  const sorted = [...alerts].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1));
  const relate = (type: string, source: string, target: string, at: string) =>
    set.add<Relationship>({
      type: 'relationship', ...common, id: sdoId('relationship', { relationship_type: type, source_ref: source, target_ref: target, by: identity.id }),
      ...stamp(at), relationship_type: type, source_ref: source, target_ref: target,
    });
  const relatedByAlert = new Map<string, string[]>();

  for (const alert of sorted) {
    const at = stixTime(alert.createdAt);
    const related: string[] = [];
    const e = alert.evidence ?? {};
    const terms = alertTerms(alert, ctx);

    const indicators = terms.map((term) =>
      set.add<Indicator>({
        type: 'indicator', ...common, id: sdoId('indicator', { pattern: patternFor(term), by: identity.id }), ...stamp(at),
        name: TERM_NAMES[term.kind], description: `First reported by evguard detector "${alert.detector.slice(0, 128)}": ${scrub(alert.title.slice(0, 512), [alert], ctx)}`,
        indicator_types: term.kind.startsWith('certificate') || term.kind === 'station' ? ['compromised'] : ['malicious-activity'],
        pattern: patternFor(term), pattern_type: 'stix', pattern_version: '2.1', valid_from: at,
      }),
    );
    related.push(...indicators.map((i) => i.id));

    // A station named as compromised is also observed, so its indicator's sighting has observed-data like any other.
    const stationTerm = terms.find((t) => t.kind === 'station');
    const observables = [...observablesFor(e, ctx.pseudonym), ...(stationTerm ? [stationObservable(stationTerm.value)] : [])].map((o) => set.add({ ...o, object_marking_refs: [marking.id] }));
    let observed: ObservedData | undefined;
    if (observables.length > 0) {
      observed = set.add<ObservedData>({
        type: 'observed-data', ...common, id: sdoId('observed-data', { alert: alert.id, by: identity.id }), ...stamp(at),
        first_observed: at, last_observed: at, number_observed: 1, object_refs: observables.map((o) => o.id),
      });
      related.push(observed.id);
    }
    for (const indicator of indicators) {
      set.add<Sighting>({
        type: 'sighting', ...common, id: sdoId('sighting', { alert: alert.id, sighting_of_ref: indicator.id, by: identity.id }), ...stamp(at),
        sighting_of_ref: indicator.id, first_seen: at, last_seen: at, count: 1,
        where_sighted_refs: [identity.id], ...(observed ? { observed_data_refs: [observed.id] } : {}),
      });
    }

    let station: StixCommon | undefined;
    if (alert.stationId) {
      const name = ctx.pseudonym('station', alert.stationId);
      station = set.add({
        type: 'infrastructure', ...common, id: sdoId('infrastructure', { name, by: identity.id }), ...stamp(at),
        name, description: 'Charging station operated by the reporting organization', infrastructure_types: ['control-system'],
      });
      related.push(station.id);
      for (const indicator of indicators) relate('related-to', indicator.id, station.id, at);
    }
    const malwareName = typeof e.malware === 'string' && e.malware.trim() ? e.malware.trim().slice(0, 256) : undefined;
    let malware: StixCommon | undefined;
    if (malwareName) {
      malware = set.add({
        type: 'malware', ...common, id: sdoId('malware', { name: malwareName, by: identity.id }), ...stamp(at), name: malwareName, is_family: false,
      });
      related.push(malware.id);
      for (const indicator of indicators) relate('indicates', indicator.id, malware.id, at);
      if (station) relate('targets', malware.id, station.id, at);
    }
    const cve = typeof e.cve === 'string' && /^CVE-\d{4}-\d{4,7}$/i.test(e.cve) ? e.cve.toUpperCase() : undefined;
    if (cve) {
      const vulnerability = set.add({
        type: 'vulnerability', ...common, id: sdoId('vulnerability', { name: cve }), ...stamp(at), name: cve,
        external_references: [{ source_name: 'cve', external_id: cve }],
      });
      related.push(vulnerability.id);
      if (station) relate('has', station.id, vulnerability.id, at);
      if (malware) relate('exploits', malware.id, vulnerability.id, at);
    }
    relatedByAlert.set(alert.id, related);
  }

  // Every alert is an incident of its own unless an operator grouped it. An
  // incident travels as a `report`: STIX 2.1's `incident` is a stub that the
  // OASIS bundle schema does not list, so receivers validating bundles would
  // reject it.
  const grouped = new Set(incidents.flatMap((i) => i.alertIds));
  const allIncidents: ShareableIncident[] = [
    ...incidents.filter((i) => i.alertIds.some((id) => relatedByAlert.has(id))),
    ...sorted.filter((a) => !grouped.has(a.id)).map((a) => ({ id: `alert:${a.id}`, title: a.title, description: a.description, createdAt: a.createdAt, alertIds: [a.id] })),
  ];
  const alertById = new Map(sorted.map((a) => [a.id, a] as const));
  for (const incident of allIncidents) {
    const at = stixTime(incident.createdAt);
    const members = incident.alertIds.map((id) => alertById.get(id)).filter((a): a is ShareableAlert => !!a);
    const labels = [...new Set(members.flatMap((a) => [`severity:${a.severity}`, `detector:${a.detector.slice(0, 128)}`]))].sort();
    const refs = [...new Set(incident.alertIds.flatMap((a) => relatedByAlert.get(a) ?? []))];
    set.add({
      type: 'report', ...common, id: sdoId('report', { incident: incident.id, by: identity.id }), ...stamp(at),
      name: scrub(incident.title.slice(0, 512), members, ctx), ...(incident.description ? { description: scrub(incident.description, members, ctx) } : {}),
      report_types: ['threat-report'], published: at, labels: ['incident', ...labels],
      // A report must refer to something; an alert with no shareable evidence refers to its reporter.
      object_refs: refs.length ? refs : [identity.id],
    });
  }

  const objects = set.values().sort(objectOrder);
  const bundleName = canonicalJson(objects.map((o) => [o.id, o.modified ?? o.created ?? '']));
  return { type: 'bundle', id: `bundle--${uuidv5(EVGUARD_NAMESPACE, bundleName)}`, objects };
}

/** Titles and descriptions may quote a station or token id; those are pseudonymised like the structured fields. */
function scrub(text: string, alerts: ShareableAlert[], ctx: MappingContext): string {
  let out = text.slice(0, 4096);
  for (const a of alerts) {
    if (a.stationId) out = out.split(a.stationId).join(ctx.pseudonym('station', a.stationId));
    if (typeof a.evidence?.idToken === 'string' && a.evidence.idToken) out = out.split(a.evidence.idToken).join(ctx.pseudonym('customer', a.evidence.idToken));
  }
  return out;
}

/** Cyber-observables (with STIX §2.9 deterministic ids) for the evidence of an alert or a sighting. */
export function observablesFor(e: ObservableEvidence, pseudonym: Pseudonymiser): StixCommon[] {
  const out: StixCommon[] = [];
  const fw = normaliseSha256(e.firmwareSha256);
  if (fw) out.push({ type: 'file', spec_version: '2.1', id: scoId('file', { hashes: { 'SHA-256': fw } }), hashes: { 'SHA-256': fw } });
  const serial = canonicalSerial(e.certificateSerialHex);
  const fp = normaliseSha256(e.certificateSha256Fingerprint);
  if (serial || fp) {
    const props = { ...(fp ? { hashes: { 'SHA-256': fp } } : {}), ...(serial ? { serial_number: serial } : {}) };
    out.push({ type: 'x509-certificate', spec_version: '2.1', id: scoId('x509-certificate', props), ...props });
  }
  const address = normaliseAddress(e.remoteAddress);
  if (address && isShareableAddress(address)) {
    const type = address.includes(':') ? 'ipv6-addr' : 'ipv4-addr';
    out.push({ type, spec_version: '2.1', id: scoId(type, { value: address }), value: address });
  }
  if (typeof e.idToken === 'string' && e.idToken) {
    const userId = pseudonym('customer', e.idToken.slice(0, 256));
    out.push({ type: 'user-account', spec_version: '2.1', id: scoId('user-account', { user_id: userId }), user_id: userId });
  }
  return out;
}

const TYPE_ORDER = ['marking-definition', 'identity', 'report', 'indicator', 'malware', 'vulnerability', 'infrastructure', 'observed-data', 'sighting', 'relationship'];

function objectOrder(a: StixCommon, b: StixCommon): number {
  const ta = TYPE_ORDER.indexOf(a.type);
  const tb = TYPE_ORDER.indexOf(b.type);
  // Observables (and anything unknown) sit just before the observed-data that refers to them.
  const observed = TYPE_ORDER.indexOf('observed-data') - 0.5;
  const ra = ta < 0 ? observed : ta;
  const rb = tb < 0 ? observed : tb;
  if (ra !== rb) return ra - rb;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Who defines evguard's STIX extensions: one fixed identity for every
 * deployment, so the extension definition is the same object (same id, same
 * bytes) whichever organization shares it.
 */
export const EXTENSION_AUTHOR: Identity = {
  type: 'identity', spec_version: '2.1', id: sdoId('identity', { name: 'evguard', identity_class: 'system' }),
  created: IDENTITY_CREATED, modified: IDENTITY_CREATED, name: 'evguard', identity_class: 'system',
  description: 'The evguard charging-station management system, author of its STIX 2.1 extension definitions',
};

/**
 * STIX 2.1 §7.3 extension definition of the custom observable
 * `x-evguard-charging-station` (a new SCO). No standard type names a
 * charging station: `infrastructure` is an SDO (it cannot be matched by a
 * pattern) and `software`/`x509-certificate` describe parts of a station,
 * not the station. Receivers that do not know the type keep the objects and
 * can look the definition up by this id: it is published in the node's
 * outbound TAXII collection next to the first objects that use the type.
 * It is not put inside exported bundles, because the OASIS bundle schema
 * (cti-stix2-json-schemas, stix2.1) lists no extension-definition and its
 * custom-object branch cannot tell one from an observable.
 */
export const STATION_EXTENSION: ExtensionDefinition = {
  type: 'extension-definition', spec_version: '2.1', id: `extension-definition--${uuidv5(EVGUARD_NAMESPACE, `${STATION_OBJECT_TYPE}/1.0.0`)}`,
  created_by_ref: EXTENSION_AUTHOR.id, created: IDENTITY_CREATED, modified: IDENTITY_CREATED,
  name: STATION_OBJECT_TYPE,
  description: 'A charging station (EVSE controller) as an OCPP central system knows it. Used in indicator patterns ([x-evguard-charging-station:station_id = \'…\']) and in observed-data when a severe alert names a station as compromised.',
  schema: 'JSON object, a STIX 2.1 cyber-observable: type "x-evguard-charging-station"; spec_version "2.1"; id "x-evguard-charging-station--<UUIDv5>" computed as for standard SCOs (STIX 2.1 §2.9) from the id-contributing property station_id; station_id (string, required, 1–256 characters): the station\'s OCPP identity, or when shared across organizations its keyed pseudonym ("ps-…", HMAC-SHA-256 under the sharing node\'s key, stable per sharer); extensions must name this definition with extension_type "new-sco". No other properties are defined.',
  version: '1.0.0',
  extension_types: ['new-sco'],
};

/** The custom observable for one (pseudonymised) station id. */
export function stationObservable(stationId: string): StixCommon {
  return {
    type: STATION_OBJECT_TYPE, spec_version: '2.1', id: scoId(STATION_OBJECT_TYPE, { station_id: stationId }), station_id: stationId,
    extensions: { [STATION_EXTENSION.id]: { extension_type: 'new-sco' } },
  };
}
