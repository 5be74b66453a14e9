/**
 * The node's side of threat sharing: the intel config built from the node's
 * config, automatic sharing of the monitor's alerts, enforcement at the OCPP
 * edge, the TAXII bearer-token check over the node's token store, and the
 * data-dir opener `evguard intel …` uses. The composition root (src/app.ts)
 * calls these; modules are reached only through their public index files.
 */
import { X509Certificate, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Bus, BusEvent } from '../bus/index.js';
import type { Alert } from '../monitor/events.js';
import { Topics, type SecurityEvent } from '../bus/events.js';
import { onChange } from '../bus/changes.js';
import type { Config, IntelSettings } from '../config.js';
import { intelErrors } from './errors.js';
import type { Intel, IntelConfig, ShareableAlert, AlertSeverity } from './index.js';
import type { Match } from './matcher.js';
import type { ObservedTraffic } from './sightings.js';
import type { TaxiiAuth } from './taxii-server.js';

const SEVERITY_RANK: Record<AlertSeverity, number> = { low: 0, medium: 1, high: 2, critical: 3 };
const KEY_FILE = 'intel-pseudonym-key';

type Log = { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };

/**
 * The intel module's config from the node's. Without `intel.pseudonymKey`
 * the key is generated once into <data-dir>/intel-pseudonym-key (mode 0600):
 * it must outlive restarts, or partners could no longer correlate our reports.
 */
export function intelConfigFor(config: Pick<Config, 'dataDir' | 'organization' | 'intel'>, opts: { createKey?: boolean } = {}): IntelConfig {
  const settings = config.intel;
  if (!(settings.shareMinSeverity in SEVERITY_RANK)) throw intelErrors.INTEL_INVALID_INPUT('intel.shareMinSeverity must be low, medium, high or critical');
  return {
    organizationName: config.organization,
    pseudonymKey: settings.pseudonymKey ?? pseudonymKeyFile(config.dataDir, opts.createKey !== false),
    pseudonymise: settings.pseudonymise !== false,
    defaultTlp: settings.tlp,
  };
}

