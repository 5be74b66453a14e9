/**
 * One load-generator process (forked by bench/run.ts). It drives either
 * simulated stations (src/sim runFleet, TLS, security profile 2) against an
 * evguard node, or bare WebSocket clients against the echo baseline, from its
 * own loopback source addresses, and reports what it measured over IPC.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createSecureContext, type SecureContext } from 'node:tls';
import WebSocket from 'ws';
import { runFleet, type Fleet, type SimStation } from '../src/sim/index.js';

export type Command =
  /** Adds `ids.length` connections to those already held (the benchmark connects in two steps). */
  | { cmd: 'connect'; target: 'evguard' | 'echo'; url: string; ids: string[]; password: string; ca: string | string[]; localAddresses: string[]; chargingShare: number; heartbeatMs: number; meterMs: number; concurrency: number }
  | { cmd: 'realistic'; durationMs: number }
  | { cmd: 'saturate'; durationMs: number }
  | { cmd: 'storm'; deadlineMs: number; /** false: every station forgets its TLS session first (a full handshake each). */ resume: boolean }
  | { cmd: 'stop' };

export interface PhaseReport {
  ok: boolean;
  error?: string;
  open: number;
  calls: number;
  failures: number;
  samples: number[];
  cpuMs: number;
  elapsedMs: number;
  /** This process's event-loop delay during the phase (ms): a stalled generator stamps its answers late. */
  loopDelay: { p99Ms: number; maxMs: number };
  errors?: Record<string, number>;
  /** Why attempts failed, by error code or message (the storm's retries). */
  reasons?: Record<string, number>;
}

/** A connection either kind of target can drive the same way. */
interface Peer {
  readonly open: boolean;
  /** One request and its answer; resolves with the round trip in ms. */
  roundTrip(kind: 'heartbeat' | 'meter'): Promise<number>;
  reconnect(): Promise<void>;
  /** The next connection makes a full TLS handshake. */
  forgetTlsSession(): void;
  charging: boolean;
  close(): Promise<void>;
}

let peers: Peer[] = [];
const fleets: Fleet[] = [];
let timers: NodeJS.Timeout[] = [];

function cpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function measure(work: (rec: (ms: number) => void, fail: (err?: unknown) => void) => Promise<void>): Promise<PhaseReport> {
  const samples: number[] = [];
  let failures = 0;
  const reasons: Record<string, number> = {};
  const c0 = cpuMs();
  const t0 = performance.now();
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  await work(
    (ms) => samples.push(ms),
    (err) => {
      failures++;
      if (err === undefined) return;
      const reason = reasonOf(err);
      reasons[reason] = (reasons[reason] ?? 0) + 1;
    },
  );
  delay.disable();
  // The histogram holds whole timer intervals: the 10 ms resolution is taken off, leaving the delay.
  const loopDelay = { p99Ms: Math.max(0, delay.percentile(99) / 1e6 - 10), maxMs: Math.max(0, delay.max / 1e6 - 10) };
  return { ok: true, open: peers.filter((p) => p.open).length, calls: samples.length, failures, reasons, samples: thin(samples), cpuMs: cpuMs() - c0, elapsedMs: performance.now() - t0, loopDelay };
}

/** A short name for a failure: the HTTP status or TLS/socket code the simulator reports, else the code, else the message. */
function reasonOf(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; details?: { httpStatus?: number; tlsCode?: string } };
  if (e?.details?.httpStatus) return `HTTP ${e.details.httpStatus}`;
  if (e?.details?.tlsCode) return e.details.tlsCode;
  const cause = (e as { cause?: { message?: unknown } })?.cause?.message;
  if (typeof cause === 'string') return cause.slice(0, 60);
  if (typeof e?.code === 'string') return e.code;
  return String(e?.message ?? err).slice(0, 60);
}

/** At most 20,000 samples back to the parent, evenly spaced after sorting (percentiles survive). */
function thin(samples: number[]): number[] {
  samples.sort((a, b) => a - b);
  if (samples.length <= 20_000) return samples;
  const step = samples.length / 20_000;
  return Array.from({ length: 20_000 }, (_, i) => samples[Math.floor(i * step)]!);
}

function stationPeer(s: SimStation): Peer {
  const peer: Peer = {
    charging: s.transactionId(1) !== undefined,
    get open() {
      return s.state === 'open';
    },
    async roundTrip(kind) {
      const t = performance.now();
      if (kind === 'meter' && peer.charging) await s.sendMeterValues(1);
      else await s.heartbeat();
      return performance.now() - t;
    },
    reconnect: () => s.reconnect(),
    forgetTlsSession: () => s.forgetTlsSession(),
    close: () => s.close(),
  };
  return peer;
}

