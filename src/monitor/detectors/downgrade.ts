/**
 * Security profile downgrade: a station connecting with a weaker security
 * profile than it has used before (e.g. basic auth over plain ws after TLS
 * with client certificates), or the transport refusing such an attempt.
 */
import { Topics } from '../../bus/events.js';
import { num, record, securityEvent, text } from './fields.js';
import { BoundedMap } from './window.js';
import type { Detector, Finding, Thresholds } from './types.js';

export const downgradeDefaults = {};

export function createDowngradeDetector(_overrides?: Thresholds): Detector {
  const highest = new BoundedMap<number>();
  const finding = (stationId: string, evidence: Record<string, unknown>, remoteAddress?: string): Finding => ({
    detector: 'downgrade', severity: 'high', stationId, key: `downgrade:${stationId}`,
    title: 'Security profile downgrade attempt',
    description: `Station ${stationId} connected, or tried to, with a weaker security profile than before`,
    evidence, target: remoteAddress ? { remoteAddress } : undefined,
  });
  return {
    name: 'downgrade',
    topics: [Topics.stationConnected, Topics.securityEvent],
    feed(event) {
      if (event.topic === Topics.securityEvent) {
        const e = securityEvent(event.data);
        if (e?.source === 'csms' && e.type === 'SecurityProfileDowngrade' && e.stationId) {
          return [finding(e.stationId, { remoteAddress: e.remoteAddress, techInfo: e.techInfo }, e.remoteAddress)];
        }
        return [];
      }
      const d = record(event.data);
      const stationId = text(d, 'stationId', 128);
      const profile = num(d, 'securityProfile');
      if (!stationId || profile === undefined) return [];
      const best = highest.get(stationId);
      if (best !== undefined && profile < best) {
        const remoteAddress = text(d, 'remoteAddress', 64);
        return [finding(stationId, { previousProfile: best, securityProfile: profile, remoteAddress }, remoteAddress)];
      }
      highest.set(stationId, profile);
      return [];
    },
  };
}
