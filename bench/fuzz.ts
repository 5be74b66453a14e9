/**
 * `npm run fuzz [-- --frames N] [--seconds S] [--stations K] [--workers W] [--baseline-seconds B] [--seed X] [--database-url postgres://…] [--out NAME]`
 *
 * The hostile-input soak (bench/fuzz/soak.ts) against a real node, bounded
 * by frame count and time, whichever comes first. Writes
 * bench/results/<NAME>.json and .md (NAME defaults to "fuzz"); exits 1 if
 * the node crashed or stopped answering, so it can gate a release.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fmt, fmtMs, parseOptions, resultsName, takeString } from './fuzz/common.js';
import { ROOT } from './fuzz/node-process.js';
import { runSoak, type SoakResults } from './fuzz/soak.js';

const USAGE = 'usage: npm run fuzz -- [--frames N] [--seconds S] [--stations K] [--workers W] [--baseline-seconds B] [--seed X] [--database-url postgres://…] [--out NAME]';
const argv = process.argv.slice(2);
const databaseUrl = takeString(argv, '--database-url', USAGE);
const name = resultsName(argv, 'fuzz', USAGE);
const opts = parseOptions(argv, {
  frames: { def: 1_000_000, min: 100, max: 1_000_000_000, help: 'stop after this many hostile frames' },
  seconds: { def: 600, min: 5, max: 86_400, help: 'or after this many seconds of soak' },
  stations: { def: 60, min: 3, max: 5000, help: 'hostile stations (1.6, 2.0.1, 2.1 in turn; every fourth over TLS, profile 2)' },
  workers: { def: 1, min: 1, max: 16, help: 'load-generator processes' },
  baselineSeconds: { def: 20, min: 2, max: 600, help: 'honest station alone before the soak' },
  seed: { def: 1, min: 0, max: 2 ** 31, help: 'seed of the attack choice' },
}, USAGE);
function renderSoak(r: SoakResults): string {
  const h = r.honest;
  const row = (label: string, s: typeof h.baseline) => `| ${label} | ${s.calls} | ${s.answered} | ${s.unanswered} | ${s.callErrors} | ${fmtMs(s.p50, s)} | ${fmtMs(s.p99, s)} | ${fmt(s.max, ' ms')} |`;
  const crashes = r.node.crashDetails.map((c, i) => `### Exit ${i + 1} at ${(c.atMs / 1000).toFixed(1)} s (code ${c.code}, signal ${c.signal})\n\n\`\`\`\n${c.stderrTail.trim()}\n\`\`\``).join('\n\n');
  const kv = (o: Record<string, number>) => Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';
  return `# Hostile-input soak

\`npm run fuzz\` — ${r.date}, evguard ${r.machine.evguard} (${r.machine.commit}), ${r.options.database}; ${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}; load average ${r.machine.loadAverageAtStart} at start, ${r.machine.loadAverageAtEnd} at end (the machine is shared: above ${r.machine.cores} means others took CPU).

Options: ${r.options.frames} frames or ${r.options.seconds} s, ${r.options.stations} hostile stations, ${r.options.workers} worker process(es), baseline ${r.options.baselineSeconds} s, seed ${r.options.seed}.

## Result

| | |
| --- | ---: |
| hostile frames sent | ${r.frames.sent} (${r.frames.perSecond}/s over ${r.durationS} s, ${(r.frames.bytes / 2 ** 20).toFixed(1)} MiB) |
| node exits (crashes), each restarted | **${r.node.crashes}** |
| node RSS before the soak / max / at the end | ${r.node.rssMiB.beforeSoak} / **${r.node.rssMiB.max}** / ${r.node.rssMiB.end} MiB |
| node CPU during the soak | ${r.node.cpuSeconds} s (${r.node.cpuShareOfOneCore} of one core); load generators ${r.generatorCpuSeconds} s |
| data directory before / after | ${r.node.dataDirMiB.beforeSoak} / ${r.node.dataDirMiB.end} MiB |
| \`/healthz\` during the soak (1/s, 2 s timeout) | ${r.healthz.probes - r.healthz.failed}/${r.healthz.probes} answered, p50 ${fmt(r.healthz.p50, ' ms')}, p99 ${fmt(r.healthz.p99, ' ms')}, max ${fmt(r.healthz.max, ' ms')} |
| \`/healthz\` during the soak, from the honest station's process | ${r.healthzFromHonest.answered}/${r.healthzFromHonest.calls} answered, p50 ${fmtMs(r.healthzFromHonest.p50, r.healthzFromHonest)}, p99 ${fmtMs(r.healthzFromHonest.p99, r.healthzFromHonest)} |
| \`/healthz\` after the soak | ${r.healthz.answeredAfterSoak ? 'answered' : '**did not answer**'} |
| connections opened / refused at the upgrade | ${r.connections.opened} / ${kv(r.connections.refused)} |
| closes sent by the node (code: count) | ${kv(r.connections.closedByNode)} |
| writes stalled > 10 s (node stopped reading) | ${r.connections.drainTimeouts} |
| frames the node sent back | ${r.received.frames} (CALLERROR ${r.received.callErrors}, CALLRESULT ${r.received.callResults}) |

## Honest station (OCPP ${h.version}: Heartbeats and a transaction's meter values, one call at a time, 100 ms apart)

| phase | calls | answered | unanswered (10 s) | CALLERRORs | p50 | p99 | max |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${row('alone (baseline)', h.baseline)}
${row('during the soak', h.soak)}
${row('after the soak', h.after)}

p50 during ÷ alone: **${fmt(h.ratioP50, '×')}**, p99 during ÷ alone: **${fmt(h.ratioP99, '×')}**; reconnects: ${h.reconnects}. Unanswered calls count as slower than any answered one in the percentiles.

## Frames by attack

| attack | frames |
| --- | ---: |
${Object.entries(r.frames.byAttack).sort((a, b) => b[1] - a[1]).map(([k, v]) => `| ${k} | ${v} |`).join('\n')}

## Node memory (RSS, MiB, every 5 s from start)

${r.node.rssSeriesMiB.map(([t, m]) => `${t}s:${m}`).join(' ')}
${crashes ? `\n## Node exits\n\n${crashes}\n` : ''}`;
}

const log = (m: string) => process.stderr.write(`[fuzz ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const results = await runSoak({ frames: opts.frames, seconds: opts.seconds, stations: opts.stations, workers: opts.workers, baselineSeconds: opts.baselineSeconds, seed: opts.seed, databaseUrl, log });
const dir = path.join(ROOT, 'bench/results');
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(results, null, 2) + '\n');
writeFileSync(path.join(dir, `${name}.md`), renderSoak(results));
log(`wrote bench/results/${name}.json and .md: ${results.frames.sent} frames, ${results.node.crashes} crashes, max RSS ${results.node.rssMiB.max} MiB, honest p99 ${results.honest.baseline.p99} → ${results.honest.soak.p99} ms`);
process.exit(results.node.crashes === 0 && results.healthz.answeredAfterSoak && results.honest.after.answered > 0 ? 0 : 1);
