/**
 * The append-only audit log: every mutating API call and every automatic
 * action, with who, what, on what, and the outcome.
 */
import { randomUUID } from 'node:crypto';
import type { Database } from '../store/index.js';
import { toJson } from '../store/index.js';
import { createApiStore } from './store.js';

export interface AuditEntry {
  actor: string;
  role: string;
  action: string;
  target?: string;
  outcome: 'ok' | 'refused' | 'failed';
  details?: Record<string, unknown>;
  sourceAddress?: string;
}

export function createAuditLog(database: Database) {
  const { audit } = createApiStore(database);
  return {
    async append(e: AuditEntry): Promise<string> {
      const id = randomUUID();
      await audit.append({
        id,
        at: new Date().toISOString(),
        actor: e.actor,
        role: e.role,
        action: e.action,
        target: e.target ?? null,
        outcome: e.outcome,
        details: toJson(e.details ?? {}),
        source_address: e.sourceAddress ?? null,
      });
      return id;
    },
    async list(q: { since?: string; actor?: string; limit?: number } = {}) {
      const rows = await audit.list({ since: q.since, actor: q.actor, limit: Math.min(q.limit ?? 200, 1000) });
      return rows.map((r) => ({
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
    /** When `action` on `target` last succeeded, or undefined if never. */
    lastOk: (target: string, action: string): Promise<string | undefined> => audit.lastOk(target, action),
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