function pseudonymKeyFile(dataDir: string, create: boolean): string {
  const file = path.join(dataDir, KEY_FILE);
  if (create) {
    try {
      // 'wx' fails if another process created it first; then that one's key wins.
      writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    // A key made up here would give other pseudonyms than the node's, silently.
    throw intelErrors.INTEL_INVALID_INPUT(
      `the node's pseudonym key is not in ${file}; give this command the node's configuration (EVGUARD_INTEL_PSEUDONYM_KEY, or --config / EVGUARD_CONFIG with intel.pseudonymKey)`,
    );
  }
}

/** What the TAXII routes need from the node's token store (src/api/auth.ts). */
export interface TokenCheck {
  authenticate(header: string | undefined): Promise<{ name: string; role: 'admin' | 'operator' | 'auditor' } | undefined>;
}

/**
 * TAXII authentication with the node's bearer tokens. The principal is also
 * put on the request, so the API's audit log names who made a mutating call.
 */
export function taxiiAuth(tokens: TokenCheck): TaxiiAuth {
  return {
    async authenticate(req) {
      const principal = await tokens.authenticate(req.headers.authorization);
      if (!principal) return undefined;
      (req as { principal?: unknown }).principal = principal;
      return { principal: principal.name, role: principal.role };
    },
  };
}

/** The fields of a monitor alert that can be shared; detectors name the source address `remoteAddress` or `lastAddress`. */
export function shareableAlert(alert: {
  id: string; detector: string; severity: string; title: string; description?: string; stationId?: string; createdAt: string; evidence?: Record<string, unknown>;
}): ShareableAlert {
  const e = alert.evidence ?? {};
  const text = (v: unknown) => (typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : undefined);
  const evidence: ShareableAlert['evidence'] = {};
  const put = (key: keyof ShareableAlert['evidence'], value: string | undefined) => {
    if (value !== undefined) evidence[key] = value;
  };
  // Only evidence the mapping knows leaves the node; counters and free text stay home.
  put('remoteAddress', text(e.remoteAddress) ?? text(e.lastAddress));
  put('firmwareSha256', text(e.firmwareSha256));
  put('certificateSerialHex', text(e.certificateSerialHex) ?? text(e.serialHex));
  put('certificateSha256Fingerprint', text(e.certificateSha256Fingerprint));
  put('idToken', text(e.idToken));
  put('malware', text(e.malware));
  put('cve', text(e.cve));
  return {
    id: alert.id, detector: alert.detector, severity: alert.severity as AlertSeverity, title: alert.title,
    description: alert.description, stationId: alert.stationId, createdAt: alert.createdAt, evidence,
  };
}

export interface Sharing {
  /** Shares what is held now, and resolves once every alert raised or changed so far is in the outgoing collection. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/** How often one alert is shared again while it keeps changing; its latest state is what goes out. */
export const RESHARE_EVERY_MS = 10_000;

/**
 * Automatic sharing: every alert the monitor raises at or above
 * `shareMinSeverity` goes into the outgoing collection, one at a time and in
 * order. Changed alerts are shared again, because aggregation can raise the
 * severity over the threshold or add evidence (another address); the
 * deterministic ids make a re-share of what did not change a no-op. An
 * aggregating alert can change with every finding (thousands a minute in a
 * storm), and each share builds and validates a STIX bundle on the event loop,
 * so one alert is shared at most once per `reshareEveryMs`: changes in between
 * are held, and the latest of them goes out when the interval ends (within a
 * tenth of it), or when the node closes or asks for `settled()`.
 */
export function startSharing(deps: { intel: Intel; bus: Bus; settings: IntelSettings; log?: Log; reshareEveryMs?: number; now?: () => number }): Sharing {
  const every = deps.reshareEveryMs ?? RESHARE_EVERY_MS;
  // Monotonic: a wall clock set back would hold changes for as long as it went back.
  const now = deps.now ?? (() => performance.now());
  // Releases fall on a grid of tenths of the interval: at most ten an interval, each walking every held alert.
  const step = every / 10;
  let chain: Promise<void> = Promise.resolve();
  const held = new Map<string, Alert>(); // changed alerts waiting for their interval to end
  const sharedAt = new Map<string, number>(); // when each alert was last shared, while that is within the interval
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Infinity;
  const min = SEVERITY_RANK[deps.settings.shareMinSeverity] ?? SEVERITY_RANK.medium;

  const share = (alert: Alert) => {
    held.delete(alert.id);
    // Deleted first, so the map's order is the order of sharing: `forget` stops at the first recent entry.
    sharedAt.delete(alert.id);
    sharedAt.set(alert.id, now());
    chain = chain
      .then(async () => {
        await deps.intel.share({ alerts: [shareableAlert(alert)] });
      })
      .catch((err) => deps.log?.error({ err, alertId: alert.id }, 'alert not shared'));
  };
  const forget = (t: number) => {
    for (const [id, at] of sharedAt) {
      if (t - at < every) break;
      if (!held.has(id)) sharedAt.delete(id);
    }
  };
  /** A release at the first tick of the grid at or after `dueAt`, unless one is set for that tick or sooner. */
  const releaseBy = (dueAt: number) => {
    const at = Math.ceil(dueAt / step) * step;
    if (timer && timerAt <= at) return;
    if (timer) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(releaseDue, Math.max(0, at - now()) + 1);
    timer.unref();
  };
  function releaseDue() {
    timer = undefined;
    timerAt = Infinity;
    const t = now();
    let next = Infinity;
    for (const [id, alert] of held) {
      const dueAt = (sharedAt.get(id) ?? -Infinity) + every;
      if (t >= dueAt) share(alert);
      else next = Math.min(next, dueAt);
    }
    forget(t);
    // Fired before its time (a timer counts from the loop's cached clock): set again for the same tick.
    if (next < Infinity) releaseBy(next);
  }
  const releaseAll = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    timerAt = Infinity;
    for (const alert of [...held.values()]) share(alert);
  };

  const onAlert = (event: BusEvent<Alert>) => {
    const alert = event.data;
    if (!alert || typeof alert !== 'object' || typeof alert.id !== 'string' || !((SEVERITY_RANK[alert.severity] ?? -1) >= min)) return;
    const t = now();
    forget(t);
    const dueAt = (sharedAt.get(alert.id) ?? -Infinity) + every;
    if (t >= dueAt) {
      share(alert);
    } else {
      held.set(alert.id, alert);
      releaseBy(dueAt);
    }
  };
  const unsubscribe = deps.settings.share ? [deps.bus.subscribe(Topics.alertRaised, onAlert), deps.bus.subscribe(Topics.alertChanged, onAlert)] : [];
  return {
    settled() {
      releaseAll();
      return chain;
    },
    async close() {
      for (const u of unsubscribe) u();
      releaseAll();
      await chain;
    },
  };
}

export interface Enforcement {
  /** For the stations policy's `blockedAddress`: the indicator's label when a received indicator names the address. */
  blockedAddress(remoteAddress: string): string | undefined;
  /** A refusal when any certificate of the chain (DER) is named by a received indicator, by serial or SHA-256 fingerprint. */
  certificate(chainDer: Buffer[], stationId: string): { ok: false; reason: string } | undefined;
  /** After a station connected: a received indicator naming its id becomes a sighting and a security event (not a refusal). */
  stationConnected(stationId: string, remoteAddress?: string): Match | undefined;
  /** Before a firmware campaign ships an image: the matching indicator, if any, also recorded as a sighting. */
  firmwareBlocked(sha256: string, stationId?: string): Match | undefined;
  /** Resolves once the sightings started so far are stored. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Enforcement of received indicators on live traffic. Matching is synchronous
 * (the handshake waits for it); the sighting is written in the background and
 * tracked, so closing the node waits for it instead of losing it.
 */
export function createEnforcement(deps: {
  intel: Intel;
  securityEvent(e: Omit<SecurityEvent, 'timestamp' | 'source' | 'critical'>): void;
  log?: Log;
}): Enforcement {
  const pending = new Set<Promise<unknown>>();
  // A flagged station reconnecting in a loop must not flood the event store: one event per station and indicator a minute.
  const lastEvent = new Map<string, number>();
  const throttled = (key: string) => {
    const now = Date.now();
    if ((lastEvent.get(key) ?? -Infinity) > now - 60_000) return true;
    if (lastEvent.size >= 10_000) lastEvent.clear();
    lastEvent.set(key, now);
    return false;
  };
  const label = (m: Match) => (m.name ? `${m.indicatorId} (${m.name.slice(0, 100)})` : m.indicatorId);
  const sight = (m: Match, observed: ObservedTraffic) => {
    const p = deps.intel
      .recordSighting(m.indicatorId, { ...observed, kind: m.kind })
      .catch((err) => deps.log?.error({ err, indicatorId: m.indicatorId }, 'sighting not recorded'));
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  return {
    blockedAddress(remoteAddress) {
      const m = deps.intel.match({ remoteAddress });
      if (!m) return undefined;
      sight(m, { remoteAddress });
      return label(m);
    },
    certificate(chainDer, stationId) {
      for (const der of chainDer ?? []) {
        let cert: X509Certificate;
        try {
          cert = new X509Certificate(der);
        } catch {
          continue; // unreadable: the trust check that follows refuses it with its own reason
        }
        const observed = { certificateSerialHex: cert.serialNumber, certificateSha256Fingerprint: cert.fingerprint256 };
        const m = deps.intel.match(observed);
        if (m) {
          sight(m, { ...observed, stationId });
          return { ok: false, reason: `certificate matches shared indicator ${label(m)}` };
        }
      }
      return undefined;
    },
    stationConnected(stationId, remoteAddress) {
      const m = deps.intel.match({ stationId });
      if (!m) return undefined;
      sight(m, { stationId, remoteAddress });
      if (!throttled(`${m.indicatorId}|${stationId}`)) deps.securityEvent({ stationId, remoteAddress, type: 'IndicatorSighted', techInfo: `station id matches shared indicator ${label(m)}` });
      return m;
    },
    firmwareBlocked(sha256, stationId) {
      const m = deps.intel.isFirmwareBlocked(sha256);
      if (m) sight(m, { firmwareSha256: sha256, stationId });
      return m;
    },
    async settled() {
      while (pending.size) await Promise.all([...pending]);
    },
    async close() {
      await this.settled();
    },
  };
}

/**
 * Keeps the running node's indicator index in step with the database, where
 * `evguard intel pull` (another process) or another cluster node may import:
 * at once on an `intel.indicators.imported` event, else within `everyMs`.
 */
export function startIndicatorRefresh(intel: Intel, bus: Bus, everyMs: number, log?: Log): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    intel
      .refresh()
      .catch((err) => log?.warn({ err }, 'indicator refresh failed'))
      .finally(() => (running = false));
  }, everyMs);
  timer.unref();
  const unfollow = onChange(bus, 'intel.indicators.imported', () => void intel.reload().catch((err) => log?.warn({ err }, 'indicator reload failed')));
  return () => {
    clearInterval(timer);
    unfollow();
  };
}
