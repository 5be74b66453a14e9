/**
 * One transaction model for all OCPP versions: identity, lifecycle, meter
 * values, de-duplication of retransmitted (offline-queued) messages, ordering
 * and plausibility of meter data, and the authorization decision on record.
 *
 * Identity: a transaction is (station, the station's transactionId). A 2.x
 * station names its own; a 1.6 station gets an integer from the CSMS's own
 * sequence (ids.ts) and may only refer to ids issued to it. The record's id
 * is `<stationId>:<transactionId>`.
 *
 * Lifecycle (docs/transactions.md): Started → Updated → Ended; Refused when
 * the start's authorization was not Accepted (it never becomes a charge to
 * bill, even when the station reports its end); Abandoned when a new
 * transaction starts on the same connector while this one is still open
 * (its late Ended may still settle it). Ended is settled: later messages are
 * kept in the event log, flagged, and change nothing.
 */
import type { Bus } from '../bus/index.js';
import { Topics, type SecurityEvent, type TransactionChanged } from '../bus/events.js';
import type { AuthorizationResult, AuthorizationStatus, StationContext, TransactionEventIn, TransactionEventResult } from '../model/station.js';
import type { Database } from '../store/index.js';
import { fromJson, toJson } from '../store/index.js';
import { transactionErrors } from './errors.js';
import { billingRecord, billingTotals, BILLING_EXPORT_FORMAT, type BillingRecord, type SignedChecker } from './billing.js';
import { issueLegacyId, legacyIdOwner } from './ids.js';
import { createTransactionsStore, type TransactionEventRow, type TransactionRow } from './store.js';
import { ENERGY, implausibility, POWER, registers, validateLimits, type PlausibilityLimits } from './plausibility.js';

export { transactionsMigrations } from './store.js';
export { transactionErrors } from './errors.js';
export { plausibilityDefaults, type PlausibilityLimits } from './plausibility.js';
import { TRANSACTION_STATES, type Transaction, type TransactionEventLogEntry, type TransactionState } from './types.js';
export { TRANSACTION_STATES, type Transaction, type TransactionEventLogEntry, type TransactionState };
export { billingCsv, canonicalSha256, BILLING_EXPORT_FORMAT, BILLING_RECORD_FORMAT, type BillingRecord, type SignedChecker } from './billing.js';

/** A live (not offline-queued) transaction message older than this is reported as StaleTimestamp. */
export const STALE_AFTER_S = 600;

export interface TransactionsConfig {
  /** Bounds of physically possible readings (plausibility.ts). */
  plausibility?: Partial<PlausibilityLimits>;
}

export interface TransactionsDeps {
  database: Database;
  bus: Bus;
  authorize(idToken: string): Promise<AuthorizationResult>;
  securityEvent(e: Omit<SecurityEvent, 'timestamp' | 'source' | 'critical'>): void;
  /** The station's rated power in W, when the grid registry knows it. */
  ratedPowerW?(stationId: string): number | undefined;
  /** Verifies a signed meter value for the billing record (the meter key registry); without it they are reported unchecked. */
  checkSigned?: SignedChecker;
  now?(): number;
}

/** Most transactions one billing export holds. */
const MAX_EXPORT = 10_000;
const num = (v: unknown) => (v === null || v === undefined ? undefined : Number(v));
const ms = (iso: unknown) => (typeof iso === 'string' ? Date.parse(iso) : NaN);
export const transactionKey = (stationId: string, transactionId: string) => `${stationId}:${transactionId}`;

/** Splits `<stationId>:<transactionId>` (station ids never contain a colon). */
export function parseTransactionKey(id: string): { stationId: string; transactionId: string } | undefined {
  const at = id.indexOf(':');
  return at > 0 && at < id.length - 1 ? { stationId: id.slice(0, at), transactionId: id.slice(at + 1) } : undefined;
}

