/**
 * Sightings of received indicators on live traffic (STIX 2.1 §5.2): the
 * feedback a sharing community needs to know an indicator is real. A hostile
 * station can reconnect many times a second, so sightings of the same thing
 * within an hour are one object whose `count` grows, written at most once a
 * minute, and the bus hears about it at the same pace.
 */
import { intelErrors } from './errors.js';
import { observablesFor } from './mapping.js';
import type { MatchInput } from './matcher.js';
import type { Pseudonymiser } from './pseudonym.js';
import type { StixValidator } from './schema.js';
import { canonicalJson } from '../canonical-json.js';
import { sdoId, stixTime, type Identity, type ObservedData, type Sighting, type StixCommon } from './stix.js';
import type { IntelStore } from './store.js';
import { isIdentifier } from './taxii-media.js';

export interface ObservedTraffic extends MatchInput {
  /** When it was seen; defaults to now. */
  at?: string;
  /** Which observable matched (from `match()`), for the alert text. */
  kind?: string;
}

export interface SightingRecorderDeps {
  identity: Identity;
  marking: () => StixCommon;
  pseudonym: Pseudonymiser;
  validator: StixValidator;
  store: IntelStore;
  outboundId: string;
  dateAdded: () => string;
  publish: (event: {
    indicatorId: string; name?: string; kind?: string; sightingId: string; count: number; stationId?: string; remoteAddress?: string; at: string;
  }, stationId?: string) => void;
  nameOf: (indicatorId: string) => string | undefined;
}

const WRITE_EVERY_MS = 60_000;
const MAX_TRACKED = 10_000;

export function createSightingRecorder(deps: SightingRecorderDeps) {
  const tracked = new Map<string, { created: string; count: number; lastWrite: number }>();

  return {
    async record(indicatorId: string, observed: ObservedTraffic = {}): Promise<Sighting> {
      if (typeof indicatorId !== 'string' || !indicatorId.startsWith('indicator--') || !isIdentifier(indicatorId)) {
        throw intelErrors.INTEL_INVALID_INPUT('indicatorId must be a STIX indicator id');
      }
      let at: string;
      try {
        at = stixTime(observed.at ?? new Date());
      } catch {
        throw intelErrors.INTEL_INVALID_INPUT('observed.at must be an ISO-8601 time');
      }
      const marking = deps.marking();
      const common = { spec_version: '2.1' as const, created_by_ref: deps.identity.id, object_marking_refs: [marking.id] };
      const observables = observablesFor({ ...observed, idToken: undefined }, deps.pseudonym).map((o) => ({ ...o, object_marking_refs: [marking.id] }));
      const station = typeof observed.stationId === 'string' ? deps.pseudonym('station', observed.stationId.slice(0, 256)) : undefined;
      const bucket = at.slice(0, 13);
      const key = canonicalJson({ indicatorId, station, refs: observables.map((o) => o.id), bucket });

      const nowMs = Date.parse(at);
      let state = tracked.get(key);
      if (!state) {
        if (tracked.size >= MAX_TRACKED) forgetOldest(tracked, bucket);
        state = { created: at, count: 0, lastWrite: -Infinity };
        tracked.set(key, state);
      }
      state.count++;
      const modified = at < state.created ? state.created : at;

      let observedData: ObservedData | undefined;
      if (observables.length) {
        observedData = {
          type: 'observed-data', ...common, id: sdoId('observed-data', { sighting: key, by: deps.identity.id }),
          created: state.created, modified, first_observed: state.created, last_observed: modified,
          number_observed: state.count, object_refs: observables.map((o) => o.id),
        };
      }
      const sighting: Sighting = {
        type: 'sighting', ...common, id: sdoId('sighting', { key, by: deps.identity.id }), created: state.created, modified,
        sighting_of_ref: indicatorId, first_seen: state.created, last_seen: modified, count: state.count,
        where_sighted_refs: [deps.identity.id], ...(observedData ? { observed_data_refs: [observedData.id] } : {}),
        ...(station ? { description: `Seen at charging station ${station}` } : {}),
      };

      if (state.count === 1 || nowMs - state.lastWrite >= WRITE_EVERY_MS) {
        state.lastWrite = nowMs;
        const objects: StixCommon[] = [marking, deps.identity, ...observables, ...(observedData ? [observedData] : []), sighting];
        for (const o of objects) {
          const check = deps.validator.validate(o);
          if (!check.valid) throw intelErrors.INTEL_INVALID_STIX(`evguard produced an invalid ${o.type}: ${check.errors[0]}`);
        }
        for (const o of objects) await deps.store.insertObject(deps.outboundId, o, deps.dateAdded());
        deps.publish({
          indicatorId, name: deps.nameOf(indicatorId), kind: observed.kind, sightingId: sighting.id, count: state.count,
          stationId: observed.stationId, remoteAddress: observed.remoteAddress, at,
        }, observed.stationId);
      }
      return sighting;
    },
  };
}

function forgetOldest(tracked: Map<string, unknown>, currentBucket: string) {
  for (const key of tracked.keys()) {
    if (!key.includes(`"bucket":"${currentBucket}"`)) tracked.delete(key);
  }
  // Still full within one hour: drop the oldest entries (Map keeps insertion order).
  for (const key of tracked.keys()) {
    if (tracked.size < MAX_TRACKED) break;
    tracked.delete(key);
  }
}
