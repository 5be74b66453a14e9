/**
 * Reboot storms: a station booting again and again. Crashing firmware, a
 * watchdog fighting malware, or someone power-cycling a station to reach its
 * boot-time interfaces all look like this.
 */
import { Topics } from '../../bus/events.js';
import { record, text } from './fields.js';
import { EventWindow } from './window.js';
import { withThresholds, type Detector, type Thresholds } from './types.js';

export const rebootStormDefaults = { boots: 5, windowSeconds: 3600 };

export function createRebootStormDetector(overrides?: Thresholds): Detector {
  const t = withThresholds(rebootStormDefaults, overrides);
  const windows = new EventWindow();
  return {
    name: 'rebootStorm',
    topics: [Topics.stationBooted],
    feed(event, now) {
      const d = record(event.data);
      const stationId = text(d, 'stationId', 128);
      if (!stationId) return [];
      const count = windows.hit(stationId, now.getTime(), t.windowSeconds * 1000);
      if (count < t.boots) return [];
      windows.clear(stationId);
      return [{
        detector: 'rebootStorm', severity: 'medium', stationId, key: `rebootStorm:${stationId}`,
        title: 'Reboot storm', description: `Station ${stationId} booted ${count} times within ${t.windowSeconds} s`,
        evidence: { boots: count, windowSeconds: t.windowSeconds, lastReason: text(d, 'reason', 64), firmwareVersion: text(d, 'firmwareVersion', 64) },
      }];
    },
  };
}
