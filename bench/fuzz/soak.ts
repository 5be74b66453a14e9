/**
 * The hostile-input soak: a real node as a supervised child process, many
 * registered stations of all three OCPP versions (profile 1 over ws://, a
 * quarter profile 2 over TLS) sending the hostile catalogue from forked
 * workers, and one honest station charging throughout. Measures, in one run:
 * the honest station alone (baseline), then during the soak; frames sent;
 * node exits (each restarted, with the stack it died with); the node's
 * resident memory; /healthz while under fire.
 */
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import type { HostileStation, WorkerJob, WorkerTally } from './hostile-worker.js';
import type { Version } from './hostile.js';
import { forkChild, machine, mib, ratio, startHonestProcess, summarize, within, type LatencySummary } from './common.js';
import { startSupervisedNode, type Crash } from './node-process.js';

export interface SoakOptions {
  frames: number;
  seconds: number;
  stations: number;
  workers: number;
  baselineSeconds: number;
  seed: number;
  databaseUrl?: string;
  log?: (m: string) => void;
}

export interface SoakResults {
  name: string;
  date: string;
  machine: ReturnType<typeof machine> & { loadAverageAtEnd: number };
  options: Omit<SoakOptions, 'log' | 'databaseUrl'> & { database: 'sqlite' | 'postgres' };
  durationS: number;
  frames: { sent: number; perSecond: number; bytes: number; byAttack: Record<string, number> };
  connections: { opened: number; refused: Record<string, number>; closedByNode: Record<string, number>; drainTimeouts: number };
  /** CPU seconds of the hostile load processes together. */
  generatorCpuSeconds: number;
  received: WorkerTally['received'];
  node: {
    crashes: number;
    crashDetails: Crash[];
    rssMiB: { beforeSoak: number; max: number; end: number };
    rssSeriesMiB: [number, number][];
    cpuSeconds: number;
    cpuShareOfOneCore: number;
    dataDirMiB: { beforeSoak: number; end: number };
  };
  healthz: { probes: number; failed: number; p50: number | null; p99: number | null; max: number | null; answeredAfterSoak: boolean };
  /** The same probe from the honest station's process: if it answers where the supervisor's did not, the supervisor was starved, not the node. */
  healthzFromHonest: LatencySummary;
  honest: { version: Version; baseline: LatencySummary; soak: LatencySummary; after: LatencySummary; ratioP50: number | null; ratioP99: number | null; reconnects: number };
}

const pctOf = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? +s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!.toFixed(2) : null;
};

