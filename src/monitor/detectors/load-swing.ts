/**
 * Load manipulation: many stations changing their reported power by a large
 * step within a few seconds (a synchronised start, stop or limit change, as a
 * botnet or a stolen operator token would cause), one station's power
 * oscillating up and down, and the grid guard refusing power-affecting
 * commands. Any of these can destabilise the local grid, so all are critical.
 */
import { Topics } from '../../bus/events.js';
import { num, record, securityEvent, text } from './fields.js';
import type { Detector, Finding, Thresholds } from './types.js';
import { withThresholds } from './types.js';
import { BoundedMap, EventWindow } from './window.js';

export const loadSwingDefaults = { minStepW: 3000, stations: 20, windowSeconds: 10, reversals: 6, oscillationWindowSeconds: 120, refusals: 3, refusalWindowSeconds: 60 };

export function createLoadSwingDetector(overrides?: Thresholds): Detector {
  const t = withThresholds(loadSwingDefaults, overrides);
  const power = new BoundedMap<{ w: number; direction: number }>();
  const steps: { stationId: string; direction: number; at: number }[] = [];
  const reversals = new EventWindow();
  const refusals = new EventWindow();

  function synchronised(stationId: string, direction: number, at: number): Finding[] {
    const windowMs = t.windowSeconds * 1000;
    steps.push({ stationId, direction, at });
    while (steps.length && (steps[0]!.at <= at - windowMs || steps.length > 100_000)) steps.shift();
    const same = new Set(steps.filter((s) => s.direction === direction).map((s) => s.stationId));
    if (same.size < t.stations) return [];
    // Start afresh so one swing yields one finding, not one per further station.
    for (let i = steps.length - 1; i >= 0; i--) if (steps[i]!.direction === direction) steps.splice(i, 1);
    return [{
      detector: 'loadSwing', severity: 'critical', key: 'loadSwing:fleet',
      title: 'Synchronised load swing',
      description: `${same.size} stations ${direction > 0 ? 'raised' : 'dropped'} their power by at least ${t.minStepW} W within ${t.windowSeconds} s`,
      evidence: { stations: same.size, direction: direction > 0 ? 'up' : 'down', windowSeconds: t.windowSeconds, minStepW: t.minStepW, sample: [...same].slice(0, 20) },
    }];
  }

  return {
    name: 'loadSwing',
    topics: [Topics.transactionChanged, Topics.securityEvent],
    feed(event, now) {
      const nowMs = now.getTime();
      if (event.topic === Topics.securityEvent) {
        const e = securityEvent(event.data);
        if (!e || e.source !== 'csms' || e.type !== 'GridCommandRefused') return [];
        const count = refusals.hit('all', nowMs, t.refusalWindowSeconds * 1000);
        if (count < t.refusals) return [];
        refusals.clear('all');
        return [{
          detector: 'loadSwing', severity: 'critical', key: 'loadSwing:guard',
          title: 'Grid guard refusing power-affecting commands',
          description: `${count} commands refused by the grid guard within ${t.refusalWindowSeconds} s (possible load manipulation)`,
          evidence: { refusals: count, lastStation: e.stationId, lastTechInfo: e.techInfo },
        }];
      }
      const d = record(event.data);
      const stationId = text(d, 'stationId', 128);
      if (!stationId) return [];
      const ended = d.eventType === 'Ended';
      // A message the record held back (late, after the end, implausible) is no load step; its evidence goes to meterPlausibility.
      if (!ended && Array.isArray(d.flags) && d.flags.length > 0) return [];
      const w = ended ? 0 : num(d, 'powerW');
      if (w === undefined) return [];
      const prev = power.get(stationId);
      const before = prev?.w ?? 0;
      const step = w - before;
      if (Math.abs(step) < t.minStepW) {
        power.set(stationId, { w, direction: prev?.direction ?? 0 });
        return [];
      }
      const direction = Math.sign(step);
      power.set(stationId, { w, direction });
      const out = synchronised(stationId, direction, nowMs);
      if (prev && prev.direction !== 0 && prev.direction !== direction) {
        const count = reversals.hit(stationId, nowMs, t.oscillationWindowSeconds * 1000);
        if (count >= t.reversals) {
          reversals.clear(stationId);
          out.push({
            detector: 'loadSwing', severity: 'critical', stationId, key: `loadSwing:oscillation:${stationId}`,
            title: 'Oscillating station load',
            description: `Station ${stationId} reversed its power ${count} times within ${t.oscillationWindowSeconds} s`,
            evidence: { reversals: count, windowSeconds: t.oscillationWindowSeconds, powerW: w },
          });
        }
      }
      return out;
    },
  };
}