function echoPeer(url: string, secureContext: SecureContext, localAddress: string, charging: boolean): Peer {
  let ws: WebSocket | undefined;
  let pending: ((v: void) => void) | undefined;
  let seq = 0;
  const open = () =>
    new Promise<void>((resolve, reject) => {
      // One secure context for every connection, as the simulated stations share theirs (src/sim/link.ts).
      const sock = new WebSocket(url, ['ocpp2.0.1'], { secureContext, localAddress, perMessageDeflate: false } as WebSocket.ClientOptions);
      sock.once('open', () => {
        ws = sock;
        resolve();
      });
      sock.once('error', reject);
      sock.on('message', () => {
        const p = pending;
        pending = undefined;
        p?.();
      });
      sock.once('close', () => {
        if (ws === sock) ws = undefined;
      });
    });
  // The same frames the stations send, so the bytes on the wire match.
  const heartbeat = () => `[2,"${++seq}","Heartbeat",{}]`;
  const meter = () => `[2,"${++seq}","MeterValues",{"evseId":1,"meterValue":[{"timestamp":"${new Date().toISOString()}","sampledValue":[{"value":1234.5,"measurand":"Energy.Active.Import.Register"},{"value":7200,"measurand":"Power.Active.Import"}]}]}]`;
  const peer: Peer = {
    charging,
    get open() {
      return ws?.readyState === WebSocket.OPEN;
    },
    async roundTrip(kind) {
      if (!ws) throw new Error('closed');
      const t = performance.now();
      await new Promise<void>((resolve) => {
        pending = resolve;
        ws!.send(kind === 'meter' && charging ? meter() : heartbeat());
      });
      return performance.now() - t;
    },
    reconnect: open,
    // The baseline's clients make a full handshake every time.
    forgetTlsSession: () => undefined,
    async close() {
      ws?.terminate();
    },
  };
  (peer as any).start = open;
  return peer;
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  }));
}

let settings: Extract<Command, { cmd: 'connect' }>;

async function handle(c: Command): Promise<PhaseReport> {
  switch (c.cmd) {
    case 'connect': {
      settings = c;
      return measure(async (rec, fail) => {
        if (c.target === 'evguard') {
          const fleet = await runFleet({
            url: c.url,
            count: c.ids.length,
            ids: c.ids,
            mix: { '2.0.1': 3, '1.6': 1 },
            securityProfile: 2,
            passwordFor: () => c.password,
            tls: { ca: c.ca },
            chargingShare: c.chargingShare,
            concurrency: c.concurrency,
            localAddresses: c.localAddresses,
            callTimeoutMs: 60_000,
            // The storm phase reconnects the stations itself, in pools; the fleet's own
            // retries would race it ("already connecting") and are not what is measured.
            reconnect: false,
          });
          fleets.push(fleet);
          peers.push(...fleet.stations.map(stationPeer));
          const s = fleet.stats();
          for (let i = 0; i < s.connected; i++) rec(0);
          for (let i = 0; i < s.failed; i++) fail();
        } else {
          const charging = Math.round(c.ids.length * c.chargingShare);
          const context = createSecureContext({ ca: c.ca });
          const added = c.ids.map((_, i) => echoPeer(c.url, context, c.localAddresses[i % c.localAddresses.length]!, i < charging));
          peers.push(...added);
          await pool(added, c.concurrency, async (p) => {
            try {
              await (p as any).start();
              rec(0);
            } catch {
              fail();
            }
          });
        }
      });
    }
    case 'realistic':
      // Each connection on its own timers, with random phases, as a fleet would be.
      return measure(async (rec, fail) => {
        const drive = (p: Peer, kind: 'heartbeat' | 'meter', every: number) => {
          const tick = () => {
            if (!p.open) return;
            p.roundTrip(kind).then(rec, fail);
          };
          const first = setTimeout(() => {
            tick();
            timers.push(setInterval(tick, every));
          }, Math.random() * every);
          timers.push(first);
        };
        for (const p of peers) {
          drive(p, 'heartbeat', settings.heartbeatMs);
          if (p.charging) drive(p, 'meter', settings.meterMs);
        }
        await new Promise((r) => setTimeout(r, c.durationMs));
        for (const t of timers) clearTimeout(t), clearInterval(t);
        timers = [];
        // Let answers in flight land.
        await new Promise((r) => setTimeout(r, 1000));
      });
    case 'saturate':
      // Closed loop: every connection sends its next message as soon as the answer arrives.
      return measure(async (rec, fail) => {
        const until = performance.now() + c.durationMs;
        await Promise.all(peers.map(async (p) => {
          while (performance.now() < until && p.open) {
            try {
              rec(await p.roundTrip('meter'));
            } catch {
              fail();
            }
          }
        }));
      });
    case 'storm':
      return measure(async (rec, fail) => {
        if (!c.resume) for (const p of peers) p.forgetTlsSession();
        const until = performance.now() + c.deadlineMs;
        const t0 = performance.now();
        await pool(peers, settings.concurrency, async (p) => {
          while (!p.open && performance.now() < until) {
            try {
              await p.reconnect();
            } catch (err) {
              fail(err);
              await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
            }
          }
          if (p.open) rec(performance.now() - t0);
        });
      });
    case 'stop':
      return measure(async () => {
        for (const t of timers) clearTimeout(t), clearInterval(t);
        if (fleets.length) await Promise.all(fleets.map((f) => f.stop()));
        else await Promise.all(peers.map((p) => p.close()));
      });
  }
}

/** Station errors of every fleet, added up by code. */
function fleetErrors(): Record<string, number> {
  const errors: Record<string, number> = {};
  for (const f of fleets) for (const [k, v] of Object.entries(f.stats().errors ?? {})) errors[k] = (errors[k] ?? 0) + (v as number);
  return errors;
}

process.on('message', (c: Command) => {
  handle(c).then(
    (report) => process.send!({ ...report, errors: fleetErrors() }),
    (err) => process.send!({ ok: false, error: String((err as Error)?.stack ?? err), open: 0, calls: 0, failures: 0, samples: [], cpuMs: 0, elapsedMs: 0, loopDelay: { p99Ms: 0, maxMs: 0 } } satisfies PhaseReport),
  );
});
process.send!({ ready: true });
// The benchmark ends a generator with SIGTERM; exiting normally lets --cpu-prof
// (EVGUARD_BENCH_LOADGEN_FLAGS) write the generator's profile.
process.on('SIGTERM', () => process.exit(0));