function toTransaction(r: TransactionRow): Transaction {
  const start = num(r.energy_start_wh);
  const stop = num(r.energy_stop_wh);
  const now = num(r.energy_wh);
  const end = stop ?? now;
  const lowest = num(r.sample_min_wh);
  const highest = num(r.sample_max_wh);
  return {
    id: r.id,
    stationId: r.station_id,
    transactionId: r.transaction_id,
    evseId: num(r.evse_id),
    connectorId: num(r.connector_id),
    idToken: r.id_token ?? undefined,
    state: r.state as TransactionState,
    authorization: r.auth_status ? { status: r.auth_status as AuthorizationStatus, at: r.auth_at as string } : undefined,
    startedAt: r.started_at ?? undefined,
    endedAt: r.ended_at ?? undefined,
    energyStartWh: start,
    energyStopWh: stop,
    energyWh: end,
    energyDeliveredWh: start !== undefined && end !== undefined ? end - start : undefined,
    sampledRegisterWh: lowest !== undefined && highest !== undefined ? { lowest, highest } : undefined,
    powerW: num(r.power_w),
    soc: num(r.soc),
    stoppedReason: r.stopped_reason ?? undefined,
    flags: fromJson<string[]>(r.flags ?? '[]'),
    abandonedBy: r.abandoned_by ?? undefined,
    events: Number(r.events),
    seqGaps: Number(r.seq_gaps),
    offlineEvents: Number(r.offline_events),
    lateEvents: Number(r.late_events ?? 0),
    implausibleEvents: Number(r.implausible_events ?? 0),
    updatedAt: r.updated_at,
  };
}

function latest(e: TransactionEventIn, measurand: string): number | undefined {
  let found: { value: number; at: number } | undefined;
  for (const s of e.meter) {
    if (s.measurand !== measurand || s.phase || !Number.isFinite(s.value)) continue;
    const at = ms(s.timestamp);
    if (!found || at >= found.at) found = { value: s.value, at };
  }
  return found?.value;
}

/** When the message's readings were taken: its newest sample, else its own timestamp. */
function sampleTime(e: TransactionEventIn): number {
  let t = NaN;
  for (const s of e.meter) {
    const at = ms(s.timestamp);
    if (Number.isFinite(at) && !(at <= t)) t = at;
  }
  return Number.isFinite(t) ? t : ms(e.timestamp);
}

/** A transaction event found stored by a racing message after this one had read the log. */
const EVENT_RACED = 'TRANSACTION_EVENT_RACED';

/** PostgreSQL unique_violation, SQLite's key and unique constraint failures, or an event raced (all: run the message again). */
function isRace(err: unknown): boolean {
  const code = String((err as { code?: unknown })?.code ?? '');
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === EVENT_RACED;
}

const union = (a: string[], b: Iterable<string>) => [...new Set([...a, ...b])];

interface Outcome {
  tx: Transaction;
  duplicate: boolean;
  /** This message's own flags (what kept it from changing the record). */
  flags: string[];
  /** Open transactions on the same connector that this start abandoned. */
  abandoned: Transaction[];
}

/**
 * The record after one message. Lifecycle facts (state, times, stop reason,
 * authorization) apply unless the transaction is already settled; readings
 * (registers, power, SoC) apply only from an in-order, plausible message.
 */
