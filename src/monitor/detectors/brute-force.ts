/**
 * Password brute force, counted so that a lock-out hits the attacker and not
 * the station it attacks:
 *   - per (station, source address): someone guessing one station's password
 *     from one place. Locks out that pair only; the real station arriving from
 *     anywhere else still gets in with its right password.
 *   - per source address, over any stations: one host trying many stations or
 *     enumerating ids. Locks out the address, except for stations that have
 *     authenticated from it before (stations behind the same NAT or cellular
 *     gateway keep working; see the stations policy).
 *   - per station, over any addresses: a distributed guesser. Never refuses:
 *     attempts for the station from addresses it has not authenticated from
 *     are answered more slowly for the lock-out's duration, and an alert is raised.
 * Plus repeated failed logins to a station's local maintenance interface.
 */
import { Topics } from '../../bus/events.js';
import { securityEvent } from './fields.js';
import { EventWindow } from './window.js';
import { withThresholds, type Detector, type Finding, type Thresholds } from './types.js';

export const bruteForceDefaults = { perStationAddress: 5, perAddress: 10, perStation: 10, maintenanceFailures: 5, windowSeconds: 300 };

export function createBruteForceDetector(overrides?: Thresholds): Detector {
  const t = withThresholds(bruteForceDefaults, overrides);
  const windows = new EventWindow();
  const windowMs = t.windowSeconds * 1000;

  function check(key: string, limit: number, nowMs: number, make: (count: number) => Finding): Finding[] {
    const count = windows.hit(key, nowMs, windowMs);
    if (count < limit) return [];
    // Start counting afresh so the next finding needs another full run of failures.
    windows.clear(key);
    return [make(count)];
  }

  return {
    name: 'bruteForce',
    topics: [Topics.securityEvent],
    feed(event, now) {
      const e = securityEvent(event.data);
      if (!e) return [];
      const nowMs = now.getTime();
      const out: Finding[] = [];
      if (e.source === 'csms' && (e.type === 'InvalidStationCredentials' || e.type === 'UnknownStation')) {
        if (e.stationId && e.type === 'InvalidStationCredentials') {
          const stationId = e.stationId;
          const remoteAddress = e.remoteAddress;
          if (remoteAddress) {
            out.push(...check(`p:${stationId}\u0000${remoteAddress}`, t.perStationAddress, nowMs, (count) => ({
              detector: 'bruteForce', severity: 'high', stationId, key: `bruteForce:station:${stationId}:${remoteAddress}`,
              title: 'Password brute force against a station from one address',
              description: `${count} failed authentications for station ${stationId} from ${remoteAddress} within ${t.windowSeconds} s`,
              evidence: { failures: count, windowSeconds: t.windowSeconds, remoteAddress },
              target: { stationId, remoteAddress },
            })));
          }
          out.push(...check(`s:${stationId}`, t.perStation, nowMs, (count) => ({
            detector: 'bruteForce', severity: 'high', stationId, key: `bruteForce:station:${stationId}`,
            title: 'Distributed password guessing against a station',
            description: `${count} failed authentications for station ${stationId} within ${t.windowSeconds} s; attempts from addresses it has not authenticated from are slowed down`,
            evidence: { failures: count, windowSeconds: t.windowSeconds, lastAddress: remoteAddress },
            target: { stationId, mode: 'slow' },
          })));
        }
        if (e.remoteAddress) {
          const remoteAddress = e.remoteAddress;
          out.push(...check(`a:${remoteAddress}`, t.perAddress, nowMs, (count) => ({
            detector: 'bruteForce', severity: 'high', key: `bruteForce:address:${remoteAddress}`,
            title: 'Password brute force from one address',
            description: `${count} failed authentications from ${remoteAddress} within ${t.windowSeconds} s`,
            evidence: { failures: count, windowSeconds: t.windowSeconds, remoteAddress, lastStation: e.stationId },
            target: { remoteAddress },
          })));
        }
      }
      if (e.source === 'station' && e.type === 'MaintenanceLoginFailed' && e.stationId) {
        const stationId = e.stationId;
        // No lock-out target: locking the station's OCPP link would not stop someone at its maintenance port.
        out.push(...check(`m:${stationId}`, t.maintenanceFailures, nowMs, (count) => ({
          detector: 'bruteForce', severity: 'high', stationId, key: `bruteForce:maintenance:${stationId}`,
          title: 'Brute force on the local maintenance interface',
          description: `${count} failed maintenance logins on station ${stationId} within ${t.windowSeconds} s`,
          evidence: { failures: count, windowSeconds: t.windowSeconds, lastTechInfo: e.techInfo },
        })));
      }
      return out;
    },
  };
}
