/**
 * A fleet of simulated stations for load tests, benchmarks and the demo:
 * N stations in a chosen mix of OCPP versions, connected with bounded
 * concurrency, a share of them charging with periodic meter values.
 */
import { EvguardError } from '../errors.js';
import { simErrors } from './errors.js';
import { createSimValidators } from './schemas.js';
import { createSimStation } from './station.js';
import type { CallRecord, OcppVersion, SecurityProfile, SimStation, SimTlsOptions } from './types.js';
import type { SimFirmwareOptions } from './types.js';

export interface FleetOptions {
  url: string;
  count: number;
  /** Relative weights, e.g. { '1.6': 1, '2.0.1': 2 }. */
  mix: Partial<Record<OcppVersion, number>>;
  securityProfile: SecurityProfile;
  passwordFor?: (id: string) => string;
  /** Station ids are `<idPrefix>-<n>`, n zero-padded. Default 'SIM'. */
  idPrefix?: string;
  /** Explicit station ids (length must equal count); overrides idPrefix. */
  ids?: readonly string[];
  /** The id token a charging station's driver presents. Default `TAG<n>`, n zero-padded. */
  idTokenFor?: (index: number) => string;
  tls?: SimTlsOptions;
  /** Per-station TLS, e.g. each station's own client certificate for profile 3. */
  tlsFor?: (id: string) => SimTlsOptions;
  /** Fraction 0..1 of stations that start charging on connector 1. Default 0. */
  chargingShare?: number;
  /** Run this long after connecting, then stop; without it the fleet runs until stop(). */
  durationMs?: number;
  /** Connections opened at once. Default 50. */
  concurrency?: number;
  meterIntervalMs?: number;
  heartbeatIntervalMs?: number;
  callTimeoutMs?: number;
  maxPowerW?: number;
  /** Source addresses used in turn, to go beyond one address's ephemeral ports. */
  localAddresses?: string[];
  /** What a station reports in BootNotification. */
  vendor?: string;
  model?: string;
  firmwareVersion?: string;
  /** The firmware updater's trust: HTTPS anchors, manufacturer roots, TUF roots, CRL. */
  firmware?: SimFirmwareOptions;
  /**
   * Reconnect a station whose connection dropped, as real stations do: after
   * 1 s, doubling up to 30 s, with jitter. Default true.
   */
  reconnect?: boolean;
  onProgress?: (p: FleetProgress) => void;
}

export interface FleetProgress {
  connected: number;
  total: number;
  failed: number;
  /** Stations whose connection dropped and are not back yet. */
  offline: number;
  /** Connections lost since the start (each drop counts). */
  disconnects: number;
}

export interface FleetStats {
  total: number;
  connected: number;
  failed: number;
  open: number;
  transactionsStarted: number;
  transactionsStopped: number;
  disconnects: number;
  reconnects: number;
  calls: number;
  callFailures: number;
  /** Round-trip times of the stations' CALLs, from a bounded sample. */
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** Failure counts by error code. */
  errors: Record<string, number>;
}

export interface Fleet {
  readonly stations: readonly SimStation[];
  stats(): FleetStats;
  stop(): Promise<FleetStats>;
  /** Settles when the fleet has stopped (after durationMs, or stop()). */
  readonly done: Promise<FleetStats>;
}

const SAMPLE_LIMIT = 100_000;

