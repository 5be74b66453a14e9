/**
 * The append-only audit log: every mutating API call and every automatic
 * action, with who, what, on what, and the outcome.
 */
import { randomUUID } from 'node:crypto';
import type { Database } from '../store/index.js';
import { toJson } from '../store/index.js';

export interface AuditEntry {
  actor: string;
  role: string;
  action: string;
  target?: string;
  outcome: 'ok' | 'refused' | 'failed';
  details?: Record<string, unknown>;
  sourceAddress?: string;
}

export function createAuditLog({ db }: Database) {
  return {
    async append(e: AuditEntry): Promise<string> {
      const id = randomUUID();
      await db
        .insertInto('audit_log')
        .values({
          id,
          at: new Date().toISOString(),
          actor: e.actor,
          role: e.role,
          action: e.action,
          target: e.target ?? null,
          outcome: e.outcome,
          details: toJson(e.details ?? {}),
          source_address: e.sourceAddress ?? null,
        })
        .execute();
      return id;
    },
    async list(q: { since?: string; actor?: string; limit?: number } = {}) {
      let query = db.selectFrom('audit_log').selectAll();
      if (q.since) query = query.where('at', '>=', q.since);
      if (q.actor) query = query.where('actor', '=', q.actor);
      const rows = await query.orderBy('at', 'desc').limit(Math.min(q.limit ?? 200, 1000)).execute();
      return rows.map((r: any) => ({
        id: r.id,
        at: r.at,
        actor: r.actor,
        role: r.role,
        action: r.action,
        target: r.target ?? undefined,
        outcome: r.outcome,
        details: JSON.parse(r.details),
        sourceAddress: r.source_address ?? undefined,
      }));
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
