/**
 * Best-practice assessment of every station: gathers facts (registration,
 * session, certificates, configuration read from the station, security
 * events, alerts, password age, firmware advisories), applies the baseline
 * in rules.ts and scores it. See docs/assess.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { CommandsFor } from '../model/commands.js';
import { isOcppVersion } from '../model/ocpp-version.js';
import type { StationContext } from '../model/station.js';
import type { Stations } from '../stations/index.js';
import { assessErrors } from './errors.js';
import { ASSESSED_VARIABLES, fromNotifyReports, type Advisory, type StationFacts } from './facts.js';
import { assessFacts, summarise, type FleetSummary, type StationAssessment } from './evaluate.js';

export { RULES, SOURCES, type Rule, type RuleSeverity, type RuleStatus } from './rules.js';
export { assessFacts, summarise, grade, WEIGHT, type StationAssessment, type FleetSummary, type RuleResult } from './evaluate.js';
export type { StationFacts, Advisory } from './facts.js';
export { renderAssessmentHtml, renderChecklistMarkdown, renderChecklistHtml } from './render.js';
export { assessErrors };


export interface AssessDeps {
  /** When the audit log last recorded `action` on `target` succeeding (the api module's audit log). */
  lastAudited(target: string, action: string): Promise<string | undefined>;
  stations: Stations;
  /** This node's live session of a station, if any. */
  session(stationId: string): (StationContext & { connectedAt: string }) | undefined;
  /** The version adapters, bound to the node's call path. */
  commands: CommandsFor;
  listCertificates(stationId: string): { serialHex: string; kind: string; notAfter: string; revokedAt?: string }[];
  listAlerts(stationId: string): Promise<{ id: string; severity: string; title: string; detector: string; state: string }[]>;
  listStationEventTypes(stationId: string): Promise<string[]>;
  dataDir: string;
  /** Minimum TLS version of the node's wss:// listener. */
  listenerMinTls?: string;
  now?: () => Date;
}

export interface Assessment {
  /** Assesses from what is known; with `refresh`, first reads the configuration from the connected station. */
  station(stationId: string, opts?: { refresh?: boolean }): Promise<StationAssessment & { refresh?: string }>;
  fleet(opts?: { limit?: number }): Promise<FleetSummary & { assessments: StationAssessment[] }>;
  /** Reads the station's configuration now (GetConfiguration / GetVariables) and keeps it. */
  readConfiguration(stationId: string): Promise<{ ok: boolean; detail: string }>;
  advisories(): Advisory[];
}

const CONFIG_KIND = 'AssessmentConfiguration';

export function loadAdvisories(file: string): Advisory[] {
  if (!existsSync(file)) return [];
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw assessErrors.ASSESS_ADVISORIES_INVALID(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(data)) throw assessErrors.ASSESS_ADVISORIES_INVALID(`${file} must hold a JSON array of advisories`);
  return data.map((a, i) => {
    const ok =
      a && typeof a === 'object' && typeof a.advisory === 'string' &&
      (a.vendor === undefined || typeof a.vendor === 'string') && (a.model === undefined || typeof a.model === 'string') &&
      (a.fixedIn === undefined || typeof a.fixedIn === 'string') &&
      (a.versions === undefined || (Array.isArray(a.versions) && a.versions.every((v: unknown) => typeof v === 'string'))) &&
      (a.severity === undefined || ['medium', 'high', 'critical'].includes(a.severity)) &&
      (a.versions !== undefined || a.fixedIn !== undefined);
    if (!ok) throw assessErrors.ASSESS_ADVISORIES_INVALID(`${file}[${i}]: needs "advisory" and "versions" or "fixedIn" (strings), optional "vendor", "model", "severity"`);
    return a as Advisory;
  });
}

