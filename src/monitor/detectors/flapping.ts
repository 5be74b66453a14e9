/**
 * Flapping connections: a station connecting over and over. Besides broken
 * networks this is how two devices sharing one identity, or a client probing
 * the handshake, show up.
 */
import { Topics } from '../../bus/events.js';
import { record, text } from './fields.js';
import { EventWindow } from './window.js';
import { withThresholds, type Detector, type Thresholds } from './types.js';

export const flappingDefaults = { connects: 10, windowSeconds: 600 };

export function createFlappingDetector(overrides?: Thresholds): Detector {
  const t = withThresholds(flappingDefaults, overrides);
  const windows = new EventWindow();
  return {
    name: 'flapping',
    topics: [Topics.stationConnected],
    feed(event, now) {
      const d = record(event.data);
      const stationId = text(d, 'stationId', 128);
      if (!stationId) return [];
      const count = windows.hit(stationId, now.getTime(), t.windowSeconds * 1000);
      if (count < t.connects) return [];
      windows.clear(stationId);
      return [{
        detector: 'flapping', severity: 'medium', stationId, key: `flapping:${stationId}`,
        title: 'Flapping connection', description: `Station ${stationId} connected ${count} times within ${t.windowSeconds} s`,
        evidence: { connects: count, windowSeconds: t.windowSeconds, lastAddress: text(d, 'remoteAddress', 64) },
      }];
    },
  };
}
