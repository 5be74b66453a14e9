/**
 * Stations: registry, credentials, the handshake policy, and the station-level
 * part of the OCPP domain (boot, heartbeat, connector status, reports).
 */
import type { Bus } from '../bus/index.js';
import { Topics, type SecurityEvent } from '../bus/events.js';
import type { Database } from '../store/index.js';
import { toJson } from '../store/index.js';
import type { StationContext, StationDomain } from '../model/station.js';
import { createRegistry, type Registry } from './registry.js';
import { createIdTokens, type IdTokens } from './id-tokens.js';
import { createHandshakePolicy, type PolicyDeps } from './policy.js';
import { createSessionWatch, type LiveSession, type SessionWatch } from './sessions.js';
import { stationErrors } from './errors.js';
import { createStationsStore } from './store.js';

export { stationsMigrations } from './store.js';
export { stationErrors } from './errors.js';
export { generatePassword, hashPassword, verifyPassword, passwordProblem } from './credentials.js';
export type { StationRecord, SecurityProfile, Registration, NewStation, Registry } from './registry.js';
export type { IdToken, IdTokenStatus, IdTokens } from './id-tokens.js';
export type { ClientCertificateCheck } from './policy.js';

export interface StationsConfig {
  heartbeatIntervalS: number;
  bootRetryIntervalS: number;
  allowUnknown: boolean;
}

export interface StationsDeps {
  database: Database;
  bus: Bus;
  securityEvent(e: Omit<SecurityEvent, 'timestamp' | 'source' | 'critical'>): void;
  checkClientCertificate?: PolicyDeps['checkClientCertificate'];
  lockedOut?: PolicyDeps['lockedOut'];
  slowedDown?: PolicyDeps['slowedDown'];
  blockedAddress?: PolicyDeps['blockedAddress'];
  /** This node's live sessions, and how to close one whose admission was revoked. */
  liveSessions: {
    get(stationId: string): LiveSession | undefined;
    close(stationId: string, reason: string): Promise<void>;
  };
  log?: { warn(o: unknown, m: string): void };
}

/** Actions a station may send before the CSMS has accepted it, or while quarantined. */
const BEFORE_ACCEPTED = new Set(['BootNotification']);
const WHILE_QUARANTINED = new Set(['BootNotification', 'Heartbeat', 'SecurityEventNotification']);

export type StationsDomain = Pick<StationDomain, 'boot' | 'heartbeat' | 'connectorStatus' | 'report' | 'meterValues' | 'firmwareStatus'>;

export interface Stations {
  registry: Registry;
  idTokens: IdTokens;
  authenticate: ReturnType<typeof createHandshakePolicy>;
  /** Closes this node's sessions whose admission a change revoked (sessions.ts). */
  sessions: SessionWatch;
  domain: StationsDomain;
  /** Throws if the station may not send `action` now (not yet accepted, quarantined). */
  admit(ctx: StationContext, action: string): Promise<void>;
  connectors(stationId: string): Promise<{ evseId: number; connectorId: number; status: string; updatedAt: string }[]>;
  reports(stationId: string, kind?: string): Promise<{ id: string; kind: string; payload: unknown; receivedAt: string }[]>;
}

export function createStations(deps: StationsDeps, config: StationsConfig): Stations {
  const store = createStationsStore(deps.database);
  const registry = createRegistry(store, deps.bus);
  const idTokens = createIdTokens(store);
  const sessions = createSessionWatch({
    registry,
    bus: deps.bus,
    session: (id) => deps.liveSessions.get(id),
    close: (id, reason) => deps.liveSessions.close(id, reason),
    securityEvent: deps.securityEvent,
    log: deps.log,
  });
  const authenticate = createHandshakePolicy({ ...deps, registry, allowUnknown: config.allowUnknown, accepted: (_id, s) => sessions.accepted(s) });

  async function storeReport(stationId: string, kind: string, payload: unknown) {
    await store.reports.insert({ id: registry.newReportId(), station_id: stationId, kind, payload: toJson(payload), received_at: new Date().toISOString() });
  }

  const domain: StationsDomain = {
    async boot(ctx, req) {
      const station = await registry.recordBoot(ctx.stationId, { ...req, ocppVersion: ctx.version });
      const status = station.registration;
      deps.bus.publish(Topics.stationBooted, { stationId: ctx.stationId, ...req, status }, ctx.stationId);
      return {
        status,
        intervalS: status === 'Accepted' ? config.heartbeatIntervalS : config.bootRetryIntervalS,
        currentTime: new Date().toISOString(),
      };
    },
    async heartbeat(ctx) {
      await registry.touch(ctx.stationId);
      return { currentTime: new Date().toISOString() };
    },
    async connectorStatus(ctx, r) {
      const now = new Date().toISOString();
      await store.connectors.put({ station_id: ctx.stationId, evse_id: r.evseId, connector_id: r.connectorId, status: r.status, error_code: r.errorCode ?? null, updated_at: now });
      deps.bus.publish(Topics.connectorStatus, { stationId: ctx.stationId, ...r }, ctx.stationId);
    },
    async report(ctx, kind, payload) {
      await storeReport(ctx.stationId, kind, payload);
      deps.bus.publish(Topics.stationReport, { stationId: ctx.stationId, kind, payload }, ctx.stationId);
    },
    async meterValues(ctx, evseId, samples) {
      await storeReport(ctx.stationId, 'MeterValues', { evseId, samples });
    },
    async firmwareStatus(ctx, r) {
      await storeReport(ctx.stationId, r.signed ? 'SignedFirmwareStatusNotification' : 'FirmwareStatusNotification', r);
      deps.bus.publish(Topics.firmwareStatus, { stationId: ctx.stationId, ...r }, ctx.stationId);
    },
  };

  return {
    registry,
    idTokens,
    authenticate,
    sessions,
    domain,
    async admit(ctx, action) {
      const station = await registry.get(ctx.stationId);
      if (station.quarantined && !WHILE_QUARANTINED.has(action)) {
        throw stationErrors.STATION_QUARANTINED(`Station is quarantined; ${action} refused`);
      }
      // OCPP 2.0.1 B02.FR.09 / 1.6 §4.2: until accepted, only BootNotification.
      if (station.registration !== 'Accepted' && !BEFORE_ACCEPTED.has(action)) {
        throw stationErrors.STATION_NOT_ACCEPTED(`Station is ${station.registration}; send BootNotification and wait to be accepted`);
      }
    },
    async connectors(stationId) {
      const rows = await store.connectors.list(stationId);
      return rows.map((r) => ({ evseId: Number(r.evse_id), connectorId: Number(r.connector_id), status: r.status, updatedAt: r.updated_at }));
    },
    async reports(stationId, kind) {
      const rows = await store.reports.list(stationId, kind);
      return rows.map((r) => ({ id: r.id, kind: r.kind, payload: JSON.parse(r.payload), receivedAt: r.received_at }));
    },
  };
}
