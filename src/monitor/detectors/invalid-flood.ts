/**
 * Floods of malformed or invalid messages: frames the transport rejected
 * (bad JSON, schema violations, rate limiting) and the station's own
 * InvalidMessages reports, counted per station or, before authentication, per
 * source address. A fuzzer or a compromised station looks like this.
 */
import { Topics } from '../../bus/events.js';
import { securityEvent } from './fields.js';
import { EventWindow } from './window.js';
import { withThresholds, type Detector, type Thresholds } from './types.js';

export const invalidFloodDefaults = { count: 20, windowSeconds: 60 };
const COUNTED = new Set(['InvalidMessage', 'RateLimited', 'InvalidMessages']);

export function createInvalidFloodDetector(overrides?: Thresholds): Detector {
  const t = withThresholds(invalidFloodDefaults, overrides);
  const windows = new EventWindow();
  return {
    name: 'invalidFlood',
    topics: [Topics.securityEvent],
    feed(event, now) {
      const e = securityEvent(event.data);
      if (!e || !COUNTED.has(e.type)) return [];
      const subject = e.stationId ? `station:${e.stationId}` : e.remoteAddress ? `address:${e.remoteAddress}` : undefined;
      if (!subject) return [];
      const count = windows.hit(subject, now.getTime(), t.windowSeconds * 1000, e.occurrences);
      if (count < t.count) return [];
      windows.clear(subject);
      return [{
        detector: 'invalidFlood', severity: 'medium', stationId: e.stationId, key: `invalidFlood:${subject}`,
        title: 'Flood of invalid messages',
        description: `${count} invalid or rate-limited messages from ${subject} within ${t.windowSeconds} s`,
        evidence: { messages: count, windowSeconds: t.windowSeconds, lastType: e.type, lastTechInfo: e.techInfo, remoteAddress: e.remoteAddress },
        target: e.stationId ? { stationId: e.stationId } : { remoteAddress: e.remoteAddress },
      }];
    },
  };
}
