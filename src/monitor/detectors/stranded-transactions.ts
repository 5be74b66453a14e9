/**
 * Stranded transactions piling up on a station: starts refused by
 * authorization and transactions left open when a new one started on the
 * same connector. One now and then is a driver with a bad card or a lost
 * stop; many in a short time are a station stuck in a start loop, a tag
 * being tried, or a station that never reports its ends — each of which
 * leaves billing and the grid with sessions nobody can settle.
 */
import { Topics } from '../../bus/events.js';
import { record, text } from './fields.js';
import { BoundedMap, EventWindow } from './window.js';
import { withThresholds, type Detector, type Thresholds } from './types.js';

export const strandedTransactionsDefaults = { count: 5, windowSeconds: 3600 };

export function createStrandedTransactionsDetector(overrides?: Thresholds): Detector {
  const t = withThresholds(strandedTransactionsDefaults, overrides);
  const windows = new EventWindow();
  /** Transactions already counted: a refused one keeps reporting state Refused. */
  const counted = new BoundedMap<true>();
  const recent = new BoundedMap<string[]>();
  return {
    name: 'strandedTransactions',
    topics: [Topics.transactionChanged],
    feed(event, now) {
      const d = record(event.data);
      const stationId = text(d, 'stationId', 128);
      const transactionId = text(d, 'transactionId', 128);
      const flags = Array.isArray(d.flags) ? d.flags : [];
      const how = d.state === 'Refused' ? 'refused' : flags.includes('abandoned') ? 'abandoned' : undefined;
      if (!stationId || !transactionId || !how) return [];
      const key = `${stationId}\u0000${transactionId}\u0000${how}`;
      if (counted.get(key)) return [];
      counted.set(key, true);
      recent.set(stationId, [...(recent.get(stationId) ?? []).slice(-9), `${transactionId} (${how})`]);
      const count = windows.hit(stationId, now.getTime(), t.windowSeconds * 1000);
      if (count < t.count) return [];
      windows.clear(stationId);
      return [{
        detector: 'strandedTransactions', severity: 'medium', stationId, key: `strandedTransactions:${stationId}`,
        title: 'Refused and abandoned transactions piling up',
        description: `Station ${stationId} left ${count} transactions refused or abandoned within ${t.windowSeconds} s`,
        evidence: { transactions: count, windowSeconds: t.windowSeconds, latest: recent.get(stationId) },
      }];
    },
  };
}
