/**
 * Replays: message ids the transport saw twice, timestamps too old to be a
 * live message, the station reporting replays aimed at it, and
 * TransactionEvent sequence numbers that go backwards (an old, captured
 * message sent again). An exact retransmission of the same seqNo with the same
 * content is the station's normal resend after a lost answer, not a replay.
 */
import { Topics } from '../../bus/events.js';
import { num, record, securityEvent, text } from './fields.js';
import { BoundedMap, EventWindow } from './window.js';
import { withThresholds, type Detector, type Finding, type Thresholds } from './types.js';

export const replayDefaults = { replayedIds: 3, staleTimestamps: 3, windowSeconds: 600 };
const SEEN_PER_TRANSACTION = 256;

interface TransactionSeq { max: number; seen: Map<number, string> }

export function createReplayDetector(overrides?: Thresholds): Detector {
  const t = withThresholds(replayDefaults, overrides);
  const windows = new EventWindow();
  const transactions = new BoundedMap<TransactionSeq>();

  const finding = (stationId: string | undefined, title: string, description: string, evidence: Record<string, unknown>): Finding => ({
    detector: 'replay', severity: 'high', stationId, key: `replay:${stationId ?? String(evidence.remoteAddress ?? 'unknown')}`,
    title, description, evidence,
  });

  function counted(kind: string, subject: string, limit: number, nowMs: number, weight = 1): number | undefined {
    const count = windows.hit(`${kind}:${subject}`, nowMs, t.windowSeconds * 1000, weight);
    if (count < limit) return undefined;
    windows.clear(`${kind}:${subject}`);
    return count;
  }

  return {
    name: 'replay',
    topics: [Topics.securityEvent, Topics.transactionChanged],
    feed(event, now) {
      if (event.topic === Topics.securityEvent) {
        const e = securityEvent(event.data);
        if (!e) return [];
        const subject = e.stationId ?? e.remoteAddress;
        if (!subject) return [];
        if (e.source === 'station' && e.type === 'AttemptedReplayAttacks') {
          return [finding(e.stationId, 'Station reports a replayed message', `Station ${subject} received a replayed message (possible man in the middle)`, { techInfo: e.techInfo })];
        }
        if (e.source !== 'csms') return [];
        if (e.type === 'ReplayedMessageId') {
          const count = counted('id', subject, t.replayedIds, now.getTime(), e.occurrences);
          if (count) return [finding(e.stationId, 'Replayed message ids', `${count} reused message ids from ${subject} within ${t.windowSeconds} s`, { replays: count, lastTechInfo: e.techInfo, remoteAddress: e.remoteAddress })];
        }
        if (e.type === 'StaleTimestamp') {
          const count = counted('stale', subject, t.staleTimestamps, now.getTime());
          if (count) return [finding(e.stationId, 'Messages with stale timestamps', `${count} messages with stale timestamps from ${subject} within ${t.windowSeconds} s`, { stale: count, lastTechInfo: e.techInfo, remoteAddress: e.remoteAddress })];
        }
        return [];
      }
      const d = record(event.data);
      const stationId = text(d, 'stationId', 128);
      const transactionId = text(d, 'transactionId', 128);
      const seqNo = num(d, 'seqNo');
      if (!stationId || !transactionId || seqNo === undefined || !Number.isInteger(seqNo) || seqNo < 0) return [];
      const key = `${stationId}\u0000${transactionId}`;
      const fingerprint = `${String(d.eventType)}|${String(d.timestamp)}|${String(d.energyWh)}`;
      const state = transactions.get(key) ?? { max: -1, seen: new Map<number, string>() };
      const earlier = state.seen.get(seqNo);
      let out: Finding[] = [];
      if (earlier === fingerprint) return [];
      if (seqNo <= state.max) {
        out = [finding(stationId, 'TransactionEvent sequence number regression', `Transaction ${transactionId} on ${stationId} received seqNo ${seqNo} after ${state.max}`, { transactionId, seqNo, highestSeqNo: state.max, eventType: d.eventType, timestamp: d.timestamp, differsFromEarlier: earlier !== undefined })];
      } else {
        state.max = seqNo;
        state.seen.set(seqNo, fingerprint);
        if (state.seen.size > SEEN_PER_TRANSACTION) state.seen.delete(state.seen.keys().next().value as number);
      }
      transactions.set(key, state);
      return out;
    },
  };
}
