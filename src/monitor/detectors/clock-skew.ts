/**
 * Clock skew: a station whose timestamps lie in the future, or whose live
 * status reports lag far behind, several times in a row. A wrong clock breaks
 * certificate validity checks and billing, and a clock set on purpose hides
 * replays. Past timestamps on queued (offline) transaction messages are
 * normal, so only status notifications count in that direction, and only
 * `samples` consecutive ones.
 */
import { Topics } from '../../bus/events.js';
import { record, text, timeMs } from './fields.js';
import { BoundedMap } from './window.js';
import { withThresholds, type Detector, type Thresholds } from './types.js';

export const clockSkewDefaults = { maxSkewSeconds: 300, samples: 3 };

export function createClockSkewDetector(overrides?: Thresholds): Detector {
  const t = withThresholds(clockSkewDefaults, overrides);
  const streak = new BoundedMap<number>();
  return {
    name: 'clockSkew',
    topics: [Topics.connectorStatus, Topics.transactionChanged, Topics.securityEvent],
    feed(event, now) {
      const d = record(event.data);
      const stationId = text(d, 'stationId', 128) ?? event.stationId;
      const at = timeMs(d, 'timestamp');
      if (!stationId || at === undefined) return [];
      if (event.topic === Topics.securityEvent && d.source === 'csms') return [];
      const skewSeconds = Math.round((at - now.getTime()) / 1000);
      const limit = t.maxSkewSeconds;
      const skewed = skewSeconds > limit || (event.topic === Topics.connectorStatus && skewSeconds < -limit);
      if (!skewed) {
        streak.delete(stationId);
        return [];
      }
      const run = (streak.get(stationId) ?? 0) + 1;
      if (run < t.samples) {
        streak.set(stationId, run);
        return [];
      }
      streak.delete(stationId);
      return [{
        detector: 'clockSkew', severity: 'medium', stationId, key: `clockSkew:${stationId}`,
        title: 'Station clock skew',
        description: `Station ${stationId} reports times ${Math.abs(skewSeconds)} s ${skewSeconds > 0 ? 'ahead of' : 'behind'} the CSMS`,
        evidence: { skewSeconds, samples: run, maxSkewSeconds: limit, lastTopic: event.topic },
      }];
    },
  };
}