export function createAssessment(deps: AssessDeps): Assessment {
  const now = deps.now ?? (() => new Date());
  const advisoryFile = path.join(deps.dataDir, 'firmware-advisories.json');

  async function passwordChangedAt(stationId: string): Promise<string | undefined> {
    // The audit log is the record of rotations (POST /api/v1/stations/:id/password).
    return deps.lastAudited(stationId, 'POST /api/v1/stations/:id/password').catch(() => undefined);
  }

  async function gather(stationId: string, advisories = loadAdvisories(advisoryFile)): Promise<StationFacts> {
    const station = await deps.stations.registry.get(stationId);
    const secret = await deps.stations.registry.secret(stationId);
    const session = deps.session(stationId);
    const [stored, notify, signedFw, alerts, eventTypes, rotated] = await Promise.all([
      deps.stations.reports(stationId, CONFIG_KIND),
      deps.stations.reports(stationId, 'NotifyReport'),
      deps.stations.reports(stationId, 'SignedFirmwareStatusNotification'),
      deps.listAlerts(stationId),
      deps.listStationEventTypes(stationId),
      passwordChangedAt(stationId),
    ]);
    // Oldest NotifyReport first so newer values win; the direct read wins over both.
    let configuration: Record<string, string> | undefined;
    let configurationReadAt: string | undefined;
    if (notify.length) {
      configuration = fromNotifyReports(notify.map((r) => r.payload).reverse());
      configurationReadAt = notify[0]!.receivedAt;
    }
    const latest = stored[0];
    if (latest) {
      configuration = { ...(configuration ?? {}), ...((latest.payload as { configuration?: Record<string, string> }).configuration ?? {}) };
      if (!configurationReadAt || latest.receivedAt > configurationReadAt) configurationReadAt = latest.receivedAt;
    }
    const ocppVersion = session?.version ?? station.ocppVersion;
    return {
      stationId,
      securityProfile: station.securityProfile,
      registration: station.registration,
      ocppVersion,
      protocol: isOcppVersion(ocppVersion) ? deps.commands(ocppVersion).features : undefined,
      vendor: station.vendor,
      model: station.model,
      firmwareVersion: station.firmwareVersion,
      quarantined: station.quarantined,
      createdAt: station.createdAt,
      lastSeenAt: station.lastSeenAt,
      session: session ? { securityProfile: session.securityProfile, version: session.version, connectedAt: session.connectedAt } : undefined,
      listenerMinTls: deps.listenerMinTls ?? 'TLSv1.2',
      hasPassword: Boolean(secret?.passwordHash),
      passwordChangedAt: rotated,
      certificates: deps.listCertificates(stationId),
      configuration,
      configurationReadAt,
      stationEventTypes: eventTypes,
      signedFirmwareSeen: signedFw.length > 0,
      openAlerts: alerts.filter((a) => a.state !== 'resolved').map(({ id, severity, title, detector }) => ({ id, severity, title, detector })),
      advisories,
      now: now(),
    };
  }

  async function readConfiguration(stationId: string): Promise<{ ok: boolean; detail: string }> {
    const session = deps.session(stationId);
    if (!session) return { ok: false, detail: 'station not connected; assessed from what is stored' };
    let read: { values: Record<string, string>; via: string };
    try {
      // 1.6 reports every key; 2.x the variables the rules name.
      read = await deps.commands(session.version).readConfiguration(stationId, ASSESSED_VARIABLES, { timeoutMs: 15_000 });
    } catch (err) {
      return { ok: false, detail: `the station did not report its configuration: ${(err as Error).message}` };
    }
    const configuration = read.values;
    await deps.stations.domain.report(session, CONFIG_KIND, { configuration, via: read.via });
    return { ok: true, detail: `${Object.keys(configuration).length} values read` };
  }

  return {
    async station(stationId, opts = {}) {
      let refresh: string | undefined;
      if (opts.refresh) refresh = (await readConfiguration(stationId)).detail;
      const result = assessFacts(await gather(stationId));
      return refresh ? { ...result, refresh } : result;
    },
    async fleet(opts = {}) {
      const list = await deps.stations.registry.list({ limit: Math.min(opts.limit ?? 1000, 10_000) });
      const assessments: StationAssessment[] = [];
      // One read of the advisory file for the whole fleet.
      const advisories = loadAdvisories(advisoryFile);
      for (const s of list) assessments.push(assessFacts(await gather(s.id, advisories)));
      return { ...summarise(assessments, now()), assessments };
    },
    readConfiguration,
    advisories: () => loadAdvisories(advisoryFile),
  };
}
