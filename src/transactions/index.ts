/**
 * One transaction model for all OCPP versions: lifecycle, meter values,
 * de-duplication of retransmitted (offline-queued) messages, sequence-gap
 * detection, and refusal of transaction ids that belong to another station.
 */
import type { Bus } from '../bus/index.js';
import { Topics, type SecurityEvent, type TransactionChanged } from '../bus/events.js';
import { defineErrors } from '../errors.js';
import type { AuthorizationResult, MeterSample, StationContext, TransactionEventIn, TransactionEventResult } from '../ocpp/index.js';
import type { Database, Kysely } from '../store/index.js';
import { toJson } from '../store/index.js';

export { transactionsMigrations } from './store.js';

export const transactionErrors = defineErrors({
  TRANSACTION_FOREIGN: { status: 409, message: 'The transaction id belongs to another station' },
  TRANSACTION_UNKNOWN: { status: 404, message: 'No such transaction' },
});

export type TransactionState = 'Started' | 'Updated' | 'Ended';

export interface Transaction {
  id: string;
  stationId: string;
  evseId?: number;
  connectorId?: number;
  idToken?: string;
  state: TransactionState;
  startedAt?: string;
  endedAt?: string;
  energyStartWh?: number;
  energyWh?: number;
  /** Energy delivered so far: register now minus register at start. */
  energyDeliveredWh?: number;
  powerW?: number;
  soc?: number;
  stoppedReason?: string;
  events: number;
  seqGaps: number;
  offlineEvents: number;
  updatedAt: string;
}

export interface TransactionsDeps {
  database: Database;
  bus: Bus;
  authorize(idToken: string): Promise<AuthorizationResult>;
  securityEvent(e: Omit<SecurityEvent, 'timestamp' | 'source' | 'critical'>): void;
}

const num = (v: unknown) => (v === null || v === undefined ? undefined : Number(v));

function toTransaction(r: any): Transaction {
  const start = num(r.energy_start_wh);
  const now = num(r.energy_wh);
  return {
    id: r.id,
    stationId: r.station_id,
    evseId: num(r.evse_id),
    connectorId: num(r.connector_id),
    idToken: r.id_token ?? undefined,
    state: r.state,
    startedAt: r.started_at ?? undefined,
    endedAt: r.ended_at ?? undefined,
    energyStartWh: start,
    energyWh: now,
    energyDeliveredWh: start !== undefined && now !== undefined ? now - start : undefined,
    powerW: num(r.power_w),
    soc: num(r.soc),
    stoppedReason: r.stopped_reason ?? undefined,
    events: Number(r.events),
    seqGaps: Number(r.seq_gaps),
    offlineEvents: Number(r.offline_events),
    updatedAt: r.updated_at,
  };
}

function latest(samples: MeterSample[], measurand: string): number | undefined {
  let found: MeterSample | undefined;
  for (const s of samples) if (s.measurand === measurand && Number.isFinite(s.value) && !s.phase && (!found || s.timestamp >= found.timestamp)) found = s;
  return found?.value;
}

