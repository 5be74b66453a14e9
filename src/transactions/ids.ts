/**
 * OCPP 1.6 transaction ids: integers the CSMS hands out in StartTransaction.
 * They come from a sequence the CSMS owns (a PostgreSQL sequence shared by
 * every node of a cluster; a counter row on SQLite, which is one node's
 * file), never from what the table holds, so no station message can push
 * the next id ahead or make it collide. Each issued id is recorded with its
 * station, so a MeterValues or StopTransaction can be checked against it.
 */
import { sql, type Dialect, type Kysely } from '../store/index.js';
import { transactionErrors } from './errors.js';
import { MAX_LEGACY_ID } from './store.js';

/** The id for this StartTransaction: the one already issued for the same start (a retransmission), else a new one. */
export async function issueLegacyId(trx: Kysely<any>, dialect: Dialect, stationId: string, dedupKey: string): Promise<string> {
  const existing = await trx.selectFrom('legacy_transaction_ids').select('id').where('station_id', '=', stationId).where('dedup_key', '=', dedupKey).executeTakeFirst();
  if (existing) return String(existing.id);
  let id: number;
  try {
    if (dialect === 'postgres') {
      const r = await sql<{ id: string }>`SELECT nextval('legacy_transaction_id_seq') AS id`.execute(trx);
      id = Number(r.rows[0]!.id);
    } else {
      const r = await trx.updateTable('legacy_transaction_counter').set((eb) => ({ last_id: eb('last_id', '+', 1) })).where('name', '=', 'ocpp1.6').returning('last_id').executeTakeFirstOrThrow();
      id = Number(r.last_id);
    }
  } catch (err) {
    // PostgreSQL: "nextval: reached maximum value of sequence" (SQLSTATE 2200H).
    if (String((err as { code?: unknown }).code) === '2200H') throw transactionErrors.TRANSACTION_IDS_EXHAUSTED(undefined, { cause: err });
    throw err;
  }
  if (id > MAX_LEGACY_ID) throw transactionErrors.TRANSACTION_IDS_EXHAUSTED();
  await trx.insertInto('legacy_transaction_ids').values({ id, station_id: stationId, dedup_key: dedupKey }).execute();
  return String(id);
}

/** Whether `transactionId` is an id this CSMS issued to `stationId`: 'issued', 'foreign' (to another station) or 'never'. */
export async function legacyIdOwner(trx: Kysely<any>, stationId: string, transactionId: string): Promise<'issued' | 'foreign' | 'never'> {
  const n = Number(transactionId);
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_LEGACY_ID) return 'never';
  const row = await trx.selectFrom('legacy_transaction_ids').select('station_id').where('id', '=', n).executeTakeFirst();
  return !row ? 'never' : row.station_id === stationId ? 'issued' : 'foreign';
}
