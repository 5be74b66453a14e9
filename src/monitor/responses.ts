/**
 * Automatic responses. Policy (which detector answers with what) is config;
 * the mechanism is the core's ResponseActions, the same command path
 * operators use, which also writes the audit log. Every action taken is
 * recorded against its alert and can be undone by an operator. Lock-outs are
 * kept here too: in PostgreSQL/SQLite (the truth every node shares) and in
 * memory for the synchronous check at the WebSocket upgrade, a copy that
 * follows `monitor.lockout` events and is re-read from the store every
 * STALE_BOUND_MS.
 *
 * A lock-out has a scope: a (station, address) pair, an address, or a
 * station. Refusing locks (`refuse`) answer 429 at the upgrade; a station lock
 * set by the brute-force detector only slows attempts down (`slow`).
 */
import { randomUUID } from 'node:crypto';
import type { Alert } from './alerts.js';
import { monitorErrors } from './errors.js';
import type { Finding } from './detectors/types.js';
import type { LockoutChanged } from '../bus/changes.js';
import type { MonitorStore } from './store.js';
import type { CommandsFor } from '../model/commands.js';
import type { OcppVersion } from '../model/ocpp-version.js';

export const RESPONSE_KINDS = ['refuseConnection', 'lockOut', 'quarantine', 'setUnavailable', 'revokeCertificate', 'notify'] as const;
export type ResponseKind = (typeof RESPONSE_KINDS)[number];

/** What detectors may ask the node to do; the core implements it and writes the audit log. */
export interface ResponseActions {
  lockOut(target: { stationId?: string; remoteAddress?: string }, untilIso: string, reason: string): Promise<void>;
  quarantine(stationId: string, reason: string): Promise<void>;
  setUnavailable(stationId: string, reason: string): Promise<void>;
  revokeCertificate(stationId: string, reason: string): Promise<void>;
  disconnect(stationId: string, reason: string): Promise<void>;
  /** Reverses an automatic action (release quarantine, set Available, reinstate). Lock-outs are lifted by the monitor itself first. */
  undo?(action: RecordedAction, by: string): Promise<void>;
}

export interface RecordedAction {
  id: string;
  alertId: string;
  kind: Exclude<ResponseKind, 'notify'>;
  stationId?: string;
  remoteAddress?: string;
  reason: string;
  at: string;
  until?: string;
  /** Lock-outs: refuse (429) or slow down. */
  mode?: 'refuse' | 'slow';
}

/** The order responses run in: what is sent to the station first, then what ends its session. */
const SESSION_ORDER: readonly ResponseKind[] = ['notify', 'setUnavailable', 'lockOut', 'revokeCertificate', 'quarantine', 'refuseConnection'];

export type LockScope = 'pair' | 'address' | 'station';
export type LockMode = 'refuse' | 'slow';
interface Lock { id: string; until: string; reason: string; scope: LockScope; mode: LockMode }
export interface LockoutRow { id: string; stationId?: string; remoteAddress?: string; until: string; reason: string; mode: LockMode }
/** What the upgrade check learns about a lock in force. */
export interface LockView { until: string; reason: string; scope: LockScope; mode: LockMode }

type Target = { stationId?: string; remoteAddress?: string };
const scopeOf = (t: Target): LockScope | undefined => (t.stationId && t.remoteAddress ? 'pair' : t.remoteAddress ? 'address' : t.stationId ? 'station' : undefined);
/** One key per lock: the pair, the address, or the station it names. */
const keyOf = (t: Target): string => (t.stationId && t.remoteAddress ? `p:${t.stationId}\u0000${t.remoteAddress}` : t.remoteAddress ? `a:${t.remoteAddress}` : `s:${t.stationId}`);
const modeOf = (v: unknown): LockMode => (v === 'slow' ? 'slow' : 'refuse');

