/**
 * Security monitoring: one stream of security events (what stations report
 * and what the CSMS observes), detectors that turn event patterns into
 * alerts, automatic responses, and outputs for operators and SIEMs.
 */
import { isTopic, type Bus, type BusEvent } from '../bus/index.js';
import { Topics, type SecurityEvent } from '../bus/events.js';
import type { OcppVersion } from '../model/ocpp-version.js';
import type { Database } from '../store/index.js';
import { isCritical, isCsmsCritical } from './catalog.js';
import { monitorErrors } from './errors.js';
import { createAlertStore, severityAtLeast, SEVERITIES, type Alert, type AlertState } from './alerts.js';
import { createResponder, RESPONSE_KINDS, type LockoutRow, type LockView, type ResponseActions, type ResponseKind } from './responses.js';
import { onChange, publishChange } from '../bus/changes.js';
import { DETECTORS, DETECTOR_NAMES, type Detector, type DetectorLookups, type DetectorName, type Finding, type Severity, type Thresholds } from './detectors/index.js';
import { createSyslogSender, type SyslogConfig, type SyslogSender } from './outputs/syslog.js';
import { createWebhookSender, type WebhookConfig, type WebhookSender } from './outputs/webhook.js';
import { createMonitorStore, type SecurityEventRow } from './store.js';

export { monitorMigrations, monitorTablesExist } from './store.js';
export { monitorErrors };
export { type Alert, type AlertAction, type AlertComment, type AlertState } from './alerts.js';
export { RESPONSE_KINDS, createStationActions, type StationActionDeps, type ResponseActions, type ResponseKind, type RecordedAction, type LockView, type LockoutRow } from './responses.js';
export { DETECTORS, DETECTOR_NAMES, type Detector, type DetectorName, type Finding, type Severity, type Thresholds } from './detectors/index.js';
export { isCritical, isStandardEvent, canonicalEventType, standardEventTypes, CSMS_EVENT_TYPES } from './catalog.js';
export { formatSyslog, type SyslogConfig } from './outputs/syslog.js';
export { signWebhook, type WebhookConfig } from './outputs/webhook.js';
export { createNodeOcmfCrypto, decodePublicKey, keyFingerprint, ocmfText, parseOcmf, signOcmf, verifyOcmf } from './ocmf.js';
export type { SecurityEvent };

export interface DetectorSettings {
  enabled?: boolean;
  /** Overrides the severity the detector assigns. */
  severity?: Severity;
  /** What to do automatically when the detector fires; default none (bruteForce: `['lockOut']`). */
  responses?: ResponseKind[];
  /** How long a lock-out lasts; default 900 s. */
  lockoutSeconds?: number;
  thresholds?: Thresholds;
}

export interface MonitorConfig {
  detectors?: Partial<Record<DetectorName, DetectorSettings>>;
  syslog?: SyslogConfig;
  webhooks?: WebhookConfig[];
  /** Alerts at or above this severity (default medium) go to syslog and webhooks; below it only when their detector's responses include `notify`. */
  notifyMinSeverity?: Severity;
  now?: () => Date;
}

export interface MonitorDeps {
  db: Database;
  bus: Bus;
  /**
   * Cluster mode: the bus as every node sees it (when `bus` reaches only the
   * lead node). Lock-out changes and alerts are followed on it, so each node
   * enforces every lock-out and streams every alert. Default: `bus`.
   */
  fleetBus?: Bus;
  log?: any;
  actions: ResponseActions;
  /** Registry lookups some detectors use when the core can provide them. */
  lookups?: DetectorLookups;
}

