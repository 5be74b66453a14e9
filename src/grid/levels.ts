/**
 * The levels a station's power counts against: its site (with a utility's
 * limit where one is in force, whichever is lower), the site's feeder, and
 * the fleet. Each level has a limit and a ramp rate, either of which may be
 * absent.
 */
import type { Feeder, Site, StationAssignment } from './store.js';

export interface Level { key: string; label: string; limitKw?: number; rampKwPerS?: number; match(stationId: string): boolean }

export interface Topology {
  sites: ReadonlyMap<string, Site>;
  feeders: ReadonlyMap<string, Feeder>;
  stations: ReadonlyMap<string, StationAssignment>;
}

export interface LevelSettings {
  /** Fleet-wide limit in kW; none when absent. */
  fleetLimitKw?: number;
  /** Fleet-wide ramp rate in kW/s; none when absent. */
  fleetRampKwPerS?: number;
  /** Ramp rate of sites and feeders that set none. */
  defaultRampKwPerS?: number;
}

export function siteOf(topology: Topology, stationId: string): Site | undefined {
  const a = topology.stations.get(stationId);
  return a ? topology.sites.get(a.siteId) : undefined;
}

/** `dsoLimitKw(siteId)`: the utility's limit on a site now, if any. */
export function levelsOf(topology: Topology, settings: LevelSettings, stationId: string, dsoLimitKw: (siteId: string) => number | undefined): Level[] {
  const out: Level[] = [];
  const site = siteOf(topology, stationId);
  if (site) {
    const d = dsoLimitKw(site.id);
    out.push({ key: `site:${site.id}`, label: `site ${site.id}`, limitKw: d === undefined ? site.limitKw : Math.min(site.limitKw, d), rampKwPerS: site.rampKwPerS ?? settings.defaultRampKwPerS, match: (s) => topology.stations.get(s)?.siteId === site.id });
    const feeder = site.feederId ? topology.feeders.get(site.feederId) : undefined;
    if (feeder) {
      out.push({ key: `feeder:${feeder.id}`, label: `feeder ${feeder.id}`, limitKw: feeder.limitKw, rampKwPerS: feeder.rampKwPerS ?? settings.defaultRampKwPerS, match: (s) => siteOf(topology, s)?.feederId === feeder.id });
    }
  }
  out.push({ key: 'fleet', label: 'the fleet', limitKw: settings.fleetLimitKw, rampKwPerS: settings.fleetRampKwPerS, match: () => true });
  return out;
}
