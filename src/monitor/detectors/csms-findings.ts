/**
 * Two findings the CSMS itself makes about a station, which an operator must
 * act on before they become incidents:
 * - certificateExpiry: a certificate the station holds is about to expire
 *   (the trust lifecycle reports CertificateExpiring); an expired station
 *   certificate takes a profile-3 station off the network.
 * - threatIndicator: a station, its address or its certificate matched an
 *   indicator shared by another operator or an ISAC (IndicatorSighted), or a
 *   connection was refused for it (BlockedByIndicator).
 */
import { Topics } from '../../bus/events.js';
import { securityEvent } from './fields.js';
import type { Detector, Thresholds } from './types.js';
import { withThresholds } from './types.js';

export const certificateExpiryDefaults = { highBelowDays: 3 };

export function createCertificateExpiryDetector(overrides?: Thresholds): Detector {
  const t = withThresholds(certificateExpiryDefaults, overrides);
  return {
    name: 'certificateExpiry',
    topics: [Topics.securityEvent],
    feed(event) {
      const e = securityEvent(event.data);
      if (!e || e.source !== 'csms' || e.type !== 'CertificateExpiring' || !e.stationId) return [];
      // techInfo: "<what> <serial> expires <ISO time> (<n> days)"
      const m = /^(.*?)\s+([0-9a-fA-F]+)\s+expires\s+(\S+)\s+\((-?\d+) days\)/.exec(e.techInfo ?? '');
      const days = m ? Number(m[4]) : undefined;
      return [{
        detector: 'certificateExpiry',
        severity: days !== undefined && days < t.highBelowDays ? 'high' : 'medium',
        stationId: e.stationId,
        key: `certificateExpiry:${e.stationId}:${m?.[2] ?? e.techInfo ?? ''}`,
        title: 'Station certificate about to expire',
        description: `Station ${e.stationId}: ${e.techInfo ?? 'a certificate expires soon'}. Renew it (POST /api/v1/stations/${e.stationId}/certificates/renew).`,
        evidence: { certificate: m?.[1], serialHex: m?.[2], notAfter: m?.[3], daysLeft: days },
      }];
    },
  };
}

export const threatIndicatorDefaults = {};

export function createThreatIndicatorDetector(_overrides?: Thresholds): Detector {
  return {
    name: 'threatIndicator',
    topics: [Topics.securityEvent],
    feed(event) {
      const e = securityEvent(event.data);
      if (!e || e.source !== 'csms' || (e.type !== 'IndicatorSighted' && e.type !== 'BlockedByIndicator')) return [];
      const subject = e.stationId ?? e.remoteAddress ?? 'unknown';
      const blocked = e.type === 'BlockedByIndicator';
      return [{
        detector: 'threatIndicator',
        severity: 'high',
        stationId: e.stationId,
        key: `threatIndicator:${e.type}:${subject}`,
        title: blocked ? 'Connection refused: matches a shared threat indicator' : 'Shared threat indicator sighted',
        description: `${e.stationId ? `Station ${e.stationId}` : `Address ${e.remoteAddress}`}: ${e.techInfo ?? e.type}`,
        evidence: { type: e.type, techInfo: e.techInfo, remoteAddress: e.remoteAddress },
        target: blocked ? undefined : { remoteAddress: e.remoteAddress },
      }];
    },
  };
}
