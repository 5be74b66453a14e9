/** Defensive readers for bus payloads: a detector never trusts a payload's shape. */
import { canonicalEventType } from '../catalog.js';

export function record(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

export function text(o: Record<string, unknown>, k: string, max = 500): string | undefined {
  const v = o[k];
  return typeof v === 'string' && v.length > 0 ? v.slice(0, max) : undefined;
}

export function num(o: Record<string, unknown>, k: string): number | undefined {
  const v = o[k];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function timeMs(o: Record<string, unknown>, k: string): number | undefined {
  const s = text(o, k, 64);
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : undefined;
}

export interface SecurityEventView {
  type: string;
  source: 'station' | 'csms';
  stationId?: string;
  remoteAddress?: string;
  techInfo?: string;
  timestamp?: number;
  /** Occurrences the event stands for, at least 1. */
  occurrences: number;
}

/** Reads a `security.event` payload, with 1.6 type names mapped to their 2.x names. */
export function securityEvent(data: unknown): SecurityEventView | undefined {
  const o = record(data);
  const type = text(o, 'type', 50);
  if (!type) return undefined;
  return {
    type: canonicalEventType(type),
    source: o.source === 'csms' ? 'csms' : 'station',
    stationId: text(o, 'stationId', 128),
    remoteAddress: text(o, 'remoteAddress', 64),
    techInfo: text(o, 'techInfo', 500),
    timestamp: timeMs(o, 'timestamp'),
    occurrences: typeof o.occurrences === 'number' && Number.isSafeInteger(o.occurrences) && o.occurrences > 1 ? o.occurrences : 1,
  };
}
