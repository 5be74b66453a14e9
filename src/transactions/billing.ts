/**
 * Billing records that others can check: one transaction's energy, its
 * signed meter values with the verification result, and its event log, with
 * a SHA-256 over the record. The hash is taken over the record's RFC 8785
 * (JSON Canonicalization Scheme) form without the `sha256` field, so anyone
 * holding an exported record can recompute it with any JCS implementation
 * and see whether it is the one that was settled.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.js';
import type { Transaction, TransactionEventLogEntry } from './types.js';

// The package is CommonJS (module.exports = the function) while its types declare an ES default export.

export const BILLING_RECORD_FORMAT = 'evguard-billing-record/1';
export const BILLING_EXPORT_FORMAT = 'evguard-billing-export/1';

/** The verification of one signed meter value (src/meters `checkSignedMeterValue`). */
export interface SignedCheck { result: string }
export type SignedChecker = (stationId: string, signed: Record<string, unknown>) => Promise<SignedCheck>;

export interface BillingRecord {
  format: typeof BILLING_RECORD_FORMAT;
  transaction: Pick<Transaction, 'id' | 'stationId' | 'transactionId' | 'evseId' | 'connectorId' | 'idToken' | 'state' | 'authorization' | 'startedAt' | 'endedAt' | 'stoppedReason'>;
  energy: { startWh?: number; stopWh?: number; deliveredWh?: number; sampledRegisterWh?: { lowest: number; highest: number } };
  /** Ended, authorized (Accepted), with a start and stop register, and no implausible reading anywhere. */
  billable: boolean;
  /** Why a settlement should look before it pays: the record's flags, signatures that did not verify, no end, no authorization. */
  review: string[];
  signedMeterValues: { event: number; timestamp: string; measurand?: string; context?: string; signedMeterData: string; signingMethod?: string; encodingMethod?: string; publicKey?: string; check: SignedCheck }[];
  eventLog: TransactionEventLogEntry[];
  sha256: string;
}

/** SHA-256 (hex) over the RFC 8785 canonical form of `value`. */
export function canonicalSha256(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex');
}

export async function billingRecord(tx: Transaction & { eventLog: TransactionEventLogEntry[] }, check: SignedChecker): Promise<BillingRecord> {
  const signedMeterValues: BillingRecord['signedMeterValues'] = [];
  for (const [event, entry] of tx.eventLog.entries()) {
    for (const sample of (Array.isArray(entry.meter) ? entry.meter : []) as Record<string, any>[]) {
      const signed = sample?.signed as Record<string, unknown> | undefined;
      if (!signed || typeof signed.signedMeterData !== 'string' || signedMeterValues.length >= 1000) continue;
      signedMeterValues.push({
        event, timestamp: sample.timestamp, measurand: sample.measurand, context: sample.context,
        signedMeterData: signed.signedMeterData,
        signingMethod: signed.signingMethod as string | undefined,
        encodingMethod: signed.encodingMethod as string | undefined,
        publicKey: signed.publicKey as string | undefined,
        check: await check(tx.stationId, signed),
      });
    }
  }
  // A transaction with any implausible reading is suspect as a whole: held for review, never in the totals.
  const billable = tx.state === 'Ended' && tx.authorization?.status === 'Accepted' && tx.energyStartWh !== undefined && tx.energyStopWh !== undefined
    && !tx.flags.some((f) => f.startsWith('implausible:'));
  // Late and after-end samples changed nothing; the record keeps those flags, the review leaves them out.
  const review = new Set(tx.flags.filter((f) => f !== 'late' && f !== 'afterEnd'));
  if (tx.state !== 'Ended') review.add('notEnded');
  if (!tx.authorization) review.add('noAuthorization');
  for (const s of signedMeterValues) if (s.check.result !== 'verified') review.add(`signature:${s.check.result}`);
  const body = {
    format: BILLING_RECORD_FORMAT,
    transaction: {
      id: tx.id, stationId: tx.stationId, transactionId: tx.transactionId, evseId: tx.evseId, connectorId: tx.connectorId, idToken: tx.idToken,
      state: tx.state, authorization: tx.authorization, startedAt: tx.startedAt, endedAt: tx.endedAt, stoppedReason: tx.stoppedReason,
    },
    energy: { startWh: tx.energyStartWh, stopWh: tx.energyStopWh, deliveredWh: billable ? tx.energyDeliveredWh : undefined, sampledRegisterWh: tx.sampledRegisterWh },
    billable,
    review: [...review].sort(),
    signedMeterValues,
    eventLog: tx.eventLog,
  };
  // What goes over the wire is JSON: hash exactly that (undefined fields dropped, as JSON drops them).
  const plain = JSON.parse(JSON.stringify(body)) as Omit<BillingRecord, 'sha256'>;
  return { ...plain, sha256: canonicalSha256(plain) };
}

export const CSV_COLUMNS = [
  'id', 'stationId', 'transactionId', 'evseId', 'connectorId', 'idToken', 'state', 'authorizationStatus', 'startedAt', 'endedAt',
  'energyStartWh', 'energyStopWh', 'energyDeliveredWh', 'billable', 'signedValues', 'signedVerified', 'review', 'recordSha256',
] as const;

/** One CSV cell (RFC 4180). Text that a spreadsheet would run as a formula gets a leading apostrophe. */
function cell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function billingCsv(records: BillingRecord[]): string {
  const rows = records.map((r) => {
    const t = r.transaction;
    const values: Record<(typeof CSV_COLUMNS)[number], unknown> = {
      id: t.id, stationId: t.stationId, transactionId: t.transactionId, evseId: t.evseId, connectorId: t.connectorId, idToken: t.idToken,
      state: t.state, authorizationStatus: t.authorization?.status, startedAt: t.startedAt, endedAt: t.endedAt,
      energyStartWh: r.energy.startWh, energyStopWh: r.energy.stopWh, energyDeliveredWh: r.energy.deliveredWh, billable: r.billable,
      signedValues: r.signedMeterValues.length, signedVerified: r.signedMeterValues.filter((s) => s.check.result === 'verified').length,
      review: r.review.join(' '), recordSha256: r.sha256,
    };
    return CSV_COLUMNS.map((c) => cell(values[c])).join(',');
  });
  return [CSV_COLUMNS.join(','), ...rows].join('\r\n') + '\r\n';
}

/** Totals over billable records only: a flagged, refused or open transaction never enters them. */
export function billingTotals(records: BillingRecord[]): { transactions: number; billable: number; energyWh: number } {
  let energyWh = 0;
  for (const r of records) if (r.billable && r.energy.deliveredWh !== undefined) energyWh += r.energy.deliveredWh;
  return { transactions: records.length, billable: records.filter((r) => r.billable).length, energyWh };
}
