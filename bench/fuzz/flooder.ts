/**
 * One station flooding the node as fast as its socket takes the bytes:
 * schema-invalid CALLs, valid CALLs (Heartbeat), or frames that are not JSON.
 * It writes batches of frames, waits only for the socket to drain (so a node
 * that stops reading slows it down: backpressure), and reconnects at once
 * whenever the node closes it. Runs in its own process (forked by the
 * fairness bench) so it has a CPU to itself as a real attacker would.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BOOT, type Version } from './hostile.js';
import { refusalKind, SUBPROTOCOL } from './hostile-worker.js';
import { connectWire, encodeFrame, OP, UpgradeRefused } from './wire.js';

export type FloodMode = 'invalid' | 'valid' | 'malformed';

export interface FloodJob {
  host: string;
  port: number;
  stationId: string;
  password: string;
  version: Version;
  mode: FloodMode;
  seconds: number;
}

export interface FloodTally {
  mode: FloodMode;
  seconds: number;
  framesSent: number;
  /** Frames the node sent back: its answers (CALLRESULT / CALLERROR) to the flood, and Close frames. */
  answers: number;
  callErrors: number;
  callResults: number;
  connections: number;
  refused: Record<string, number>;
  closedByNode: Record<string, number>;
}

const BATCH = 64;

function frameFor(mode: FloodMode, id: string): string {
  if (mode === 'valid') return JSON.stringify([2, id, 'Heartbeat', {}]);
  if (mode === 'invalid') return JSON.stringify([2, id, 'BootNotification', { reason: 42, chargingStation: 'not an object' }]);
  return `[2,"${id}","Heartbeat",{`;
}

export async function flood(job: FloodJob): Promise<FloodTally> {
  const tally: FloodTally = { mode: job.mode, seconds: job.seconds, framesSent: 0, answers: 0, callErrors: 0, callResults: 0, connections: 0, refused: {}, closedByNode: {} };
  const deadline = Date.now() + job.seconds * 1000;
  let n = 0;
  while (Date.now() < deadline) {
    let conn;
    try {
      conn = await connectWire({ host: job.host, port: job.port, tls: false, stationId: job.stationId, password: job.password, subprotocol: SUBPROTOCOL[job.version], timeoutMs: 5000 });
    } catch (err) {
      const key = err instanceof UpgradeRefused ? String(err.status) : refusalKind(err as Error);
      tally.refused[key] = (tally.refused[key] ?? 0) + 1;
      await sleep(20);
      continue;
    }
    tally.connections++;
    await conn.write(encodeFrame({ opcode: OP.text, payload: JSON.stringify([2, `boot${++n}`, 'BootNotification', BOOT[job.version]]) }));
    for (let b = 0; conn.open && Date.now() < deadline; b++) {
      // Let this process read the node's answers (and its Close) now and then.
      if (b % 16 === 15) await new Promise((r) => setImmediate(r));
      const frames: Buffer[] = [];
      for (let i = 0; i < BATCH; i++) frames.push(encodeFrame({ opcode: OP.text, payload: frameFor(job.mode, `f${++n}`) }));
      tally.framesSent += BATCH;
      if (!(await conn.write(Buffer.concat(frames), Math.max(1, deadline - Date.now())))) break;
    }
    conn.destroy();
    await conn.closed(1000);
    tally.answers += conn.received.frames;
    tally.callErrors += conn.received.callErrors;
    tally.callResults += conn.received.callResults;
    if (conn.peerClose !== undefined) tally.closedByNode[conn.peerClose] = (tally.closedByNode[conn.peerClose] ?? 0) + 1;
  }
  return tally;
}

if (process.send && process.argv.includes('--flooder')) {
  process.once('message', (job: FloodJob) => {
    flood(job)
      .then((t) => process.send!({ done: t }, () => process.exit(0)))
      .catch((err) => process.send!({ error: String(err?.stack ?? err) }, () => process.exit(1)));
  });
  process.send({ ready: true });
}
