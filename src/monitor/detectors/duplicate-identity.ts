/**
 * Duplicate identity / session hijack: a second live connection claiming a
 * station id from a different address while the first is still up, or the
 * transport reporting a duplicate identity it refused.
 */
import { Topics } from '../../bus/events.js';
import { num, record, securityEvent, text } from './fields.js';
import { BoundedMap } from './window.js';
import type { Detector, Finding, Thresholds } from './types.js';

export const duplicateIdentityDefaults = {};

export function createDuplicateIdentityDetector(_overrides?: Thresholds): Detector {
  // Addresses of the station's live sessions, oldest first.
  const sessions = new BoundedMap<string[]>();

  const finding = (stationId: string, description: string, evidence: Record<string, unknown>, remoteAddress?: string): Finding => ({
    detector: 'duplicateIdentity', severity: 'high', stationId, key: `duplicateIdentity:${stationId}`,
    title: 'Duplicate station identity (possible session hijack)',
    description,
    evidence, target: remoteAddress ? { remoteAddress } : undefined,
  });

  return {
    name: 'duplicateIdentity',
    topics: [Topics.stationConnected, Topics.stationDisconnected, Topics.securityEvent],
    feed(event) {
      if (event.topic === Topics.securityEvent) {
        const e = securityEvent(event.data);
        if (e?.source === 'csms' && e.type === 'DuplicateIdentity' && e.stationId) {
          // The transport refused it; the address may well be the live session's own (a restarted station, or a clone behind the same NAT).
          const from = e.remoteAddress ? ` from ${e.remoteAddress}` : '';
          return [finding(e.stationId, `A second connection claiming station ${e.stationId}${from} was refused while its session was live`, { remoteAddress: e.remoteAddress, techInfo: e.techInfo }, e.remoteAddress)];
        }
        return [];
      }
      const d = record(event.data);
      const stationId = text(d, 'stationId', 128);
      if (!stationId) return [];
      const live = sessions.get(stationId) ?? [];
      if (event.topic === Topics.stationDisconnected) {
        live.shift();
        if (live.length === 0) sessions.delete(stationId);
        else sessions.set(stationId, live);
        return [];
      }
      const address = text(d, 'remoteAddress', 64) ?? '';
      const other = live.find((a) => a !== address);
      live.push(address);
      sessions.set(stationId, live.slice(-4));
      if (other === undefined) return [];
      return [finding(stationId, `Station ${stationId} connected again from ${address || 'another address'} while its session from ${other || 'an unknown address'} was live`, { firstAddress: other, secondAddress: address, securityProfile: num(d, 'securityProfile') }, address)];
    },
  };
}
