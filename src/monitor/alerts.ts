/**
 * Alerts: findings become alerts, findings with the same key aggregate into
 * the open (or acknowledged) alert instead of making a new one, and each alert
 * walks one lifecycle: open → acknowledged → resolved, with who and when.
 */
import { randomUUID } from 'node:crypto';
import { fromJson, toJson, type Database } from '../store/index.js';
import { monitorErrors } from './errors.js';
import type { Finding, Severity } from './detectors/types.js';
import type { Alert, AlertAction, AlertComment, AlertState } from './events.js';


export type { Alert, AlertAction, AlertComment, AlertState } from './events.js';

const RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };
export const SEVERITIES = Object.keys(RANK) as Severity[];
export function severityAtLeast(s: Severity, min: Severity): boolean {
  return RANK[s] >= RANK[min];
}

export const MAX_COMMENT = 2000;

export function createAlertStore(database: Database, now: () => Date) {
  const { db } = database;

  async function get(id: string): Promise<Alert | undefined> {
    if (typeof id !== 'string' || id.length === 0 || id.length > 64) return undefined;
    const row = await db.selectFrom('monitor_alerts').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? hydrate([row]).then((a) => a[0]) : undefined;
  }

  async function hydrate(rows: any[]): Promise<Alert[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id as string);
    const [actions, comments] = await Promise.all([
      db.selectFrom('monitor_actions').selectAll().where('alert_id', 'in', ids).orderBy('at').execute(),
      db.selectFrom('monitor_alert_comments').selectAll().where('alert_id', 'in', ids).orderBy('id').execute(),
    ]);
    return rows.map((r) => ({
      id: r.id,
      detector: r.detector,
      severity: r.severity,
      title: r.title,
      description: r.description ?? undefined,
      stationId: r.station_id ?? undefined,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      count: Number(r.count),
      state: r.state,
      acknowledgedBy: r.acknowledged_by ?? undefined,
      acknowledgedAt: r.acknowledged_at ?? undefined,
      resolvedBy: r.resolved_by ?? undefined,
      resolvedAt: r.resolved_at ?? undefined,
      evidence: fromJson<Record<string, unknown>>(r.evidence) ?? {},
      actions: actions.filter((a) => a.alert_id === r.id).map((a) => ({
        id: a.id, kind: a.kind, at: a.at, outcome: a.outcome, until: a.until ?? undefined,
        ...(a.undone_at ? { undone: true, undoneBy: a.undone_by, undoneAt: a.undone_at } : {}),
      })),
      comments: comments.filter((c) => c.alert_id === r.id).map((c) => ({ by: c.author, text: c.text, at: c.at })),
    }));
  }

  return {
    get,

    /** Opens a new alert or aggregates into the unresolved one with the same key. */
    async raise(f: Finding): Promise<{ alert: Alert; created: boolean }> {
      const at = now().toISOString();
      const existing = await db.selectFrom('monitor_alerts').selectAll().where('dedupe_key', '=', f.key).where('state', '!=', 'resolved').orderBy('created_at', 'desc').executeTakeFirst();
      if (existing) {
        const severity = RANK[f.severity] > RANK[existing.severity as Severity] ? f.severity : existing.severity;
        const evidence = { ...fromJson<Record<string, unknown>>(existing.evidence), ...f.evidence };
        await db.updateTable('monitor_alerts').set({ count: Number(existing.count) + 1, updated_at: at, severity, description: f.description ?? existing.description, evidence: toJson(evidence) }).where('id', '=', existing.id).execute();
        return { alert: (await get(existing.id))!, created: false };
      }
      const id = randomUUID();
      await db.insertInto('monitor_alerts').values({
        id, detector: f.detector, severity: f.severity, title: f.title, description: f.description ?? null, station_id: f.stationId ?? null,
        dedupe_key: f.key, state: 'open', count: 1, created_at: at, updated_at: at, evidence: toJson(f.evidence),
      }).execute();
      return { alert: (await get(id))!, created: true };
    },

    async list(q: { stationId?: string; state?: AlertState; limit: number }): Promise<Alert[]> {
      let query = db.selectFrom('monitor_alerts').selectAll();
      if (q.stationId) query = query.where('station_id', '=', q.stationId);
      if (q.state) query = query.where('state', '=', q.state);
      const rows = await query.orderBy('created_at', 'desc').orderBy('id').limit(q.limit).execute();
      return hydrate(rows);
    },

    async transition(id: string, to: 'acknowledged' | 'resolved', by: string, comment?: string): Promise<Alert> {
      const alert = await get(id);
      if (!alert) throw monitorErrors.MONITOR_ALERT_NOT_FOUND(`No alert with id ${id.slice(0, 64)}`);
      if (alert.state === 'resolved' || alert.state === to) throw monitorErrors.MONITOR_ALERT_STATE(`Alert ${id} is already ${alert.state}`);
      const at = now().toISOString();
      const set = to === 'acknowledged' ? { state: to, acknowledged_by: by, acknowledged_at: at, updated_at: at } : { state: to, resolved_by: by, resolved_at: at, updated_at: at };
      await db.updateTable('monitor_alerts').set(set).where('id', '=', id).where('state', '=', alert.state).execute();
      if (comment) await this.addComment(id, by, comment);
      return (await get(id))!;
    },

    async addComment(id: string, by: string, text: string): Promise<void> {
      const at = now().toISOString();
      await db.insertInto('monitor_alert_comments').values({ alert_id: id, author: by, text: text.slice(0, MAX_COMMENT), at }).execute();
      await db.updateTable('monitor_alerts').set({ updated_at: at }).where('id', '=', id).execute();
    },
  };
}

export type AlertStore = ReturnType<typeof createAlertStore>;