function nextRow(existing: TransactionRow | undefined, e: TransactionEventIn, c: { key: string; stationId: string; transactionId: string; auth?: AuthorizationResult; implausible: string[]; nowIso: string; slackWh: number }) {
  const flags: string[] = c.implausible.map((r) => `implausible:${r}`);
  const plausible = c.implausible.length === 0;
  const closed = !!existing && (existing.ended_at !== null || existing.abandoned_by !== null);
  // An abandoned transaction's own Ended still settles it (its stop was late, not missing).
  const settlesAbandoned = !!existing && e.kind === 'Ended' && existing.ended_at === null && existing.abandoned_by !== null;
  const afterEnd = closed && !settlesAbandoned;
  const maxSeq = num(existing?.max_seq_no);
  const lastAt = ms(existing?.last_sample_at);
  // Samples are ordered by seqNo where the station numbers its messages (2.x), else by their timestamps (1.6).
  const late = !afterEnd && !!existing && e.kind === 'Updated' && (e.seqNo !== undefined ? maxSeq !== undefined && e.seqNo < maxSeq : Number.isFinite(lastAt) && !(sampleTime(e) > lastAt));
  if (afterEnd) flags.push('afterEnd');
  if (late) flags.push('late');
  const apply = plausible && !afterEnd && !late;
  // Stored in one form (UTC, milliseconds) so periods compare as text; an implausible time gives way to the receipt time.
  const ts = c.implausible.some((r) => r.startsWith('timestamp')) ? c.nowIso : new Date(ms(e.timestamp)).toISOString();

  let state: TransactionState = (existing?.state as TransactionState | undefined) ?? (e.kind === 'Started' ? 'Started' : e.kind);
  const txFlags = new Set<string>(fromJson<string[]>(existing?.flags ?? '[]'));
  if (!existing && e.kind !== 'Started') txFlags.add('noStart');
  if (existing && !afterEnd) {
    if (e.kind === 'Ended') state = state === 'Refused' ? 'Refused' : 'Ended';
    else if (state === 'Started' && e.kind === 'Updated' && !late) state = 'Updated';
  }
  if (settlesAbandoned) txFlags.add('lateEnd');
  let authStatus = existing?.auth_status ?? null;
  let authAt = existing?.auth_at ?? null;
  if (c.auth && !afterEnd) {
    authStatus = c.auth.status;
    authAt = c.nowIso;
    if (c.auth.status !== 'Accepted' && (state === 'Started' || state === 'Updated')) state = 'Refused';
    else if (c.auth.status === 'Accepted' && state === 'Refused' && e.kind !== 'Ended') state = 'Updated';
  }
  if (state === 'Refused') txFlags.add('refused');

  let start = num(existing?.energy_start_wh);
  let stop = num(existing?.energy_stop_wh);
  let energy = num(existing?.energy_wh);
  let lowest = num(existing?.sample_min_wh);
  let highest = num(existing?.sample_max_wh);
  let power = num(existing?.power_w);
  let soc = num(existing?.soc);
  let lastSampleAt: string | null = existing?.last_sample_at ?? null;
  if (apply) {
    const regs = registers(e).filter((r) => Number.isFinite(r.wh)).sort((a, b) => a.atMs - b.atMs);
    // A 1.6 meterStart / meterStop is the start's or stop's own register, whatever samples ride along.
    const newest = e.energyRegisterWh !== undefined && Number.isFinite(e.energyRegisterWh) ? e.energyRegisterWh : regs.at(-1)?.wh;
    if (e.kind === 'Started' && start === undefined && newest !== undefined) start = newest;
    if (newest !== undefined && (energy === undefined || newest >= energy || e.kind === 'Ended')) energy = newest;
    if (start === undefined && regs.length) start = regs[0]!.wh;
    if (e.kind === 'Updated') {
      for (const r of regs) {
        lowest = lowest === undefined ? r.wh : Math.min(lowest, r.wh);
        highest = highest === undefined ? r.wh : Math.max(highest, r.wh);
      }
    }
    if (e.kind === 'Ended') stop = newest ?? energy;
    const at = sampleTime(e);
    if (Number.isFinite(at) && !(at <= lastAt)) lastSampleAt = new Date(at).toISOString();
    power = latest(e, POWER) ?? power;
    soc = latest(e, 'SoC') ?? soc;
  }
  if (e.kind === 'Ended' && !afterEnd) power = 0;
  // The stop register below a sample taken before it, or the start above one: the meter data disagree.
  if (stop !== undefined && highest !== undefined && stop < highest - c.slackWh) txFlags.add('samplesDisagree');
  if (start !== undefined && lowest !== undefined && start > lowest + c.slackWh) txFlags.add('samplesDisagree');
  for (const f of flags) txFlags.add(f);

  let gaps = Number(existing?.seq_gaps ?? 0);
  if (plausible && e.seqNo !== undefined && maxSeq !== undefined) {
    // seqNo grows by one per message; a jump leaves gaps, a late arrival fills one.
    if (e.seqNo > maxSeq + 1) gaps += e.seqNo - maxSeq - 1;
    else if (e.seqNo < maxSeq) gaps = Math.max(0, gaps - 1);
  }
  const row = {
    id: c.key,
    station_id: c.stationId,
    transaction_id: c.transactionId,
    evse_id: existing?.evse_id ?? e.evseId ?? null,
    connector_id: existing?.connector_id ?? e.connectorId ?? null,
    id_token: afterEnd ? existing?.id_token ?? null : e.idToken?.idToken ?? existing?.id_token ?? null,
    state,
    started_at: existing?.started_at ?? (e.kind === 'Started' ? ts : null),
    ended_at: e.kind === 'Ended' && !afterEnd ? ts : existing?.ended_at ?? null,
    energy_start_wh: start ?? null,
    energy_stop_wh: stop ?? null,
    energy_wh: energy ?? null,
    sample_min_wh: lowest ?? null,
    sample_max_wh: highest ?? null,
    last_sample_at: lastSampleAt,
    power_w: power ?? null,
    soc: soc ?? null,
    stopped_reason: afterEnd ? existing?.stopped_reason ?? null : e.stoppedReason ?? existing?.stopped_reason ?? null,
    max_seq_no: plausible && e.seqNo !== undefined ? Math.max(e.seqNo, maxSeq ?? -1) : maxSeq ?? null,
    auth_status: authStatus,
    auth_at: authAt,
    abandoned_by: existing?.abandoned_by ?? null,
    flags: toJson([...txFlags].sort()),
    events: Number(existing?.events ?? 0) + 1,
    seq_gaps: gaps,
    offline_events: Number(existing?.offline_events ?? 0) + (e.offline ? 1 : 0),
    late_events: Number(existing?.late_events ?? 0) + (late || afterEnd ? 1 : 0),
    implausible_events: Number(existing?.implausible_events ?? 0) + (plausible ? 0 : 1),
    updated_at: c.nowIso,
  };
  return { row, flags };
}

