/**
 * What the monitor publishes: an alert, on `alert.raised` when it is created
 * and on `alert.changed` when it aggregates another finding or changes state
 * (src/bus/events.ts maps the topics to this type). Self-contained, so the
 * bus can name it without importing the monitor.
 */

export type Severity = 'low' | 'medium' | 'high' | 'critical';

export type AlertState = 'open' | 'acknowledged' | 'resolved';

export interface AlertAction { id: string; kind: string; at: string; undone?: boolean; undoneBy?: string; undoneAt?: string; outcome: 'ok' | 'failed'; until?: string }
export interface AlertComment { by: string; text: string; at: string }

export interface Alert {
  id: string;
  detector: string;
  severity: Severity;
  title: string;
  description?: string;
  stationId?: string;
  createdAt: string;
  updatedAt: string;
  count: number;
  state: AlertState;
  acknowledgedBy?: string;
  acknowledgedAt?: string;
  resolvedBy?: string;
  resolvedAt?: string;
  evidence: Record<string, unknown>;
  actions: AlertAction[];
  comments: AlertComment[];
}
