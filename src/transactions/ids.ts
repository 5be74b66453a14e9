/**
 * OCPP 1.6 transaction ids: integers the CSMS hands out in StartTransaction.
 * They come from a sequence the CSMS owns (a PostgreSQL sequence shared by
 * every node of a cluster; a counter row on SQLite, which is one node's
 * file), never from what the table holds, so no station message can push
 * the next id ahead or make it collide. Each issued id is recorded with its
 * station, so a MeterValues or StopTransaction can be checked against it.
 */
import { transactionErrors } from './errors.js';
import { MAX_LEGACY_ID, type TransactionsRepository } from './store.js';

/** The id for this StartTransaction: the one already issued for the same start (a retransmission), else a new one. */
export async function issueLegacyId(tx: TransactionsRepository, stationId: string, dedupKey: string): Promise<string> {
  const existing = await tx.legacyIds.issuedFor(stationId, dedupKey);
  if (existing !== undefined) return String(existing);
  let id: number;
  try {
    id = await tx.legacyIds.next();
  } catch (err) {
    // PostgreSQL: "nextval: reached maximum value of sequence" (SQLSTATE 2200H).
    if (String((err as { code?: unknown }).code) === '2200H') throw transactionErrors.TRANSACTION_IDS_EXHAUSTED(undefined, { cause: err });
    throw err;
  }
  if (id > MAX_LEGACY_ID) throw transactionErrors.TRANSACTION_IDS_EXHAUSTED();
  await tx.legacyIds.record(id, stationId, dedupKey);
  return String(id);
}

/** Whether `transactionId` is an id this CSMS issued to `stationId`: 'issued', 'foreign' (to another station) or 'never'. */
export async function legacyIdOwner(tx: TransactionsRepository, stationId: string, transactionId: string): Promise<'issued' | 'foreign' | 'never'> {
  const n = Number(transactionId);
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_LEGACY_ID) return 'never';
  const owner = await tx.legacyIds.stationOf(n);
  return owner === undefined ? 'never' : owner === stationId ? 'issued' : 'foreign';
}
