/**
 * Automatic responses. Policy (which detector answers with what) is config;
 * the mechanism is the core's ResponseActions, the same command path
 * operators use, which also writes the audit log. Every action taken is
 * recorded against its alert and can be undone by an operator. Lock-outs are
 * kept here too, in memory for the synchronous check at the WebSocket upgrade.
 */
import { randomUUID } from 'node:crypto';
import type { Database } from '../store/index.js';
import { monitorErrors, type Alert } from './alerts.js';
import type { Finding } from './detectors/types.js';

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
}

interface Lock { id: string; until: string; reason: string }

/** A lock-out set or lifted on one node, announced so every node's upgrade check enforces it (cluster mode). */
export interface LockoutChange { op: 'set' | 'lift'; stationId?: string; remoteAddress?: string; id?: string; until?: string; reason?: string }

export function createResponder(database: Database, actions: ResponseActions, now: () => Date, log?: { error(o: unknown, m: string): void }, announce: (c: LockoutChange) => void = () => undefined) {
  const { db } = database;
  const locks = new Map<string, Lock>();
  const lockKeys = (t: { stationId?: string; remoteAddress?: string }) => [t.stationId ? `s:${t.stationId}` : '', t.remoteAddress ? `a:${t.remoteAddress}` : ''].filter(Boolean);

  function activeLock(t: { stationId?: string; remoteAddress?: string }): Lock | undefined {
    const nowIso = now().toISOString();
    for (const k of lockKeys(t)) {
      const l = locks.get(k);
      if (!l) continue;
      if (l.until > nowIso) return l;
      locks.delete(k);
    }
    return undefined;
  }

  async function record(a: RecordedAction, outcome: 'ok' | 'failed', error?: string) {
    await db.insertInto('monitor_actions').values({
      id: a.id, alert_id: a.alertId, kind: a.kind, station_id: a.stationId ?? null, remote_address: a.remoteAddress ?? null,
      reason: a.reason, at: a.at, until: a.until ?? null, outcome, error: error ?? null,
    }).execute();
  }

  return {
    /** Loads lock-outs that are still in force, so a restart does not forgive an attacker. */
    async load() {
      const rows = await db.selectFrom('monitor_lockouts').selectAll().where('lifted_at', 'is', null).where('until', '>', now().toISOString()).execute();
      for (const r of rows) for (const k of lockKeys({ stationId: r.station_id ?? undefined, remoteAddress: r.remote_address ?? undefined })) locks.set(k, { id: r.id, until: r.until, reason: r.reason });
    },

    /** Mirrors a lock-out change another node (or this one) announced; input from the bus is checked, not trusted. */
    apply(c: LockoutChange) {
      const ok = (v: unknown, max: number) => v === undefined || (typeof v === 'string' && v.length > 0 && v.length <= max);
      if (!c || typeof c !== 'object' || !ok(c.stationId, 128) || !ok(c.remoteAddress, 64) || (!c.stationId && !c.remoteAddress)) return;
      const target = { stationId: c.stationId, remoteAddress: c.remoteAddress };
      if (c.op === 'lift') {
        for (const k of lockKeys(target)) locks.delete(k);
      } else if (c.op === 'set' && typeof c.until === 'string' && Number.isFinite(Date.parse(c.until)) && ok(c.id, 64) && ok(c.reason, 200)) {
        const lock = { id: c.id ?? '', until: new Date(Date.parse(c.until)).toISOString(), reason: c.reason ?? 'locked out' };
        for (const k of lockKeys(target)) locks.set(k, lock);
      }
    },

    isLockedOut(t: { stationId?: string; remoteAddress?: string }): { until: string; reason: string } | undefined {
      const l = activeLock(t);
      return l ? { until: l.until, reason: l.reason } : undefined;
    },

    async listLockouts(): Promise<{ id: string; stationId?: string; remoteAddress?: string; until: string; reason: string }[]> {
      const rows = await db.selectFrom('monitor_lockouts').selectAll().where('lifted_at', 'is', null).where('until', '>', now().toISOString()).orderBy('until', 'desc').limit(1000).execute();
      return rows.map((r) => ({ id: r.id, stationId: r.station_id ?? undefined, remoteAddress: r.remote_address ?? undefined, until: r.until, reason: r.reason }));
    },

    /** Carries out the configured responses for one finding on its alert. */
    async respond(alert: Alert, f: Finding, kinds: readonly ResponseKind[], lockoutSeconds: number): Promise<void> {
      const at = now().toISOString();
      const reason = `${f.detector}: ${f.title}`.slice(0, 200);
      for (const kind of kinds) {
        if (kind === 'notify') continue;
        let action: RecordedAction;
        if (kind === 'lockOut') {
          const target = f.target;
          if (!target || (!target.stationId && !target.remoteAddress) || activeLock(target)) continue;
          const until = new Date(now().getTime() + lockoutSeconds * 1000).toISOString();
          action = { id: randomUUID(), alertId: alert.id, kind, stationId: target.stationId, remoteAddress: target.remoteAddress, reason, at, until };
        } else {
          if (!f.stationId) continue;
          // A station already quarantined (etc.) for this alert is not acted on again; refusals repeat per attempt.
          if (kind !== 'refuseConnection' && alert.actions.some((a) => a.kind === kind && !a.undone)) continue;
          action = { id: randomUUID(), alertId: alert.id, kind, stationId: f.stationId, reason, at };
        }
        try {
          if (action.kind === 'lockOut') {
            const lock = { id: randomUUID(), until: action.until!, reason };
            await db.insertInto('monitor_lockouts').values({ id: lock.id, station_id: action.stationId ?? null, remote_address: action.remoteAddress ?? null, until: lock.until, reason, action_id: action.id, created_at: at }).execute();
            for (const k of lockKeys(action)) locks.set(k, lock);
            announce({ op: 'set', stationId: action.stationId, remoteAddress: action.remoteAddress, ...lock });
            await actions.lockOut({ stationId: action.stationId, remoteAddress: action.remoteAddress }, lock.until, reason);
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
      const row = typeof actionId === 'string' && actionId.length <= 64 ? await db.selectFrom('monitor_actions').selectAll().where('id', '=', actionId).executeTakeFirst() : undefined;
      if (!row) throw monitorErrors.MONITOR_ACTION_NOT_FOUND(`No automatic action with id ${String(actionId).slice(0, 64)}`);
      if (row.undone_at) throw monitorErrors.MONITOR_ACTION_UNDONE(`Action ${actionId} was undone by ${row.undone_by} at ${row.undone_at}`);
      const at = now().toISOString();
      const action: RecordedAction = { id: row.id, alertId: row.alert_id, kind: row.kind, stationId: row.station_id ?? undefined, remoteAddress: row.remote_address ?? undefined, reason: row.reason, at: row.at, until: row.until ?? undefined };
      if (action.kind === 'lockOut') {
        await db.updateTable('monitor_lockouts').set({ lifted_at: at, lifted_by: by }).where('action_id', '=', action.id).execute();
        for (const k of lockKeys(action)) locks.delete(k);
        announce({ op: 'lift', stationId: action.stationId, remoteAddress: action.remoteAddress });
      }
      await actions.undo?.(action, by);
      await db.updateTable('monitor_actions').set({ undone_at: at, undone_by: by }).where('id', '=', action.id).execute();
      return action.alertId;
    },
  };
}

export type Responder = ReturnType<typeof createResponder>;