/** PostgreSQL unique_violation, or SQLite's key and unique constraint failures. */
function isUniqueViolation(err: unknown): boolean {
  const code = String((err as { code?: unknown })?.code ?? '');
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

export function createTransactions(deps: TransactionsDeps) {
  const { db } = deps.database;

  async function legacyId(trx: Kysely<any>, stationId: string, dedupKey: string): Promise<string> {
    const existing = await trx.selectFrom('legacy_transaction_ids').select('id').where('station_id', '=', stationId).where('dedup_key', '=', dedupKey).executeTakeFirst();
    if (existing) return String(existing.id);
    const next = await trx.selectFrom('legacy_transaction_ids').select((eb) => eb.fn.max('id').as('max')).executeTakeFirst();
    const id = Number(next?.max ?? 0) + 1;
    await trx.insertInto('legacy_transaction_ids').values({ id, station_id: stationId, dedup_key: dedupKey }).execute();
    return String(id);
  }

  /**
   * A 1.6 id is the highest one so far plus one. Two stations starting at the
   * same instant on PostgreSQL can both read the same highest id; the loser's
   * insert then violates the key, and the whole database transaction is
   * simply run again (it reads the winner's id, or its own replayed start).
   */
  async function record(ctx: StationContext, e: TransactionEventIn): Promise<{ tx: Transaction; duplicate: boolean }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await recordOnce(ctx, e);
      } catch (err) {
        if (e.transactionId !== undefined || attempt >= 20 || !isUniqueViolation(err)) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
      }
    }
  }

  async function recordOnce(ctx: StationContext, e: TransactionEventIn): Promise<{ tx: Transaction; duplicate: boolean }> {
    return db.transaction().execute(async (trx) => {
      const id = e.transactionId ?? (await legacyId(trx, ctx.stationId, e.dedupKey));
      const existing = await trx.selectFrom('transactions').selectAll().where('id', '=', id).executeTakeFirst();
      if (existing && existing.station_id !== ctx.stationId) {
        throw transactionErrors.TRANSACTION_FOREIGN(`Transaction ${id} is not this station's`);
      }
      const now = new Date().toISOString();
      const inserted = await trx
        .insertInto('transaction_events')
        .values({
          transaction_id: id,
          dedup_key: e.dedupKey,
          station_id: ctx.stationId,
          kind: e.kind,
          seq_no: e.seqNo ?? null,
          timestamp: e.timestamp,
          offline: e.offline ? 1 : 0,
          payload: toJson({ meter: e.meter, triggerReason: e.triggerReason, stoppedReason: e.stoppedReason, chargingState: e.chargingState, idToken: e.idToken?.idToken }),
          received_at: now,
        })
        .onConflict((oc) => oc.columns(['transaction_id', 'dedup_key']).doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0 && existing) {
        // A retransmission of a message already stored: acknowledge, change nothing.
        return { tx: toTransaction(existing), duplicate: true };
      }
      const energy = latest(e.meter, 'Energy.Active.Import.Register') ?? e.energyRegisterWh;
      const power = latest(e.meter, 'Power.Active.Import');
      const soc = latest(e.meter, 'SoC');
      const maxSeq = num(existing?.max_seq_no);
      let gaps = Number(existing?.seq_gaps ?? 0);
      if (e.seqNo !== undefined && maxSeq !== undefined) {
        // seqNo grows by one per message; a jump leaves gaps, a late arrival fills one.
        if (e.seqNo > maxSeq + 1) gaps += e.seqNo - maxSeq - 1;
        else if (e.seqNo < maxSeq) gaps = Math.max(0, gaps - 1);
      }
      const ended = e.kind === 'Ended' || existing?.state === 'Ended';
      const row = {
        id,
        station_id: ctx.stationId,
        evse_id: e.evseId ?? existing?.evse_id ?? null,
        connector_id: e.connectorId ?? existing?.connector_id ?? null,
        id_token: e.idToken?.idToken ?? existing?.id_token ?? null,
        state: ended ? 'Ended' : e.kind === 'Started' && !existing ? 'Started' : 'Updated',
        started_at: existing?.started_at ?? (e.kind === 'Started' ? e.timestamp : null),
        ended_at: e.kind === 'Ended' ? e.timestamp : existing?.ended_at ?? null,
        energy_start_wh: existing?.energy_start_wh ?? (e.kind === 'Started' ? energy ?? null : null),
        energy_wh: newer(existing, e) ? energy ?? existing?.energy_wh ?? null : existing?.energy_wh ?? energy ?? null,
        power_w: e.kind === 'Ended' ? 0 : newer(existing, e) ? power ?? existing?.power_w ?? null : existing?.power_w ?? null,
        soc: soc ?? existing?.soc ?? null,
        stopped_reason: e.stoppedReason ?? existing?.stopped_reason ?? null,
        max_seq_no: e.seqNo === undefined ? maxSeq ?? null : Math.max(e.seqNo, maxSeq ?? -1),
        events: Number(existing?.events ?? 0) + 1,
        seq_gaps: gaps,
        offline_events: Number(existing?.offline_events ?? 0) + (e.offline ? 1 : 0),
        updated_at: now,
      };
      if (existing) await trx.updateTable('transactions').set(row).where('id', '=', id).execute();
      else await trx.insertInto('transactions').values(row).execute();
      return { tx: toTransaction(row), duplicate: false };
    });
  }

  /** Later events must not be overwritten by an offline message that arrives after them. */
  function newer(existing: any, e: TransactionEventIn): boolean {
    return !existing || (existing.max_seq_no === null ? true : e.seqNo === undefined || e.seqNo >= Number(existing.max_seq_no));
  }

  return {
    async event(ctx: StationContext, e: TransactionEventIn): Promise<TransactionEventResult> {
      let result: { tx: Transaction; duplicate: boolean };
      try {
        result = await record(ctx, e);
      } catch (err) {
        if ((err as { code?: string }).code === 'TRANSACTION_FOREIGN') {
          deps.securityEvent({ stationId: ctx.stationId, remoteAddress: ctx.remoteAddress, type: 'ForeignTransaction', techInfo: `${e.kind} for transaction ${e.transactionId} of another station` });
        }
        throw err;
      }
      const authorization = e.idToken && e.kind !== 'Ended' ? await deps.authorize(e.idToken.idToken) : e.idToken ? { status: 'Accepted' as const } : undefined;
      if (!result.duplicate) {
        const change: TransactionChanged = {
          stationId: ctx.stationId,
          transactionId: result.tx.id,
          eventType: e.kind,
          seqNo: e.seqNo ?? result.tx.events - 1,
          timestamp: e.timestamp,
          evseId: e.evseId,
          connectorId: e.connectorId,
          idToken: e.idToken?.idToken,
          energyWh: latest(e.meter, 'Energy.Active.Import.Register') ?? e.energyRegisterWh,
          powerW: latest(e.meter, 'Power.Active.Import'),
          soc: latest(e.meter, 'SoC'),
          signedMeterValues: e.meter.filter((m) => m.signed).map((m) => m.signed!),
        };
        deps.bus.publish(Topics.transactionChanged, change, ctx.stationId);
      }
      return { transactionId: result.tx.id, authorization };
    },
    async list(q: { stationId?: string; state?: TransactionState; limit?: number; offset?: number } = {}): Promise<Transaction[]> {
      let query = db.selectFrom('transactions').selectAll();
      if (q.stationId) query = query.where('station_id', '=', q.stationId);
      if (q.state) query = query.where('state', '=', q.state);
      const rows = await query.orderBy('updated_at', 'desc').limit(Math.min(q.limit ?? 100, 1000)).offset(q.offset ?? 0).execute();
      return rows.map(toTransaction);
    },
    async get(id: string): Promise<Transaction & { eventLog: unknown[] }> {
      const r = await db.selectFrom('transactions').selectAll().where('id', '=', id).executeTakeFirst();
      if (!r) throw transactionErrors.TRANSACTION_UNKNOWN(`No transaction ${id}`);
      const events = await db.selectFrom('transaction_events').selectAll().where('transaction_id', '=', id).orderBy('timestamp').execute();
      return {
        ...toTransaction(r),
        eventLog: events.map((ev: any) => ({ kind: ev.kind, seqNo: num(ev.seq_no), timestamp: ev.timestamp, offline: Number(ev.offline) === 1, ...JSON.parse(ev.payload) })),
      };
    },
  };
}

export type Transactions = ReturnType<typeof createTransactions>;