export interface Monitor {
  /** Persists an event (both sources) and publishes `security.event`; unknown types kept; returns the stored id. */
  recordSecurityEvent(e: SecurityEvent): Promise<number>;
  isCritical(type: string, ocppVersion: OcppVersion): boolean;
  /** Fast synchronous check for the WebSocket upgrade: is an attempt for this station from this address locked out right now? */
  isLockedOut(target: { stationId?: string; remoteAddress?: string }): LockView | undefined;
  /** Whether attempts for this station from unfamiliar addresses are slowed down (distributed guessing). */
  slowedDown(stationId: string): LockView | undefined;
  /** Re-reads the lock-outs in force from the store (every STALE_BOUND_MS in a node), in case a change event was missed. */
  refreshLockouts(): Promise<void>;
  listSecurityEvents(q: { stationId?: string; since?: string; limit?: number }): Promise<SecurityEvent[]>;
  listAlerts(q: { stationId?: string; state?: AlertState; limit?: number }): Promise<Alert[]>;
  getAlert(id: string): Promise<Alert>;
  acknowledge(id: string, by: string, comment?: string): Promise<Alert>;
  resolve(id: string, by: string, comment?: string): Promise<Alert>;
  comment(id: string, by: string, text: string): Promise<Alert>;
  undoAction(actionId: string, by: string): Promise<void>;
  listLockouts(): Promise<LockoutRow[]>;
  /** Follows `alert.raised` / `alert.changed`, for the live stream. Returns an unsubscribe function. */
  onAlert(handler: (topic: string, alert: Alert) => void): () => void;
  /** Resolves once every event received so far has been fully processed and delivered. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_RESPONSES: Partial<Record<DetectorName, ResponseKind[]>> = { bruteForce: ['lockOut'] };
const DEFAULT_LOCKOUT_SECONDS = 900;
const MAX_LIMIT = 1000;

function validateConfig(config: MonitorConfig): void {
  const bad = (m: string) => monitorErrors.MONITOR_CONFIG_INVALID(m);
  for (const [name, s] of Object.entries(config.detectors ?? {})) {
    if (!Object.hasOwn(DETECTORS, name)) throw bad(`Unknown detector "${name}"; known: ${DETECTOR_NAMES.join(', ')}`);
    if (s?.severity !== undefined && !SEVERITIES.includes(s.severity)) throw bad(`detectors.${name}.severity must be one of ${SEVERITIES.join(', ')}`);
    for (const r of s?.responses ?? []) if (!RESPONSE_KINDS.includes(r)) throw bad(`detectors.${name}.responses: unknown response "${r}"; known: ${RESPONSE_KINDS.join(', ')}`);
    if (s?.lockoutSeconds !== undefined && !(Number.isFinite(s.lockoutSeconds) && s.lockoutSeconds > 0)) throw bad(`detectors.${name}.lockoutSeconds must be a positive number`);
  }
  if (config.syslog) {
    const { host, port, protocol } = config.syslog;
    if (typeof host !== 'string' || host.length === 0 || !Number.isInteger(port) || port < 1 || port > 65535 || (protocol !== 'udp' && protocol !== 'tcp')) {
      throw bad('syslog needs { host, port: 1-65535, protocol: "udp" | "tcp" }');
    }
  }
  for (const w of config.webhooks ?? []) {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(w.url).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw bad('each webhook needs an http:// or https:// url');
  }
  if (config.notifyMinSeverity !== undefined && !SEVERITIES.includes(config.notifyMinSeverity)) throw bad(`notifyMinSeverity must be one of ${SEVERITIES.join(', ')}`);
}

function limitOf(v: unknown): number {
  if (v === undefined) return 100;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) throw monitorErrors.MONITOR_QUERY_INVALID(`limit must be an integer from 1 to ${MAX_LIMIT}`);
  return n;
}

function isoOf(v: string | undefined, what: string): string | undefined {
  if (v === undefined) return undefined;
  const t = typeof v === 'string' && v.length <= 64 ? Date.parse(v) : NaN;
  if (!Number.isFinite(t)) throw monitorErrors.MONITOR_QUERY_INVALID(`${what} must be an ISO-8601 date-time`);
  return new Date(t).toISOString();
}

export async function createMonitor(deps: MonitorDeps, config: MonitorConfig): Promise<Monitor> {
  validateConfig(config);
  const now = config.now ?? (() => new Date());
  const store = createMonitorStore(deps.db);
  const log = deps.log;
  const alerts = createAlertStore(store, now);
  const responder = createResponder(store, deps.actions, now, log, (c) => publishChange(deps.bus, 'monitor.lockout', c, c.stationId));
  await responder.reload();
  const syslog: SyslogSender | undefined = config.syslog ? createSyslogSender(config.syslog, log) : undefined;
  const webhooks: WebhookSender | undefined = config.webhooks?.length ? createWebhookSender(config.webhooks, now, log) : undefined;
  const listeners = new Set<(topic: string, alert: Alert) => void>();
  const notifyMin = config.notifyMinSeverity ?? 'medium';

  const settings = (name: DetectorName): DetectorSettings => config.detectors?.[name] ?? {};
  const detectors: Detector[] = DETECTOR_NAMES.filter((n) => settings(n).enabled !== false).map((n) => DETECTORS[n].create(settings(n).thresholds, deps.lookups ?? {}));

  // One queue: alerts are raised and acted on in the order findings arrive, so aggregation never races.
  let queue: Promise<void> = Promise.resolve();
  const pending = new Set<Promise<unknown>>();
  let closed = false;
  const enqueue = (work: () => Promise<void>) => {
    queue = queue.then(work).catch((err) => log?.error({ err }, 'monitor processing failed'));
  };

  // Live-stream listeners follow the alert topics on the fleet's bus: this node's alerts (delivered
  // synchronously as it publishes) and, in a cluster, those the lead node raised or another node changed.
  const fleet = deps.fleetBus ?? deps.bus;
  const toListeners = (e: BusEvent<Alert>) => {
    const alert = e.data;
    if (!alert || typeof alert !== 'object' || typeof alert.id !== 'string') return;
    for (const l of listeners) {
      try {
        l(e.topic, alert);
      } catch (err) {
        log?.error({ err }, 'alert listener failed');
      }
    }
  };
  const unfollow = [
    fleet.subscribe(Topics.alertRaised, toListeners),
    fleet.subscribe(Topics.alertChanged, toListeners),
    onChange(fleet, 'monitor.lockout', (c) => responder.apply(c)),
  ];

  function emit(topic: typeof Topics.alertRaised | typeof Topics.alertChanged, alert: Alert, forceNotify: boolean) {
    deps.bus.publish(topic, alert, alert.stationId);
    if (forceNotify || severityAtLeast(alert.severity, notifyMin)) {
      syslog?.send(alert, topic);
      webhooks?.send(alert, topic);
    }
  }

  async function handleFinding(raw: Finding) {
    const s = settings(raw.detector);
    const f: Finding = s.severity ? { ...raw, severity: s.severity } : raw;
    const { alert, created } = await alerts.raise(f);
    const kinds = s.responses ?? DEFAULT_RESPONSES[f.detector] ?? [];
    await responder.respond(alert, f, kinds, s.lockoutSeconds ?? DEFAULT_LOCKOUT_SECONDS);
    const fresh = (await alerts.get(alert.id))!;
    emit(created ? Topics.alertRaised : Topics.alertChanged, fresh, kinds.includes('notify'));
  }

  async function persist(e: SecurityEvent): Promise<number> {
    const type = typeof e?.type === 'string' ? e.type.trim().slice(0, 100) : '';
    if (!type) throw monitorErrors.MONITOR_EVENT_INVALID('A security event needs a non-empty type');
    const source = e.source === 'csms' ? 'csms' : 'station';
    const received = now().toISOString();
    const t = typeof e.timestamp === 'string' && e.timestamp.length <= 64 ? Date.parse(e.timestamp) : NaN;
    const row = {
      station_id: typeof e.stationId === 'string' ? e.stationId.slice(0, 128) : null,
      type,
      source,
      critical: e.critical === true || (source === 'csms' && isCsmsCritical(type)) ? 1 : 0,
      tech_info: typeof e.techInfo === 'string' ? e.techInfo.slice(0, 1000) : null,
      remote_address: typeof e.remoteAddress === 'string' ? e.remoteAddress.slice(0, 64) : null,
      occurrences: Number.isSafeInteger(e.occurrences) && e.occurrences! > 1 ? Math.min(e.occurrences!, 1_000_000) : 1,
      timestamp: Number.isFinite(t) ? new Date(t).toISOString() : received,
      received_at: received,
    };
    return store.events.insert(row);
  }

  function onEvent(event: BusEvent) {
    if (closed) return;
    // Events other modules publish straight onto the bus are kept too; ours carry their stored id.
    if (isTopic(event, Topics.securityEvent) && event.data && typeof event.data === 'object' && event.data.id === undefined) {
      const p = persist(event.data).catch((err) => log?.warn({ err }, 'security event from the bus not stored'));
      pending.add(p);
      void p.finally(() => pending.delete(p));
    }
    const at = now();
    for (const d of detectors) {
      if (!d.topics.some((t) => t === event.topic)) continue;
      try {
        const result = d.feed(event, at);
        if (Array.isArray(result)) {
          for (const f of result) enqueue(() => handleFinding(f));
        } else {
          const p = result.then((fs) => fs.forEach((f) => enqueue(() => handleFinding(f)))).catch((err) => log?.error({ err, detector: d.name }, 'detector failed'));
          pending.add(p);
          void p.finally(() => pending.delete(p));
        }
      } catch (err) {
        log?.error({ err, detector: d.name }, 'detector failed');
      }
    }
  }

  const topics = new Set(detectors.flatMap((d) => d.topics));
  topics.add(Topics.securityEvent);
  const unsubscribe = [...topics].map((t) => deps.bus.subscribe(t, onEvent));

  async function settled() {
    for (;;) {
      const before = queue;
      await Promise.all([...pending]);
      await queue;
      if (pending.size === 0 && queue === before) break;
    }
    await webhooks?.flush();
  }

  return {
    async recordSecurityEvent(e) {
      const id = await persist(e);
      const event = toEvent(await store.events.get(id));
      deps.bus.publish(Topics.securityEvent, event, event.stationId);
      return id;
    },
    isCritical: (type, version) => isCritical(type, version),
    isLockedOut: (target) => responder.isLockedOut(target ?? {}),
    slowedDown: (stationId) => responder.slowedDown(stationId),
    refreshLockouts: () => responder.reload(),
    async listSecurityEvents(q) {
      const limit = limitOf(q.limit);
      const since = isoOf(q.since, 'since');
      const rows = await store.events.list({ stationId: q.stationId ? String(q.stationId).slice(0, 128) : undefined, since, limit });
      return rows.map(toEvent);
    },
    async listAlerts(q) {
      if (q.state !== undefined && !['open', 'acknowledged', 'resolved'].includes(q.state)) throw monitorErrors.MONITOR_QUERY_INVALID('state must be open, acknowledged or resolved');
      return alerts.list({ stationId: q.stationId ? String(q.stationId).slice(0, 128) : undefined, state: q.state, limit: limitOf(q.limit) });
    },
    async getAlert(id) {
      const a = await alerts.get(id);
      if (!a) throw monitorErrors.MONITOR_ALERT_NOT_FOUND(`No alert with id ${String(id).slice(0, 64)}`);
      return a;
    },
    async acknowledge(id, by, comment) {
      const a = await alerts.transition(id, 'acknowledged', by, comment);
      emit(Topics.alertChanged, a, false);
      return a;
    },
    async resolve(id, by, comment) {
      const a = await alerts.transition(id, 'resolved', by, comment);
      emit(Topics.alertChanged, a, false);
      return a;
    },
    async comment(id, by, text) {
      if (typeof text !== 'string' || text.trim().length === 0) throw monitorErrors.MONITOR_QUERY_INVALID('A comment needs text');
      if (!(await alerts.get(id))) throw monitorErrors.MONITOR_ALERT_NOT_FOUND(`No alert with id ${String(id).slice(0, 64)}`);
      await alerts.addComment(id, by, text);
      const a = (await alerts.get(id))!;
      emit(Topics.alertChanged, a, false);
      return a;
    },
    async undoAction(actionId, by) {
      const alertId = await responder.undo(actionId, by);
      const a = await alerts.get(alertId);
      if (a) emit(Topics.alertChanged, a, false);
    },
    listLockouts: () => responder.listLockouts(),
    onAlert(handler) {
      listeners.add(handler);
      return () => listeners.delete(handler);
    },
    settled,
    async close() {
      closed = true;
      for (const u of [...unsubscribe, ...unfollow]) u();
      await settled().catch(() => undefined);
      listeners.clear();
      await syslog?.close();
      await webhooks?.close();
    },
  };
}

function toEvent(r: SecurityEventRow): SecurityEvent {
  return {
    id: Number(r.id),
    stationId: r.station_id ?? undefined,
    type: r.type,
    source: r.source as SecurityEvent['source'],
    critical: Number(r.critical) === 1,
    techInfo: r.tech_info ?? undefined,
    ...(Number(r.occurrences) > 1 ? { occurrences: Number(r.occurrences) } : {}),
    remoteAddress: r.remote_address ?? undefined,
    timestamp: r.timestamp,
  };
}