export function createResponder(store: MonitorStore, actions: ResponseActions, now: () => Date, log?: { error(o: unknown, m: string): void }, announce: (c: LockoutChanged) => void = () => undefined) {
  let locks = new Map<string, Lock>();

  function active(key: string): Lock | undefined {
    const l = locks.get(key);
    if (!l) return undefined;
    if (l.until > now().toISOString()) return l;
    locks.delete(key);
    return undefined;
  }
  const view = (l: Lock | undefined): LockView | undefined => (l ? { until: l.until, reason: l.reason, scope: l.scope, mode: l.mode } : undefined);

  async function readActive(): Promise<Map<string, Lock>> {
    const rows = await store.lockouts.active(now().toISOString());
    const out = new Map<string, Lock>();
    for (const r of rows) {
      const t = { stationId: r.station_id ?? undefined, remoteAddress: r.remote_address ?? undefined };
      const scope = scopeOf(t);
      if (scope) out.set(keyOf(t), { id: r.id, until: r.until, reason: r.reason, scope, mode: modeOf(r.mode) });
    }
    return out;
  }

  async function record(a: RecordedAction, outcome: 'ok' | 'failed', error?: string) {
    await store.actions.insert({
      id: a.id, alert_id: a.alertId, kind: a.kind, station_id: a.stationId ?? null, remote_address: a.remoteAddress ?? null,
      reason: a.reason, at: a.at, until: a.until ?? null, outcome, error: error ?? null,
    });
  }

  return {
    /**
     * Replaces the in-memory copy with the lock-outs in force in the store: at
     * start (a restart does not forgive an attacker), and every
     * STALE_BOUND_MS (a node that missed a `monitor.lockout` event catches up).
     */
    async reload() {
      locks = await readActive();
    },

    /** Mirrors a lock-out change another node (or this one) announced; input from the bus is checked, not trusted. */
    apply(c: Partial<LockoutChanged>) {
      const ok = (v: unknown, max: number) => v === undefined || (typeof v === 'string' && v.length > 0 && v.length <= max);
      if (!c || typeof c !== 'object' || !ok(c.stationId, 128) || !ok(c.remoteAddress, 64)) return;
      const target = { stationId: c.stationId, remoteAddress: c.remoteAddress };
      const scope = scopeOf(target);
      if (!scope) return;
      if (c.op === 'lift') {
        locks.delete(keyOf(target));
      } else if (c.op === 'set' && typeof c.until === 'string' && Number.isFinite(Date.parse(c.until)) && ok(c.id, 64) && ok(c.reason, 200)) {
        locks.set(keyOf(target), { id: c.id ?? '', until: new Date(Date.parse(c.until)).toISOString(), reason: c.reason ?? 'locked out', scope, mode: modeOf(c.mode) });
      }
    },

    /**
     * The refusing lock-out that applies to an attempt for this station from
     * this address, if any: the pair's, the address's, or (set by an
     * operator, or before locks had scopes) the station's. The caller decides
     * whether an address lock-out spares a station known at that address.
     */
    isLockedOut(t: Target): LockView | undefined {
      const keys = [t.stationId && t.remoteAddress ? keyOf(t) : '', t.remoteAddress ? keyOf({ remoteAddress: t.remoteAddress }) : '', t.stationId ? keyOf({ stationId: t.stationId }) : ''];
      for (const k of keys) {
        const l = k ? active(k) : undefined;
        if (l && l.mode === 'refuse') return view(l);
      }
      return undefined;
    },

    /** A distributed guesser's slow-down in force for this station. */
    slowedDown(stationId: string): LockView | undefined {
      const l = active(keyOf({ stationId }));
      return l?.mode === 'slow' ? view(l) : undefined;
    },

    async listLockouts(): Promise<LockoutRow[]> {
      const rows = await store.lockouts.active(now().toISOString(), 1000);
      return rows.map((r) => ({ id: r.id, stationId: r.station_id ?? undefined, remoteAddress: r.remote_address ?? undefined, until: r.until, reason: r.reason, mode: modeOf(r.mode) }));
    },

    /** Carries out the configured responses for one finding on its alert. */
    async respond(alert: Alert, f: Finding, kinds: readonly ResponseKind[], lockoutSeconds: number): Promise<void> {
      const at = now().toISOString();
      const reason = `${f.detector}: ${f.title}`.slice(0, 200);
      // Actions that need the station's live session go before those that end it (a quarantine closes the session).
      for (const kind of [...kinds].sort((a, b) => SESSION_ORDER.indexOf(a) - SESSION_ORDER.indexOf(b))) {
        if (kind === 'notify') continue;
        let action: RecordedAction;
        if (kind === 'lockOut') {
          const target = f.target;
          if (!target || !scopeOf(target) || active(keyOf(target))) continue;
          const until = new Date(now().getTime() + lockoutSeconds * 1000).toISOString();
          action = { id: randomUUID(), alertId: alert.id, kind, stationId: target.stationId, remoteAddress: target.remoteAddress, reason, at, until, mode: modeOf(target.mode) };
        } else {
          if (!f.stationId) continue;
          // A station already quarantined (etc.) for this alert is not acted on again; refusals repeat per attempt.
          if (kind !== 'refuseConnection' && alert.actions.some((a) => a.kind === kind && !a.undone)) continue;
          action = { id: randomUUID(), alertId: alert.id, kind, stationId: f.stationId, reason, at };
        }
        try {
          if (action.kind === 'lockOut') {
            const mode = action.mode ?? 'refuse';
            const lock: Lock = { id: randomUUID(), until: action.until!, reason, scope: scopeOf(action)!, mode };
            await store.lockouts.insert({ id: lock.id, station_id: action.stationId ?? null, remote_address: action.remoteAddress ?? null, until: lock.until, reason, action_id: action.id, created_at: at, mode });
            locks.set(keyOf(action), lock);
            announce({ op: 'set', stationId: action.stationId, remoteAddress: action.remoteAddress, id: lock.id, until: lock.until, reason, mode });
            await actions.lockOut({ stationId: action.stationId, remoteAddress: action.remoteAddress }, lock.until, mode === 'slow' ? `${reason} (slow-down)` : reason);
          } else if (action.kind === 'refuseConnection') await actions.disconnect(action.stationId!, reason);
          else if (action.kind === 'quarantine') await actions.quarantine(action.stationId!, reason);
          else if (action.kind === 'setUnavailable') await actions.setUnavailable(action.stationId!, reason);
          else await actions.revokeCertificate(action.stationId!, reason);
          await record(action, 'ok');
        } catch (err) {
          log?.error({ err, kind }, 'automatic response failed');
          await record(action, 'failed', err instanceof Error ? err.message.slice(0, 500) : 'failed');
        }
      }
    },

    /** Undoes one automatic action; returns the alert id it belonged to. */
    async undo(actionId: string, by: string): Promise<string> {
      const row = typeof actionId === 'string' && actionId.length <= 64 ? await store.actions.get(actionId) : undefined;
      if (!row) throw monitorErrors.MONITOR_ACTION_NOT_FOUND(`No automatic action with id ${String(actionId).slice(0, 64)}`);
      if (row.undone_at) throw monitorErrors.MONITOR_ACTION_UNDONE(`Action ${actionId} was undone by ${row.undone_by} at ${row.undone_at}`);
      const at = now().toISOString();
      const action: RecordedAction = { id: row.id, alertId: row.alert_id, kind: row.kind as RecordedAction['kind'], stationId: row.station_id ?? undefined, remoteAddress: row.remote_address ?? undefined, reason: row.reason, at: row.at, until: row.until ?? undefined };
      if (action.kind === 'lockOut') {
        await store.lockouts.liftFor(action.id, at, by);
        locks.delete(keyOf(action));
        announce({ op: 'lift', stationId: action.stationId, remoteAddress: action.remoteAddress });
      }
      await actions.undo?.(action, by);
      await store.actions.markUndone(action.id, at, by);
      return action.alertId;
    },
  };
}

