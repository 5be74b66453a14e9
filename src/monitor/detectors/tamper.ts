/**
 * Physical tampering: the station's TamperDetectionActivated event and the
 * vendor events that mean the same (enclosure, door or cover opened, intrusion
 * sensors). A skimmer or a swapped meter starts with an opened cabinet.
 */
import { Topics } from '../../bus/events.js';
import { securityEvent } from './fields.js';
import type { Detector, Thresholds } from './types.js';

export const tamperDefaults = {};
const VENDOR_TAMPER = /tamper|intrusion|(enclosure|door|cover|cabinet|lid|housing)[\w -]{0,12}open/i;

export function createTamperDetector(_overrides?: Thresholds): Detector {
  return {
    name: 'tamper',
    topics: [Topics.securityEvent],
    feed(event) {
      const e = securityEvent(event.data);
      if (!e || e.source !== 'station' || !e.stationId) return [];
      if (e.type !== 'TamperDetectionActivated' && !VENDOR_TAMPER.test(e.type)) return [];
      return [{
        detector: 'tamper', severity: 'critical', stationId: e.stationId, key: `tamper:${e.stationId}`,
        title: 'Physical tampering detected',
        description: `Station ${e.stationId} reported ${e.type}`,
        evidence: { type: e.type, techInfo: e.techInfo },
      }];
    },
  };
}