export async function runSoak(o: SoakOptions): Promise<SoakResults> {
  const log = o.log ?? (() => undefined);
  const versions: Version[] = ['1.6', '2.0.1', '2.1'];
  const startedAt = new Date().toISOString();
  const facts = machine();
  const node = await startSupervisedNode({ restart: true, databaseUrl: o.databaseUrl, log });
  const workers: ChildProcess[] = [];
  let honest: Awaited<ReturnType<typeof startHonestProcess>> | undefined;
  try {
    log(`node up at ${node.http}; registering ${o.stations} hostile stations and one honest station`);
    const must = async (method: string, p: string, body?: unknown) => {
      const r = await node.api(method, p, body);
      if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      return r.body;
    };
    const honestId = 'HONEST-1';
    const honestPassword = 'honest-station-password-01';
    const honestVersion: Version = '2.0.1';
    await must('POST', '/api/v1/stations', { id: honestId, securityProfile: 1, password: honestPassword });
    await must('PUT', '/api/v1/id-tokens/HONESTTAG', { status: 'Accepted' });
    const stations: HostileStation[] = [];
    for (let i = 0; i < o.stations; i++) {
      const id = `FUZZ-${String(i).padStart(4, '0')}`;
      const tls = i % 4 === 3;
      const password = `fuzz-password-${id}-x`;
      await must('POST', '/api/v1/stations', { id, securityProfile: tls ? 2 : 1, password });
      // Spread over 32 loopback addresses (the honest station is alone on 127.0.0.1), as a fleet's stations would be.
      stations.push({ id, password, version: versions[i % 3]!, tls, address: `127.0.1.${2 + (i % 32)}` });
    }

    honest = await startHonestProcess({ url: `ws://127.0.0.1:${node.httpPort}/ocpp`, stationId: honestId, password: honestPassword, version: honestVersion, idToken: 'HONESTTAG', intervalMs: 100, healthzUrl: `${node.http}/healthz` });
    const baselineFrom = Date.now() + 1000; // after boot and the transaction's start
    log(`honest station alone for ${o.baselineSeconds} s (baseline)`);
    await new Promise((r) => setTimeout(r, 1000 + o.baselineSeconds * 1000));

    const soakFrom = Date.now();
    const rssBeforeSoak = node.rssSeries().at(-1)?.[1] ?? 0;
    const dataBeforeSoak = node.dataBytes();
    const cpuBefore = node.cpuMs();
    const deadline = soakFrom + o.seconds * 1000;
    const tallies: WorkerTally[] = [];
    const progress: WorkerTally[] = [];
    const health: number[] = [];
    let healthFailed = 0;
    const prober = setInterval(() => void node.health(2000).then((ms) => (ms === undefined ? healthFailed++ : health.push(ms))), 1000);
    const reporter = setInterval(() => {
      const sent = progress.reduce((s, t) => s + (t?.frames ?? 0), 0);
      log(`${Math.round((Date.now() - soakFrom) / 1000)} s: ${sent} frames, node RSS ${mib(node.rssSeries().at(-1)?.[1] ?? 0)} MiB (max ${mib(node.maxRss())}), crashes ${node.crashes.length}`);
    }, 10_000);
    log(`soak: up to ${o.frames} frames or ${o.seconds} s from ${o.workers} worker process(es)`);
    await Promise.all(
      Array.from({ length: o.workers }, async (_, w) => {
        const child = await forkChild('hostile-worker.ts', '--hostile-worker');
        workers.push(child);
        const job: WorkerJob = {
          host: '127.0.0.1',
          httpPort: node.httpPort,
          tlsPort: node.tlsPort,
          stations: stations.filter((_, i) => i % o.workers === w),
          frames: Math.ceil(o.frames / o.workers),
          deadline,
          seed: o.seed + w,
        };
        const tally = await new Promise<WorkerTally>((resolve, reject) => {
          child.on('message', (m: any) => {
            if (m.progress) progress[w] = m.progress;
            if (m.done) resolve(m.done);
            if (m.error) reject(new Error(`hostile worker: ${m.error}`));
          });
          child.once('exit', (code) => reject(new Error(`hostile worker exited (${code}) without a tally`)));
          child.send(job);
        });
        tallies[w] = tally;
      }),
    );
    const soakTo = Date.now();
    clearInterval(prober);
    clearInterval(reporter);
    const cpuMs = node.cpuMs() - cpuBefore;
    log(`soak done after ${((soakTo - soakFrom) / 1000).toFixed(1)} s; checking the node answers`);

    // After the soak: /healthz must answer and the honest station must still be served.
    let answeredAfterSoak = false;
    for (let i = 0; i < 60 && !answeredAfterSoak; i++) {
      answeredAfterSoak = (await node.health(5000)) !== undefined;
      if (!answeredAfterSoak) await new Promise((r) => setTimeout(r, 1000));
    }
    await new Promise((r) => setTimeout(r, 3000));
    const afterTo = Date.now();
    const report = await honest.stop();
    honest = undefined;
    const rssEnd = node.rssSeries().at(-1)?.[1] ?? 0;

    const sum = <K extends 'frames' | 'bytes' | 'connections' | 'drainTimeouts' | 'cpuMs'>(k: K) => tallies.reduce((s, t) => s + t[k], 0);
    const merge = (pick: (t: WorkerTally) => Record<string, number>) => {
      const out: Record<string, number> = {};
      for (const t of tallies) for (const [k, v] of Object.entries(pick(t))) out[k] = (out[k] ?? 0) + v;
      return out;
    };
    const baseline = summarize(within(report.samples, baselineFrom, soakFrom));
    const soak = summarize(within(report.samples, soakFrom, soakTo));
    const t0 = node.rssSeries()[0]?.[0] ?? 0;
    return {
      name: 'fuzz',
      date: startedAt,
      machine: { ...facts, loadAverageAtEnd: +os.loadavg()[0]!.toFixed(2) },
      options: { frames: o.frames, seconds: o.seconds, stations: o.stations, workers: o.workers, baselineSeconds: o.baselineSeconds, seed: o.seed, database: o.databaseUrl ? 'postgres' : 'sqlite' },
      durationS: +((soakTo - soakFrom) / 1000).toFixed(1),
      frames: { sent: sum('frames'), perSecond: Math.round(sum('frames') / ((soakTo - soakFrom) / 1000)), bytes: sum('bytes'), byAttack: merge((t) => t.byAttack) },
      connections: { opened: sum('connections'), refused: merge((t) => t.refused), closedByNode: merge((t) => t.peerCloses), drainTimeouts: sum('drainTimeouts') },
      generatorCpuSeconds: +(sum('cpuMs') / 1000).toFixed(1),
      received: {
        frames: tallies.reduce((s, t) => s + t.received.frames, 0),
        callErrors: tallies.reduce((s, t) => s + t.received.callErrors, 0),
        callResults: tallies.reduce((s, t) => s + t.received.callResults, 0),
        calls: tallies.reduce((s, t) => s + t.received.calls, 0),
      },
      node: {
        crashes: node.crashes.length,
        crashDetails: node.crashes,
        rssMiB: { beforeSoak: mib(rssBeforeSoak), max: mib(node.maxRss()), end: mib(rssEnd) },
        // One point per 5 s is enough to see growth.
        rssSeriesMiB: node.rssSeries().filter((_, i) => i % 20 === 0).map(([t, b]) => [+((t - t0) / 1000).toFixed(1), mib(b)]),
        cpuSeconds: +(cpuMs / 1000).toFixed(1),
        cpuShareOfOneCore: +(cpuMs / (soakTo - soakFrom)).toFixed(2),
        dataDirMiB: { beforeSoak: mib(dataBeforeSoak), end: mib(node.dataBytes()) },
      },
      healthz: { probes: health.length + healthFailed, failed: healthFailed, p50: pctOf(health, 50), p99: pctOf(health, 99), max: health.length ? +Math.max(...health).toFixed(2) : null, answeredAfterSoak },
      healthzFromHonest: summarize(within(report.health, soakFrom, soakTo)),
      honest: {
        version: honestVersion,
        baseline,
        soak,
        after: summarize(within(report.samples, soakTo, afterTo + 1)),
        ratioP50: ratio(soak.p50, baseline.p50),
        ratioP99: ratio(soak.p99, baseline.p99),
        reconnects: report.reconnects,
      },
    };
  } finally {
    honest?.kill();
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await node.stop();
  }
}
