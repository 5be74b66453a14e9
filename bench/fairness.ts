/**
 * `npm run bench:fairness [-- --seconds S] [--interval MS] [--out NAME]`
 *
 * Fairness under floods, in one run against one real node (a child process,
 * SQLite, default OCPP limits): an honest OCPP 2.0.1 station sends a
 * Heartbeat every MS ms (one at a time) and its round trips are timed —
 * first alone (the baseline), then while another registered station floods
 * as fast as its socket takes the bytes, once with schema-invalid CALLs, once
 * with valid CALLs and once with frames that are not JSON. For each flood:
 * the honest station's latency against the baseline, the frames the node
 * took from the flooder and answered per second, the node's CPU, and how long
 * after the flood /healthz answered again. Writes bench/results/fairness.json
 * and .md; every number is from the run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fmt, fmtMs, forkChild, machine, parseOptions, resultsName, ratio, startHonestProcess, summarize, within, type LatencySummary } from './fuzz/common.js';
import type { FloodJob, FloodMode, FloodTally } from './fuzz/flooder.js';
import { ROOT, startSupervisedNode, type SupervisedNode } from './fuzz/node-process.js';

const USAGE = 'usage: npm run bench:fairness -- [--seconds S] [--interval MS] [--out NAME]';
const argv = process.argv.slice(2);
const name = resultsName(argv, 'fairness', USAGE);
const opts = parseOptions(argv, {
  seconds: { def: 20, min: 3, max: 600, help: 'length of the baseline and of each flood' },
  interval: { def: 100, min: 10, max: 10_000, help: 'pause between the honest station\'s Heartbeats, ms' },
}, USAGE);
const log = (m: string) => process.stderr.write(`[fairness ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

interface Phase {
  name: 'alone' | FloodMode;
  title: string;
  seconds: number;
  honest: LatencySummary;
  ratioP50: number | null;
  ratioP99: number | null;
  nodeCpuShareOfOneCore: number;
  flood?: FloodTally & { sentPerSecond: number; answeredPerSecond: number; dispatchedPerSecond: number | null };
  /** ms from the end of the flood until /healthz answered (null: not within 120 s). */
  healthzAfterMs?: number | null;
}

const TITLES: Record<Phase['name'], string> = {
  alone: 'honest station alone (baseline)',
  invalid: 'flood of schema-invalid CALLs',
  valid: 'flood of valid CALLs (Heartbeat)',
  malformed: 'flood of frames that are not JSON',
};

async function runFlood(node: SupervisedNode, job: FloodJob): Promise<FloodTally> {
  const child = await forkChild('flooder.ts', '--flooder');
  try {
    return await new Promise<FloodTally>((resolve, reject) => {
      child.on('message', (m: any) => (m.done ? resolve(m.done) : m.error ? reject(new Error(m.error)) : undefined));
      child.once('exit', (code) => reject(new Error(`flooder exited (${code}) without a tally`)));
      child.send(job);
    });
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    if (node.crashes.length) throw new Error(`the node exited during the ${job.mode} flood:\n${node.crashes[0]!.stderrTail}`);
  }
}