/** Spreads versions over station indexes in proportion to the weights, interleaved. */
export function versionPlan(count: number, mix: Partial<Record<OcppVersion, number>>): OcppVersion[] {
  const weights = (Object.entries(mix) as [OcppVersion, number][]).filter(([, w]) => typeof w === 'number' && w > 0);
  const total = weights.reduce((s, [, w]) => s + w, 0);
  if (weights.length === 0 || !Number.isFinite(total)) throw simErrors.SIM_BAD_OPTIONS('mix needs at least one version with a positive weight');
  const assigned = new Map<OcppVersion, number>();
  const plan: OcppVersion[] = [];
  for (let i = 0; i < count; i++) {
    let best = weights[0]![0];
    let bestDeficit = -Infinity;
    for (const [version, w] of weights) {
      const deficit = (w / total) * (i + 1) - (assigned.get(version) ?? 0);
      if (deficit > bestDeficit) [best, bestDeficit] = [version, deficit];
    }
    assigned.set(best, (assigned.get(best) ?? 0) + 1);
    plan.push(best);
  }
  return plan;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runFleet(opts: FleetOptions): Promise<Fleet> {
  if (!Number.isInteger(opts.count) || opts.count < 1 || opts.count > 1_000_000) throw simErrors.SIM_BAD_OPTIONS('count must be an integer in 1..1000000');
  const share = opts.chargingShare ?? 0;
  if (!(share >= 0 && share <= 1)) throw simErrors.SIM_BAD_OPTIONS('chargingShare must be in 0..1');
  const concurrency = opts.concurrency ?? 50;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw simErrors.SIM_BAD_OPTIONS('concurrency must be a positive integer');
  const plan = versionPlan(opts.count, opts.mix);
  const validators = createSimValidators();
  const width = String(opts.count).length;
  const prefix = opts.idPrefix ?? 'SIM';
  if (opts.ids && opts.ids.length !== opts.count) throw simErrors.SIM_BAD_OPTIONS(`ids has ${opts.ids.length} entries for a count of ${opts.count}`);
  const idTokenFor = opts.idTokenFor ?? ((index: number) => `TAG${String(index + 1).padStart(6, '0')}`);
  const charging = Math.round(opts.count * share);

  const counters = { connected: 0, failed: 0, transactionsStarted: 0, transactionsStopped: 0, disconnects: 0, reconnects: 0, calls: 0, callFailures: 0 };
  const errors: Record<string, number> = {};
  const samples: number[] = [];
  const countError = (err: unknown) => {
    const own = (err as { code?: unknown })?.code;
    const code = err instanceof EvguardError ? err.code : typeof own === 'string' ? own : 'UNEXPECTED';
    errors[code] = (errors[code] ?? 0) + 1;
  };
  const onCall = (record: CallRecord) => {
    counters.calls++;
    if (!record.ok) counters.callFailures++;
    // Reservoir sampling keeps memory bounded for long runs.
    if (samples.length < SAMPLE_LIMIT) samples.push(record.ms);
    else {
      const j = Math.floor(Math.random() * counters.calls);
      if (j < SAMPLE_LIMIT) samples[j] = record.ms;
    }
  };

  const stations: SimStation[] = plan.map((ocppVersion, i) => {
    const id = opts.ids?.[i] ?? `${prefix}-${String(i + 1).padStart(width, '0')}`;
    const station = createSimStation({
      url: opts.url,
      id,
      ocppVersion,
      securityProfile: opts.securityProfile,
      password: opts.passwordFor?.(id),
      tls: opts.tlsFor?.(id) ?? opts.tls,
      meterIntervalMs: opts.meterIntervalMs,
      heartbeatIntervalMs: opts.heartbeatIntervalMs,
      callTimeoutMs: opts.callTimeoutMs,
      maxPowerW: opts.maxPowerW,
      localAddress: opts.localAddresses?.length ? opts.localAddresses[i % opts.localAddresses.length] : undefined,
      validators,
      vendor: opts.vendor,
      model: opts.model,
      firmwareVersion: opts.firmwareVersion,
      firmware: opts.firmware,
    });
    station.on('call', onCall);
    station.on('failure', ({ error }: { error: unknown }) => countError(error));
    station.on('disconnect', () => {
      counters.disconnects++;
      progress();
      if (opts.reconnect !== false) scheduleReconnect(station, 1000);
    });
    return station;
  });

  const progress = () => opts.onProgress?.({
    connected: counters.connected, total: opts.count, failed: counters.failed,
    offline: stations.filter((s) => s.state === 'offline').length, disconnects: counters.disconnects,
  });
  let stopped = false;
  const reconnectTimers = new Set<NodeJS.Timeout>();
  /** Retries until the station is back or the fleet stops; transactions in progress carry on. */
  const scheduleReconnect = (station: SimStation, delayMs: number) => {
    const timer = setTimeout(async () => {
      reconnectTimers.delete(timer);
      if (stopped || station.state !== 'offline') return;
      try {
        await station.reconnect();
        counters.reconnects++;
        progress();
      } catch {
        if (!stopped && station.state === 'offline') scheduleReconnect(station, Math.min(delayMs * 2, 30_000));
      }
    }, delayMs * (0.5 + Math.random()));
    timer.unref();
    reconnectTimers.add(timer);
  };

  const stats = (): FleetStats => {
    const sorted = [...samples].sort((a, b) => a - b);
    return {
      total: opts.count,
      ...counters,
      open: stations.filter((s) => s.state === 'open').length,
      latencyMs: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 },
      errors: { ...errors },
    };
  };

  const pool = async (work: (station: SimStation, index: number) => Promise<void>) => {
    let next = 0;
    const worker = async () => {
      while (next < stations.length) {
        const index = next++;
        await work(stations[index]!, index);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, stations.length) }, worker));
  };

  await pool(async (station, index) => {
    try {
      const boot = await station.connect();
      if (boot.status !== 'Accepted') throw simErrors.SIM_CONNECT_FAILED(`boot ${boot.status}`);
      counters.connected++;
      if (index < charging) {
        await station.startCharging({ connectorId: 1, idToken: idTokenFor(index) });
        counters.transactionsStarted++;
      }
    } catch (err) {
      if (station.state !== 'open') {
        counters.failed++;
        await station.close();
      }
      countError(err);
    }
    progress();
  });

  let stopping: Promise<FleetStats> | undefined;
  let durationTimer: NodeJS.Timeout | undefined;
  const stop = (): Promise<FleetStats> => {
    clearTimeout(durationTimer);
    stopped = true;
    for (const t of reconnectTimers) clearTimeout(t);
    stopping ??= (async () => {
      await pool(async (station) => {
        if (station.state === 'open' && station.transactionId(1) !== undefined) {
          try {
            await station.stopCharging(1, 'Local');
            counters.transactionsStopped++;
          } catch (err) {
            countError(err);
          }
        }
        await station.close();
      });
      return stats();
    })();
    return stopping;
  };
  let settle!: (s: FleetStats) => void;
  const done = new Promise<FleetStats>((resolve) => { settle = resolve; });
  const stopAndSettle = () => stop().then((s) => { settle(s); return s; });
  if (opts.durationMs !== undefined) durationTimer = setTimeout(() => void stopAndSettle(), opts.durationMs);
  return { stations, stats, stop: stopAndSettle, done };
}
