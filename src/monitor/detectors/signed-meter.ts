/**
 * Signed meter values that fail verification (OCMF): a signature that does
 * not match the payload under the meter's key, a meter key that changed, a
 * pagination counter that repeats or goes back (a replayed dataset) or skips,
 * more than one meter serial in one transaction, and readings whose error
 * flags or meter status say the value cannot be trusted.
 *
 * Keys: the registry's key for the meter when the core provides one, else the
 * key the station sent, pinned on first use per meter serial.
 */
import { createHash } from 'node:crypto';
import { Topics } from '../../bus/events.js';
import { decodePublicKey, keyFingerprint, ocmfText, parseOcmf, verifyOcmf } from '../ocmf.js';
import { record, text } from './fields.js';
import { BoundedMap } from './window.js';
import type { Detector, Finding, Severity, Thresholds } from './types.js';

export const signedMeterDefaults = {};

/** The registered public key of a meter (PEM, hex or base64 DER), if the registry knows it. */
export type MeterKeyLookup = (stationId: string, meterSerial: string) => string | undefined;

// OCMF meter status (ST): G is good; M means the meter detected manipulation.
const STATUS_NAMES: Record<string, string> = { N: 'not present', T: 'timeout', D: 'disconnected', R: 'not found', M: 'manipulated', X: 'exchanged', I: 'incompatible', O: 'out of range', S: 'substitute value', E: 'other error', F: 'read error' };

interface MeterState { pages: Map<string, number>; key?: string; recent: { digest: string; tx: string }[] }

export function createSignedMeterDetector(_overrides?: Thresholds, registeredKey?: MeterKeyLookup): Detector {
  const meters = new BoundedMap<MeterState>();
  const transactionSerial = new BoundedMap<string>();

  return {
    name: 'signedMeter',
    topics: [Topics.transactionChanged],
    async feed(event) {
      const d = record(event.data);
      const stationId = text(d, 'stationId', 128);
      const transactionId = text(d, 'transactionId', 128);
      const values = Array.isArray(d.signedMeterValues) ? d.signedMeterValues.slice(0, 16) : [];
      if (!stationId || !transactionId || values.length === 0) return [];
      const out: Finding[] = [];
      const make = (kind: string, severity: Severity, title: string, description: string, evidence: Record<string, unknown>) =>
        out.push({ detector: 'signedMeter', severity, stationId, key: `signedMeter:${kind}:${stationId}`, title, description, evidence: { transactionId, ...evidence } });
      const checks: Promise<void>[] = [];

      for (const entry of values) {
        const v = record(entry);
        const data = typeof v.signedMeterData === 'string' ? v.signedMeterData : '';
        const encoding = text(v, 'encodingMethod', 50);
        const raw = ocmfText(data);
        if (!raw) {
          // Other vendors' formats cannot be checked here; only claimed OCMF that is not OCMF is a finding.
          if (encoding?.toUpperCase() === 'OCMF') make('malformed', 'high', 'Signed meter data malformed', `Transaction ${transactionId} carries OCMF data that cannot be decoded`, { reason: 'not an OCMF string' });
          continue;
        }
        const parsed = parseOcmf(raw);
        if (!parsed.ok) {
          make('malformed', 'high', 'Signed meter data malformed', `Transaction ${transactionId}: ${parsed.reason}`, { reason: parsed.reason });
          continue;
        }
        const { payload } = parsed;
        const serial = payload.MS;
        const meter = meters.get(serial) ?? { pages: new Map<string, number>(), recent: [] };
        const txKey = `${stationId}\u0000${transactionId}`;
        const digest = createHash('sha256').update(raw).digest('base64');
        // The same dataset forwarded again in the same transaction (e.g. in Updated and Ended) is not news;
        // the same dataset in another transaction is a replay, which the pagination check below catches.
        if (meter.recent.some((r) => r.digest === digest && r.tx === txKey)) continue;
        meter.recent = [...meter.recent.slice(-15), { digest, tx: txKey }];

        const first = transactionSerial.get(txKey);
        if (first === undefined) transactionSerial.set(txKey, serial);
        else if (first !== serial) make('serial', 'high', 'Meter serial changed within a transaction', `Transaction ${transactionId} was signed by meters ${first} and ${serial}`, { firstSerial: first, meterSerial: serial });

        const kind = payload.PG[0]!;
        const page = Number(payload.PG.slice(1));
        const lastPage = meter.pages.get(kind);
        if (lastPage !== undefined && page <= lastPage) {
          make('pagination', 'high', 'Signed meter dataset replayed', `Meter ${serial} sent page ${payload.PG} after ${kind}${lastPage}`, { meterSerial: serial, page: payload.PG, lastPage: `${kind}${lastPage}` });
        } else {
          if (lastPage !== undefined && page > lastPage + 1) make('pagination-gap', 'medium', 'Gap in signed meter pagination', `Meter ${serial} jumped from ${kind}${lastPage} to ${payload.PG}`, { meterSerial: serial, page: payload.PG, lastPage: `${kind}${lastPage}` });
          meter.pages.set(kind, page);
        }

        for (const reading of payload.RD.slice(0, 64)) {
          const r = record(reading);
          const flags = typeof r.EF === 'string' ? r.EF.slice(0, 16) : '';
          const status = typeof r.ST === 'string' ? r.ST.slice(0, 2) : '';
          if (flags) make('meter-status', 'high', 'Meter error flags set', `Meter ${serial} flagged reading ${String(r.TM)} with ${flags}`, { meterSerial: serial, errorFlags: flags, time: r.TM });
          if (status && status !== 'G') {
            make('meter-status', status === 'M' ? 'critical' : 'high', 'Meter status not good', `Meter ${serial} reports status ${status} (${STATUS_NAMES[status] ?? 'unknown'})`, { meterSerial: serial, meterStatus: status, time: r.TM });
          }
        }

        let keyText: string | undefined;
        try {
          keyText = registeredKey?.(stationId, serial);
        } catch {
          keyText = undefined;
        }
        const sent = text(v, 'publicKey', 4096);
        const key = decodePublicKey(keyText ?? sent ?? '');
        if (!key) {
          make('no-key', 'low', 'Signed meter data cannot be verified', `No usable public key for meter ${serial}`, { meterSerial: serial, keySent: sent !== undefined });
          meters.set(serial, meter);
          continue;
        }
        const fingerprint = keyFingerprint(key);
        if (!keyText) {
          if (meter.key !== undefined && meter.key !== fingerprint) {
            make('key', 'high', 'Meter public key changed', `Meter ${serial} now presents a different public key`, { meterSerial: serial });
          }
          meter.key ??= fingerprint;
        }
        meters.set(serial, meter);
        checks.push(verifyOcmf(raw, key).then((result) => {
          if (!result.verified) make('signature', 'critical', 'Signed meter data failed verification', `Meter ${serial} dataset ${payload.PG}: ${result.reason ?? 'invalid signature'}`, { meterSerial: serial, page: payload.PG, reason: result.reason });
        }));
      }
      await Promise.all(checks);
      return out;
    },
  };
}