export function createTransactions(deps: TransactionsDeps, config: TransactionsConfig = {}) {
  const store = createTransactionsStore(deps.database);
  const limits = validateLimits(config.plausibility);
  const now = deps.now ?? Date.now;
  const checkSigned: SignedChecker = deps.checkSigned ?? (async () => ({ result: 'unchecked' }));

  function ratedW(stationId: string): number {
    try {
      const w = deps.ratedPowerW?.(stationId);
      if (typeof w === 'number' && Number.isFinite(w) && w > 0) return w;
    } catch {
      // A failing registry lookup falls back to the default rating.
    }
    return limits.defaultMaxPowerW;
  }

  /**
   * Two messages creating the same record at once on PostgreSQL (retransmissions
   * of one 1.6 start, or a 2.x Started racing its first Updated) can both miss
   * the other's row; the loser's insert violates a key and the whole database
   * transaction simply runs again (and finds the winner's row).
   */
  async function record(ctx: StationContext, e: TransactionEventIn, auth: AuthorizationResult | undefined): Promise<Outcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await recordOnce(ctx, e, auth);
      } catch (err) {
        if (attempt >= 20 || !isRace(err)) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
      }
    }
  }

  async function recordOnce(ctx: StationContext, e: TransactionEventIn, auth: AuthorizationResult | undefined): Promise<Outcome> {
    return store.transaction(ctx.stationId, async (tx) => {
      const transactionId = e.transactionId ?? (await issueLegacyId(tx, ctx.stationId, e.dedupKey));
      const key = transactionKey(ctx.stationId, transactionId);
      // The reads go out together (one round trip on PostgreSQL). A station's messages are handled as
      // they arrive, not one after another: the row is locked so that a racing message waits, and the
      // event log is read after the lock, so it holds what the first one wrote.
      const [owner, existing, stored] = await Promise.all([
        e.transactionId !== undefined && e.idIssuedByCsms ? legacyIdOwner(tx, ctx.stationId, transactionId) : 'issued',
        tx.getForUpdate(key),
        tx.eventStored(key, e.dedupKey),
      ]);
      // The station hears the same answer either way: which ids other stations hold is none of its business.
      if (owner !== 'issued') throw transactionErrors.TRANSACTION_NOT_ISSUED(`Transaction ${transactionId} was not issued to this station`, { details: { owner } });
      if (stored && existing) {
        // A retransmission of a message already stored: acknowledge, change nothing.
        return { tx: toTransaction(existing), duplicate: true, flags: [], abandoned: [] };
      }
      const nowMs = now();
      const nowIso = new Date(nowMs).toISOString();
      const prior = { energyWh: num(existing?.energy_wh), atMs: existing ? (Number.isFinite(ms(existing.last_sample_at)) ? ms(existing.last_sample_at) : ms(existing.started_at)) : undefined, maxSeqNo: num(existing?.max_seq_no) };
      const implausible = implausibility(e, prior, ratedW(ctx.stationId), nowMs, limits);
      const { row, flags } = nextRow(existing, e, { key, stationId: ctx.stationId, transactionId, auth, implausible, nowIso, slackWh: limits.slackWh });
      const abandoned: Transaction[] = [];
      if (!existing && e.kind === 'Started' && row.evse_id !== null) {
        // Open transactions on this connector that never ended: the new start leaves them behind.
        const open = await tx.openOnEvse(ctx.stationId, row.evse_id, key);
        for (const o of open) {
          const flagsOf = union(fromJson<string[]>(o.flags ?? '[]'), ['abandoned']).sort();
          const change = { state: o.state === 'Refused' ? 'Refused' : 'Abandoned', abandoned_by: key, power_w: 0, flags: toJson(flagsOf), updated_at: nowIso };
          await tx.update(o.id, change);
          abandoned.push(toTransaction({ ...o, ...change }));
        }
      }
      // The writes go out together too.
      const [inserted] = await Promise.all([stored ? false : tx.insertEvent({
        transaction_id: key,
        dedup_key: e.dedupKey,
        station_id: ctx.stationId,
        kind: e.kind,
        seq_no: e.seqNo !== undefined && Number.isSafeInteger(e.seqNo) && Math.abs(e.seqNo) <= 2_147_483_647 ? e.seqNo : null,
        timestamp: e.timestamp,
        offline: e.offline ? 1 : 0,
        payload: toJson({ meter: e.meter, energyRegisterWh: e.energyRegisterWh, triggerReason: e.triggerReason, stoppedReason: e.stoppedReason, chargingState: e.chargingState, idToken: e.idToken?.idToken }),
        flags: toJson(flags),
        received_at: nowIso,
      }), existing ? tx.updateRecord(row, existing) : tx.insert(row)]);
      // Stored meanwhile by a message that raced this one with no record to lock yet (another node):
      // everything here is undone and the message runs again, to find it stored.
      if (!stored && !inserted) throw Object.assign(new Error('the transaction event was stored by a racing message'), { code: EVENT_RACED });
      return { tx: toTransaction(row), duplicate: false, flags, abandoned };
    });
  }

  function publish(ctx: StationContext, e: TransactionEventIn, out: Outcome): void {
    const change: TransactionChanged = {
      stationId: ctx.stationId,
      transactionId: out.tx.transactionId,
      eventType: e.kind,
      seqNo: e.seqNo ?? out.tx.events - 1,
      timestamp: e.timestamp,
      evseId: e.evseId,
      connectorId: e.connectorId,
      idToken: e.idToken?.idToken,
      energyWh: latest(e, ENERGY) ?? e.energyRegisterWh,
      powerW: latest(e, POWER),
      soc: latest(e, 'SoC'),
      signedMeterValues: e.meter.filter((m) => m.signed).map((m) => m.signed!),
      state: out.tx.state,
      flags: out.flags,
    };
    deps.bus.publish(Topics.transactionChanged, change, ctx.stationId);
    for (const t of out.abandoned) {
      // No station message: no seqNo. Subscribers see the transaction end (the grid drops its load).
      deps.bus.publish(Topics.transactionChanged, {
        stationId: t.stationId, transactionId: t.transactionId, eventType: 'Ended', timestamp: new Date(now()).toISOString(),
        evseId: t.evseId, connectorId: t.connectorId, state: t.state, flags: ['abandoned'],
      } satisfies TransactionChanged, ctx.stationId);
    }
  }

  return {
    async event(ctx: StationContext, e: TransactionEventIn): Promise<TransactionEventResult> {
      // A message the station sends live (2.x offline=false; 1.6 has no such flag) with a timestamp far in the past is a replay signal.
      const ageS = (now() - Date.parse(e.timestamp)) / 1000;
      if (e.offline === false && ageS > STALE_AFTER_S) {
        deps.securityEvent({ stationId: ctx.stationId, remoteAddress: ctx.remoteAddress, type: 'StaleTimestamp', techInfo: `TransactionEvent ${e.kind} seqNo ${e.seqNo ?? '-'} is ${Math.round(ageS)} s old but not marked offline` });
      }
      // The decision comes first, outside the database transaction, and is stored with the record.
      const auth = e.idToken && e.kind !== 'Ended' ? await deps.authorize(e.idToken.idToken) : undefined;
      let out: Outcome;
      try {
        out = await record(ctx, e, auth);
      } catch (err) {
        if ((err as { code?: string }).code === 'TRANSACTION_NOT_ISSUED') {
          const owner = (err as { details?: { owner?: string } }).details?.owner === 'foreign' ? 'issued to another station' : 'never issued';
          deps.securityEvent({ stationId: ctx.stationId, remoteAddress: ctx.remoteAddress, type: 'ForeignTransaction', techInfo: `${e.kind} for transaction ${e.transactionId}, ${owner}` });
        }
        throw err;
      }
      if (!out.duplicate) publish(ctx, e, out);
      const authorization = out.duplicate && e.idToken && e.kind !== 'Ended'
        ? { status: out.tx.authorization?.status ?? 'Invalid' }
        : auth ?? (e.idToken ? { status: 'Accepted' as const } : undefined);
      return { transactionId: out.tx.transactionId, authorization };
    },

    async list(q: { stationId?: string; state?: TransactionState; endedFrom?: string; endedTo?: string; limit?: number; offset?: number } = {}): Promise<Transaction[]> {
      const rows = await store.list({ ...q, limit: Math.min(q.limit ?? 100, 10_000), offset: q.offset ?? 0 });
      return rows.map(toTransaction);
    },

    /** Whether the station has a transaction that neither ended nor was abandoned, by the record. */
    hasOpen: (stationId: string): Promise<boolean> => store.hasOpen(stationId),

    /** One transaction by its id (`<stationId>:<transactionId>`), with its event log in arrival order. */
    async get(id: string): Promise<Transaction & { eventLog: TransactionEventLogEntry[] }> {
      const r = await store.get(id);
      if (!r) throw transactionErrors.TRANSACTION_UNKNOWN(parseTransactionKey(id) ? `No transaction ${id}` : `No transaction ${id}: name it <stationId>:<transactionId>`);
      const events = await store.events(id);
      return { ...toTransaction(r), eventLog: events.map(toLogEntry) };
    },

    /** The billing record of one transaction: energy, signed meter values with their verification, event log, hash. */
    async billing(id: string): Promise<BillingRecord> {
      return billingRecord(await this.get(id), checkSigned);
    },

    /** Billing records of the transactions that ended in [from, to), for the fleet or one station. */
    async billingExport(q: { from: string; to: string; stationId?: string }) {
      const from = Date.parse(q.from);
      const to = Date.parse(q.to);
      if (!(from < to)) throw transactionErrors.TRANSACTION_QUERY_INVALID('from must be a date-time before to');
      const ended = await this.list({ stationId: q.stationId, endedFrom: new Date(from).toISOString(), endedTo: new Date(to).toISOString(), limit: MAX_EXPORT + 1 });
      if (ended.length > MAX_EXPORT) throw transactionErrors.TRANSACTION_QUERY_INVALID(`More than ${MAX_EXPORT} transactions ended in this period; export a shorter one`);
      const records: BillingRecord[] = [];
      for (const t of ended.sort((a, b) => (a.endedAt! < b.endedAt! ? -1 : a.endedAt! > b.endedAt! ? 1 : a.id < b.id ? -1 : 1))) records.push(await this.billing(t.id));
      return { format: BILLING_EXPORT_FORMAT, from: new Date(from).toISOString(), to: new Date(to).toISOString(), stationId: q.stationId, totals: billingTotals(records), records };
    },
  };
}

function toLogEntry(ev: TransactionEventRow): TransactionEventLogEntry {
  const p = fromJson<Record<string, unknown>>(ev.payload) ?? {};
  return {
    kind: ev.kind,
    seqNo: num(ev.seq_no),
    timestamp: ev.timestamp,
    receivedAt: ev.received_at,
    offline: Number(ev.offline) === 1,
    flags: fromJson<string[]>(ev.flags ?? '[]'),
    ...p,
  } as TransactionEventLogEntry;
}

export type Transactions = ReturnType<typeof createTransactions>;
