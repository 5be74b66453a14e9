/**
 * Critical station events that no other detector covers but an operator must
 * see: a cleared security log (someone covering tracks), memory exhaustion
 * (a denial of service or a leak), and successful maintenance logins (to be
 * matched against field work orders).
 */
import { Topics } from '../../bus/events.js';
import { securityEvent } from './fields.js';
import type { Detector, Severity, Thresholds } from './types.js';

export const criticalEventDefaults = {};
const WATCHED: Record<string, { severity: Severity; title: string }> = {
  SecurityLogWasCleared: { severity: 'high', title: 'Security log cleared on station' },
  MemoryExhaustion: { severity: 'medium', title: 'Station memory exhausted' },
  MaintenanceLoginAccepted: { severity: 'low', title: 'Local maintenance login' },
};

export function createCriticalEventDetector(_overrides?: Thresholds): Detector {
  return {
    name: 'criticalEvent',
    topics: [Topics.securityEvent],
    feed(event) {
      const e = securityEvent(event.data);
      if (!e || e.source !== 'station' || !e.stationId || !Object.hasOwn(WATCHED, e.type)) return [];
      const w = WATCHED[e.type]!;
      return [{
        detector: 'criticalEvent', severity: w.severity, stationId: e.stationId, key: `criticalEvent:${e.type}:${e.stationId}`,
        title: w.title, description: `Station ${e.stationId} reported ${e.type}`, evidence: { type: e.type, techInfo: e.techInfo },
      }];
    },
  };
}
