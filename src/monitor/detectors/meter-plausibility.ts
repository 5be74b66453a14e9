/**
 * Implausible meter data within a transaction: an energy register that goes
 * down, energy that grew faster than the connector's maximum power allows in
 * the elapsed time, or a power reading above that maximum. Any of these means
 * a broken or manipulated meter, or forged meter values. Also reports every
 * message the transactions module held out of the record as implausible
 * (flags `implausible:<reason>` on transaction.changed).
 */
import { Topics } from '../../bus/events.js';
import { num, record, text, timeMs } from './fields.js';
import { BoundedMap } from './window.js';
import { withThresholds, type Detector, type Finding, type Thresholds } from './types.js';

export const meterPlausibilityDefaults = { defaultMaxPowerW: 350_000, tolerancePercent: 10, slackWh: 10 };

/** The connector's rated maximum power, when the station registry knows it. */
export type ConnectorPowerLookup = (stationId: string, evseId?: number, connectorId?: number) => number | undefined;

interface Reading { energyWh: number; at: number; seqNo?: number }

export function createMeterPlausibilityDetector(overrides?: Thresholds, maxPowerW?: ConnectorPowerLookup): Detector {
  const t = withThresholds(meterPlausibilityDefaults, overrides);
  const last = new BoundedMap<Reading>();
  return {
    name: 'meterPlausibility',
    topics: [Topics.transactionChanged],
    feed(event) {
      const d = record(event.data);
      const stationId = text(d, 'stationId', 128);
      const transactionId = text(d, 'transactionId', 128);
      if (!stationId || !transactionId) return [];
      const evseId = num(d, 'evseId');
      const connectorId = num(d, 'connectorId');
      let limitW = t.defaultMaxPowerW;
      try {
        const rated = maxPowerW?.(stationId, evseId, connectorId);
        if (typeof rated === 'number' && Number.isFinite(rated) && rated > 0) limitW = rated;
      } catch {
        // A failing registry lookup falls back to the fleet-wide default.
      }
      const allowedW = limitW * (1 + t.tolerancePercent / 100);
      const key = `${stationId}\u0000${transactionId}`;
      const make = (title: string, description: string, evidence: Record<string, unknown>): Finding => ({
        detector: 'meterPlausibility', severity: 'high', stationId, key: `meterPlausibility:${stationId}:${transactionId}`,
        title, description, evidence: { transactionId, evseId, connectorId, maxPowerW: limitW, ...evidence },
      });
      const out: Finding[] = [];
      const flags = Array.isArray(d.flags) ? d.flags.filter((f): f is string => typeof f === 'string').slice(0, 16) : [];
      // The transactions module held this message out of the record as implausible: say so, on the sending station.
      const reasons = flags.filter((f) => f.startsWith('implausible:')).map((f) => f.slice('implausible:'.length, 'implausible:'.length + 40));
      if (reasons.length) {
        out.push(make('Implausible meter data held out of billing and load', `Transaction ${transactionId} on ${stationId}: ${reasons.join(', ')}`, { reasons, eventType: d.eventType, energyWh: num(d, 'energyWh'), powerW: d.powerW, timestamp: text(d, 'timestamp', 40), seqNo: num(d, 'seqNo') }));
      }
      const powerW = num(d, 'powerW');
      if (powerW !== undefined && powerW > allowedW) {
        out.push(make('Power above connector maximum', `Transaction ${transactionId} on ${stationId} reports ${powerW} W`, { powerW }));
      }
      const energyWh = num(d, 'energyWh');
      const at = timeMs(d, 'timestamp');
      const seqNo = num(d, 'seqNo');
      const prev = last.get(key);
      // Out-of-order or repeated messages are the replay detector's business, not a meter reading.
      // A message the record kept only as evidence (late, after the end) is no new reading either.
      const inOrder = (!prev || seqNo === undefined || prev.seqNo === undefined || seqNo > prev.seqNo) && !flags.includes('late') && !flags.includes('afterEnd');
      if (energyWh !== undefined && at !== undefined && inOrder) {
        if (prev) {
          const delta = energyWh - prev.energyWh;
          const hours = Math.max(0, at - prev.at) / 3_600_000;
          const maxDelta = allowedW * hours + t.slackWh;
          if (delta < -t.slackWh) {
            out.push(make('Energy register decreased', `Register on ${stationId} went from ${prev.energyWh} Wh to ${energyWh} Wh`, { previousWh: prev.energyWh, energyWh }));
          } else if (delta > maxDelta) {
            out.push(make('Energy beyond connector maximum power', `${Math.round(delta)} Wh in ${Math.round(hours * 3600)} s exceeds what ${limitW} W allows`, { previousWh: prev.energyWh, energyWh, elapsedSeconds: Math.round(hours * 3600), maxDeltaWh: Math.round(maxDelta) }));
          }
        }
        // Keep the highest register seen so a single forged low reading is not the new baseline.
        last.set(key, !prev || energyWh >= prev.energyWh ? { energyWh, at, seqNo } : { ...prev, seqNo });
      }
      if (d.eventType === 'Ended') last.delete(key);
      return out;
    },
  };
}