export type Responder = ReturnType<typeof createResponder>;

/** What the station actions need from the node: the commands port, sessions, the registry, trust and the audit log. */
export interface StationActionDeps {
  /** The version adapters over the call path that reaches a station on any node. */
  commands: CommandsFor;
  /** OCPP version of the session this node holds for the station, if any. */
  liveVersion(stationId: string): OcppVersion | undefined;
  /** Cluster mode: the version the registry last saw, for a station another node may hold. */
  registeredVersion?(stationId: string): Promise<OcppVersion | undefined>;
  setQuarantined(stationId: string, quarantined: boolean): Promise<unknown>;
  /** Revokes every certificate issued to the station that is not revoked yet. */
  revokeCertificates(stationId: string, reason: string): Promise<void>;
  /** Closes the station's session on whichever node holds it. */
  disconnect(stationId: string, code: number, reason: string): Promise<unknown>;
  audit(entry: { actor: string; role: string; action: string; target: string; outcome: 'ok'; details: Record<string, unknown> }): Promise<unknown>;
}

/**
 * The node's side of the automatic responses: each action through the same
 * paths operators use, each written to the audit log as the monitor's, and
 * each (but a lock-out, which the monitor lifts itself) undone on request.
 */
export function createStationActions(deps: StationActionDeps): Required<ResponseActions> {
  const automatic = (action: string, target: string, details: Record<string, unknown>) =>
    deps.audit({ actor: 'monitor', role: 'system', action, target, outcome: 'ok', details });
  return {
    async lockOut(target, until, reason) {
      await automatic('lock-out', target.stationId ?? target.remoteAddress ?? '', { until, reason });
    },
    async quarantine(stationId, reason) {
      await deps.setQuarantined(stationId, true);
      await automatic('quarantine', stationId, { reason });
    },
    async setUnavailable(stationId, reason) {
      const version = deps.liveVersion(stationId) ?? (await deps.registeredVersion?.(stationId).catch(() => undefined));
      if (version) await deps.commands(version).setAvailability(stationId, 'Inoperative').catch(() => undefined);
      await automatic('set-unavailable', stationId, { reason });
    },
    async revokeCertificate(stationId, reason) {
      await deps.revokeCertificates(stationId, reason);
      await automatic('revoke-certificate', stationId, { reason });
    },
    async disconnect(stationId, reason) {
      await deps.disconnect(stationId, 1008, reason);
      await automatic('disconnect', stationId, { reason });
    },
    /** An operator reverses an automatic action; the monitor has already lifted a lock-out itself. */
    async undo(a, by) {
      const stationId = a.stationId ?? '';
      const details: Record<string, unknown> = { actionId: a.id, alertId: a.alertId, reason: a.reason };
      const version = deps.liveVersion(stationId);
      if (a.kind === 'quarantine') await deps.setQuarantined(stationId, false);
      else if (a.kind === 'setUnavailable') {
        if (version) details.stationAnswer = await deps.commands(version).setAvailability(stationId, 'Operative');
        else details.pending = 'station offline; set it Operative when it is back';
      } else if (a.kind === 'revokeCertificate') {
        // A revocation is final (RFC 5280); reinstating means a fresh certificate, so ask the station for a new CSR.
        if (version) details.stationAnswer = await deps.commands(version).requestCsr(stationId, 'ChargingStationCertificate');
        else details.pending = 'station offline; it needs a new certificate';
      }
      await deps.audit({ actor: by, role: 'operator', action: `undo-${a.kind}`, target: stationId || a.remoteAddress || '', outcome: 'ok', details });
    },
  };
}
