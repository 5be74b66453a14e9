/**
 * A forked load process for the soak: runs many hostile stations at once,
 * each connecting (and reconnecting after every close) with its own password
 * and OCPP version, and sending attacks from the catalogue until the frame
 * quota or the deadline is reached. Reports progress and a final tally to
 * the parent over IPC. Kept out of the parent so that its CPU does not sit in
 * the same event loop as the supervisor's /healthz and memory sampling.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BOOT, pickAttack, type AttackContext, type Version } from './hostile.js';
import { connectWire, encodeFrame, OP, UpgradeRefused, type Endpoint, type FrameSpec, type WireConnection } from './wire.js';

export interface HostileStation {
  id: string;
  password: string;
  version: Version;
  tls: boolean;
  /** Loopback source address the station connects from. */
  address: string;
}

export interface WorkerJob {
  host: string;
  httpPort: number;
  tlsPort: number;
  stations: HostileStation[];
  frames: number;
  deadline: number;
  seed: number;
}

export interface WorkerTally {
  frames: number;
  bytes: number;
  byAttack: Record<string, number>;
  connections: number;
  refused: Record<string, number>;
  peerCloses: Record<string, number>;
  received: { frames: number; callErrors: number; callResults: number; calls: number };
  drainTimeouts: number;
  /** CPU time of this load process, ms: shows whether the generator was the limit. */
  cpuMs: number;
}

/** Small deterministic PRNG (mulberry32) so a run can be repeated with --seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A short name for why a connection attempt failed before the upgrade answered. */
export function refusalKind(err: Error & { code?: string }): string {
  if (err.code) return err.code; // ECONNREFUSED while the node restarts, ECONNRESET, …
  return /timed out/.test(err.message) ? 'upgrade timeout' : /closed/.test(err.message) ? 'closed during upgrade' : 'other';
}

export const SUBPROTOCOL: Record<Version, string> = { '1.6': 'ocpp1.6', '2.0.1': 'ocpp2.0.1', '2.1': 'ocpp2.1' };

export async function runHostile(job: WorkerJob, onProgress?: (t: WorkerTally) => void): Promise<WorkerTally> {
  const tally: WorkerTally = { frames: 0, bytes: 0, byAttack: {}, connections: 0, refused: {}, peerCloses: {}, received: { frames: 0, callErrors: 0, callResults: 0, calls: 0 }, drainTimeouts: 0, cpuMs: 0 };
  const cpuAtStart = process.cpuUsage();
  const cpu = () => {
    const u = process.cpuUsage(cpuAtStart);
    tally.cpuMs = Math.round((u.user + u.system) / 1000);
  };
  const done = () => tally.frames >= job.frames || Date.now() >= job.deadline;
  const progress = setInterval(() => (cpu(), onProgress?.(tally)), 1000);

  async function station(s: HostileStation, rng: () => number) {
    const endpoint: Endpoint = { host: job.host, port: s.tls ? job.tlsPort : job.httpPort, tls: s.tls };
    let n = 0;
    while (!done()) {
      let conn: WireConnection;
      try {
        conn = await connectWire({ ...endpoint, stationId: s.id, password: s.password, subprotocol: SUBPROTOCOL[s.version], timeoutMs: 30_000, localAddress: s.address });
      } catch (err) {
        const key = err instanceof UpgradeRefused ? String(err.status) : refusalKind(err as Error);
        tally.refused[key] = (tally.refused[key] ?? 0) + 1;
        // 409 while the node still holds the previous session; anything else: the node may be restarting.
        await sleep(key === '409' ? 100 + rng() * 400 : 250 + rng() * 750);
        continue;
      }
      tally.connections++;
      let current = 'boot';
      const count = (bytes: number) => {
        tally.frames++;
        tally.bytes += bytes;
        tally.byAttack[current] = (tally.byAttack[current] ?? 0) + 1;
      };
      const write = async (bytes: Buffer, split?: 'bytes' | 'chunks'): Promise<boolean> => {
        if (!split) {
          const ok = await conn.write(bytes);
          if (!ok && !conn.ended) tally.drainTimeouts++;
          return ok;
        }
        // Across TCP writes: every byte on its own, or a few random cuts, with the event loop turning in between.
        const cuts = split === 'bytes' ? Math.min(bytes.length, 64) : 2 + Math.floor(rng() * 4);
        let at = 0;
        for (let i = 0; i < cuts && at < bytes.length; i++) {
          const end = i === cuts - 1 ? bytes.length : Math.min(bytes.length, at + Math.max(1, Math.floor(split === 'bytes' ? 1 : rng() * (bytes.length - at))));
          if (!(await conn.write(bytes.subarray(at, end)))) return false;
          at = end;
          await new Promise((r) => setImmediate(r));
        }
        return at >= bytes.length ? true : conn.write(bytes.subarray(at));
      };
      const ctx: AttackContext = {
        conn,
        version: s.version,
        rng,
        id: () => `${s.id.slice(-4)}-${(++n).toString(36)}`,
        async send(spec: FrameSpec, split) {
          if (conn.ended) return false;
          const bytes = encodeFrame(spec);
          count(bytes.length);
          return write(bytes, split);
        },
        async raw(bytes, frame) {
          if (conn.ended) return false;
          if (frame) count(bytes.length);
          else tally.bytes += bytes.length;
          return write(bytes);
        },
        sleep: (ms) => sleep(ms),
      };
      if (rng() < 0.6) await ctx.send({ opcode: OP.text, payload: JSON.stringify([2, ctx.id(), 'BootNotification', BOOT[s.version]]) });
      const attacks = 1 + Math.floor(rng() * 40);
      for (let i = 0; i < attacks && conn.open && !done(); i++) {
        const a = pickAttack(rng);
        current = a.name;
        await a.run(ctx);
        // Let the event loop read what the node answered (and its Close).
        if (i % 4 === 3) await new Promise((r) => setImmediate(r));
      }
      // Leave: abruptly, or with a Close handshake, or after the node's own Close.
      if (!conn.ended && rng() < 0.5 && conn.peerClose === undefined) {
        const code = Buffer.alloc(2);
        code.writeUInt16BE(1000);
        await ctx.send({ opcode: OP.close, payload: code });
        await conn.closed(2000);
      }
      conn.destroy();
      await conn.closed(1000);
      if (conn.peerClose !== undefined) tally.peerCloses[conn.peerClose] = (tally.peerCloses[conn.peerClose] ?? 0) + 1;
      tally.received.frames += conn.received.frames;
      tally.received.callErrors += conn.received.callErrors;
      tally.received.callResults += conn.received.callResults;
      tally.received.calls += conn.received.calls;
    }
  }

  const root = prng(job.seed);
  await Promise.all(job.stations.map((s) => station(s, prng(Math.floor(root() * 2 ** 32)))));
  clearInterval(progress);
  cpu();
  return tally;
}

// Forked by the soak: one job in, progress and the tally out.
if (process.send && process.argv.includes('--hostile-worker')) {
  process.once('message', (job: WorkerJob) => {
    runHostile(job, (t) => process.send!({ progress: t }))
      .then((t) => process.send!({ done: t }, () => process.exit(0)))
      .catch((err) => process.send!({ error: String(err?.stack ?? err) }, () => process.exit(1)));
  });
  process.send({ ready: true });
}