async function healthzAfter(node: SupervisedNode): Promise<number | null> {
  const from = performance.now();
  while (performance.now() - from < 120_000) {
    if ((await node.health(1000)) !== undefined) return Math.round(performance.now() - from);
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

function render(r: { date: string; machine: ReturnType<typeof machine> & { loadAverageAtEnd: number }; seconds: number; intervalMs: number; phases: Phase[] }): string {
  const rows = r.phases.map((p) => {
    const f = p.flood;
    return `| ${p.title} | ${p.honest.calls} | ${p.honest.unanswered} | ${fmtMs(p.honest.p50, p.honest)} | ${fmtMs(p.honest.p99, p.honest)} | ${fmt(p.honest.max, ' ms')} | ${fmt(p.ratioP50, '×')} | ${fmt(p.ratioP99, '×')} | ${p.nodeCpuShareOfOneCore} | ${f ? `${f.sentPerSecond}` : '–'} | ${f ? `${f.answeredPerSecond}` : '–'} | ${f ? fmt(f.dispatchedPerSecond) : '–'} | ${f ? `${f.connections}` : '–'} | ${f ? Object.entries(f.closedByNode).map(([k, v]) => `${k}×${v}`).join(' ') || 'none' : '–'} | ${p.healthzAfterMs === undefined ? '–' : fmt(p.healthzAfterMs, ' ms')} |`;
  });
  return `# Fairness under floods

\`npm run bench:fairness\` — ${r.date}, evguard ${r.machine.evguard} (${r.machine.commit}), SQLite, default OCPP limits; ${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}; load average ${r.machine.loadAverageAtStart} at start, ${r.machine.loadAverageAtEnd} at end (the machine is shared: above ${r.machine.cores} means others took CPU).

An honest OCPP 2.0.1 station sends a Heartbeat, waits for the answer, pauses ${r.intervalMs} ms, and again; ${r.seconds} s alone, then ${r.seconds} s during each flood. The flooder is another registered station in its own process, writing batches of 64 frames as fast as its socket drains and reconnecting at once when closed.

| phase | honest calls | unanswered (10 s) | p50 | p99 | max | p50 ÷ alone | p99 ÷ alone | node CPU (cores) | flood frames sent/s | node answers to flooder/s | flood CALLs dispatched/s | flooder connections | closes by node | /healthz after flood |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |
${rows.join('\n')}

"Flood frames sent/s" is what the flooder's socket accepted (the kernel buffers what the node does not read). "Node answers to flooder/s" counts the CALLRESULTs, CALLERRORs and Close frames the node wrote back to the flooder: frames it read and judged. "Flood CALLs dispatched/s" is the growth of \`evguard_ocpp_calls_total\` (CALLs that passed validation and reached a handler) during the flood and until /healthz answered, less the honest station's calls. Node CPU is the node process's CPU time ÷ wall time (1.0 = one core); what it takes above the baseline row is the share a flooder still takes.
`;
}

const date = new Date().toISOString();
const facts = machine();
const node = await startSupervisedNode({ restart: false, log });
let honest: Awaited<ReturnType<typeof startHonestProcess>> | undefined;
try {
  const must = async (method: string, p: string, body?: unknown) => {
    const res = await node.api(method, p, body);
    if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
  };
  await must('POST', '/api/v1/stations', { id: 'HONEST-1', securityProfile: 1, password: 'honest-station-password-01' });
  await must('POST', '/api/v1/stations', { id: 'FLOOD-1', securityProfile: 1, password: 'flooding-station-password' });
  honest = await startHonestProcess({ url: `ws://127.0.0.1:${node.httpPort}/ocpp`, stationId: 'HONEST-1', password: 'honest-station-password-01', version: '2.0.1', idToken: 'NONE', intervalMs: opts.interval, heartbeatsOnly: true });
  await new Promise((r) => setTimeout(r, 1000));
  const windows: { name: Phase['name']; from: number; to: number; cpuMs: number; dispatched?: { calls: number; countedTo: number }; flood?: FloodTally; healthzAfterMs?: number | null }[] = [];
  const CALLS = 'evguard_ocpp_calls_total';

  log(`honest station alone for ${opts.seconds} s`);
  let from = Date.now();
  let cpu = node.cpuMs();
  await new Promise((r) => setTimeout(r, opts.seconds * 1000));
  windows.push({ name: 'alone', from, to: Date.now(), cpuMs: node.cpuMs() - cpu });

  for (const mode of ['invalid', 'valid', 'malformed'] as FloodMode[]) {
    log(`${TITLES[mode]} for ${opts.seconds} s`);
    from = Date.now();
    cpu = node.cpuMs();
    const callsBefore = await node.metric(CALLS);
    const flood = await runFlood(node, { host: '127.0.0.1', port: node.httpPort, stationId: 'FLOOD-1', password: 'flooding-station-password', version: '2.0.1', mode, seconds: opts.seconds });
    const to = Date.now();
    const cpuMs = node.cpuMs() - cpu;
    const healthzAfterMs = await healthzAfter(node);
    const callsAfter = await node.metric(CALLS);
    const countedTo = Date.now();
    const dispatched = callsBefore !== undefined && callsAfter !== undefined ? { calls: callsAfter - callsBefore, countedTo } : undefined;
    log(`${mode}: ${flood.framesSent} frames sent, ${flood.answers} answered; /healthz ${healthzAfterMs} ms after`);
    windows.push({ name: mode, from, to, cpuMs, dispatched, flood, healthzAfterMs });
    // Let the node drain what it buffered before the next phase.
    await new Promise((r) => setTimeout(r, 3000));
  }
  const report = await honest.stop();
  honest = undefined;
  const base = summarize(within(report.samples, windows[0]!.from, windows[0]!.to));
  const phases: Phase[] = windows.map((w) => {
    const honestSummary = summarize(within(report.samples, w.from, w.to));
    const s = (w.to - w.from) / 1000;
    return {
      name: w.name,
      title: TITLES[w.name],
      seconds: +s.toFixed(1),
      honest: honestSummary,
      ratioP50: ratio(honestSummary.p50, base.p50),
      ratioP99: ratio(honestSummary.p99, base.p99),
      nodeCpuShareOfOneCore: +(w.cpuMs / (w.to - w.from)).toFixed(2),
      // CALLs the node dispatched to its handlers during the flood, less the honest station's.
      ...(w.flood ? { flood: { ...w.flood, sentPerSecond: Math.round(w.flood.framesSent / s), answeredPerSecond: Math.round(w.flood.answers / s), dispatchedPerSecond: w.dispatched ? Math.max(0, Math.round((w.dispatched.calls - within(report.samples, w.from, w.dispatched.countedTo).length) / s)) : null }, healthzAfterMs: w.healthzAfterMs } : {}),
    };
  });
  const results = { name, date, machine: { ...facts, loadAverageAtEnd: +os.loadavg()[0]!.toFixed(2) }, seconds: opts.seconds, intervalMs: opts.interval, phases };
  const dir = path.join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(path.join(dir, `${name}.md`), render(results));
  log(`wrote bench/results/${name}.json and .md`);
  for (const p of phases) log(`${p.name}: honest p50 ${p.honest.p50} p99 ${p.honest.p99} ms (×${p.ratioP99} p99), unanswered ${p.honest.unanswered}, node CPU ${p.nodeCpuShareOfOneCore}`);
} finally {
  honest?.kill();
  await node.stop();
}
