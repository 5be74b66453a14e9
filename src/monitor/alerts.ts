/**
 * Alerts: findings become alerts, findings with the same key aggregate into
 * the open (or acknowledged) alert instead of making a new one, and each alert
 * walks one lifecycle: open → acknowledged → resolved, with who and when.
 */
import { randomUUID } from 'node:crypto';
import { fromJson, toJson } from '../store/index.js';
import { monitorErrors } from './errors.js';
import type { Finding, Severity } from './detectors/types.js';
import type { AlertRow, MonitorStore } from './store.js';
import type { Alert, AlertAction, AlertComment, AlertState } from './events.js';


export type { Alert, AlertAction, AlertComment, AlertState } from './events.js';

const RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };
export const SEVERITIES = Object.keys(RANK) as Severity[];
export function severityAtLeast(s: Severity, min: Severity): boolean {
  return RANK[s] >= RANK[min];
}

export const MAX_COMMENT = 2000;

export function createAlertStore(store: MonitorStore, now: () => Date) {

  async function get(id: string): Promise<Alert | undefined> {
    if (typeof id !== 'string' || id.length === 0 || id.length > 64) return undefined;
    const row = await store.alerts.get(id);
    return row ? hydrate([row]).then((a) => a[0]) : undefined;
  }

  async function hydrate(rows: AlertRow[]): Promise<Alert[]> {
    if (rows.length === 0) return [];
    const { actions, comments } = await store.alerts.details(rows.map((r) => r.id));
    return rows.map((r) => ({
      id: r.id,
      detector: r.detector,
      severity: r.severity as Severity,
      title: r.title,
      description: r.description ?? undefined,
      stationId: r.station_id ?? undefined,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      count: Number(r.count),
      state: r.state as AlertState,
      acknowledgedBy: r.acknowledged_by ?? undefined,
      acknowledgedAt: r.acknowledged_at ?? undefined,
      resolvedBy: r.resolved_by ?? undefined,
      resolvedAt: r.resolved_at ?? undefined,
      evidence: fromJson<Record<string, unknown>>(r.evidence) ?? {},
      actions: actions.filter((a) => a.alert_id === r.id).map((a) => ({
        id: a.id, kind: a.kind, at: a.at, outcome: a.outcome as AlertAction['outcome'], until: a.until ?? undefined,
        ...(a.undone_at ? { undone: true, undoneBy: a.undone_by as string, undoneAt: a.undone_at } : {}),
      })),
      comments: comments.filter((c) => c.alert_id === r.id).map((c) => ({ by: c.author, text: c.text, at: c.at })),
    }));
  }

  return {
    get,

    /** Opens a new alert or aggregates into the unresolved one with the same key. */
    async raise(f: Finding): Promise<{ alert: Alert; created: boolean }> {
      const at = now().toISOString();
      const existing = await store.alerts.unresolvedByKey(f.key);
      if (existing) {
        const severity = RANK[f.severity] > RANK[existing.severity as Severity] ? f.severity : existing.severity;
        const evidence = { ...fromJson<Record<string, unknown>>(existing.evidence), ...f.evidence };
        await store.alerts.update(existing.id, { count: Number(existing.count) + 1, updated_at: at, severity, description: f.description ?? existing.description, evidence: toJson(evidence) });
        return { alert: (await get(existing.id))!, created: false };
      }
      const id = randomUUID();
      await store.alerts.insert({
        id, detector: f.detector, severity: f.severity, title: f.title, description: f.description ?? null, station_id: f.stationId ?? null,
        dedupe_key: f.key, state: 'open', count: 1, created_at: at, updated_at: at, evidence: toJson(f.evidence),
      });
      return { alert: (await get(id))!, created: true };
    },

    async list(q: { stationId?: string; state?: AlertState; limit: number }): Promise<Alert[]> {
      return hydrate(await store.alerts.list(q));
    },

    async transition(id: string, to: 'acknowledged' | 'resolved', by: string, comment?: string): Promise<Alert> {
      const alert = await get(id);
      if (!alert) throw monitorErrors.MONITOR_ALERT_NOT_FOUND(`No alert with id ${id.slice(0, 64)}`);
      if (alert.state === 'resolved' || alert.state === to) throw monitorErrors.MONITOR_ALERT_STATE(`Alert ${id} is already ${alert.state}`);
      const at = now().toISOString();
      const set = to === 'acknowledged' ? { state: to, acknowledged_by: by, acknowledged_at: at, updated_at: at } : { state: to, resolved_by: by, resolved_at: at, updated_at: at };
      await store.alerts.transition(id, alert.state, set);
      if (comment) await this.addComment(id, by, comment);
      return (await get(id))!;
    },

    async addComment(id: string, by: string, text: string): Promise<void> {
      const at = now().toISOString();
      await store.alerts.addComment({ alert_id: id, author: by, text: text.slice(0, MAX_COMMENT), at });
      await store.alerts.update(id, { updated_at: at });
    },
  };
}

export type AlertStore = ReturnType<typeof createAlertStore>;
