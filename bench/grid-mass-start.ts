/**
 * `npm run bench:grid [-- --stations N] [--ramp KW_PER_S] [--nodes 1|3]`
 *
 * The load-manipulation scenario: a real evguard node (SQLite), a simulated
 * fleet of several hundred OCPP 2.0.1 / 2.1 stations (security profile 1),
 * and a stolen operator token that sends RequestStartTransaction to every
 * station at once (the simulator's `mass-start` attack). Run three times in
 * one go, each on a fresh node and fleet:
 *
 *   - off:       the guard with no limits and no two-person rule — what the
 *                grid would see without the guard (the baseline);
 *   - ramp:      a fleet ramp rate (default 50 kW/s), two-person rule off, so
 *                the ramp guard alone is what is shown;
 *   - two-person: the two-person rule at its defaults, no ramp;
 *   - defaults:  the same ramp plus the two-person rule at its defaults.
 *
 * Measured: when each start command reached its station (the station's own
 * receipt time), hence the aggregate commanded load over time (22 kW per
 * started station: the guard's estimate, and the simulated stations' maximum),
 * what the API answered (sent / held / refused by code, and the guard's own
 * counters), and the fleet load the stations then reported. Writes
 * bench/results/grid-mass-start.{json,md,svg}; every number is from this run.
 *
 * `--nodes 3`: each scenario runs on a fresh three-node cluster instead
 * (`evguard serve` processes on the PostgreSQL at EVGUARD_TEST_PG's server and
 * the NATS at EVGUARD_TEST_NATS, as the cluster tests use): station i
 * connects to node i mod 3 and its start is sent through node (i + 1) mod 3,
 * so every node's guard judges commands that other nodes' APIs received.
 * Writes bench/results/grid-mass-start-3-nodes.{json,md,svg}.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAttack } from '../src/sim/attacks.js';
import { runFleet } from '../src/sim/index.js';
import type { GridConfig } from '../src/grid/index.js';
import { createPgDatabase, startTestNode } from '../test/support/node.js';
import { startNodeProcess, TEST_NATS_URL, type NodeProcess } from '../test/cluster/processes.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { streamName } from '../src/bus/nats.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write('usage: npm run bench:grid [-- --stations N] [--ramp KW_PER_S] [--nodes 1|3]\n  --stations  simulated stations per scenario (default 300, 10..2000)\n  --ramp      fleet ramp rate in kW/s for the guarded scenarios (default 50)\n  --nodes     1 (default): one node on SQLite; 3: a three-node cluster on PostgreSQL and NATS\n');
  process.exit(0);
}
function opt(name: string, def: number, min: number, max: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return def;
  const v = Number(argv[i + 1]);
  if (!Number.isFinite(v) || v < min || v > max) {
    process.stderr.write(`${name} needs a number from ${min} to ${max}\n`);
    process.exit(2);
  }
  return v;
}
for (const a of argv) if (a.startsWith('--') && a !== '--stations' && a !== '--ramp' && a !== '--nodes') {
  process.stderr.write(`unknown option ${a} (see --help)\n`);
  process.exit(2);
}

const STATIONS = Math.round(opt('--stations', 300, 10, 2000));
const RAMP_KW_S = opt('--ramp', 50, 1, 100_000);
const NODES = opt('--nodes', 1, 1, 3);
if (NODES !== 1 && NODES !== 3) {
  process.stderr.write('--nodes must be 1 or 3\n');
  process.exit(2);
}
const STATION_KW = 22;
const TOLERANCE_S = 2;
const MAX_HOLD_MS = 15_000;
const JITTER_MS = 1000;
const BIN_MS = 100;
/** Result files: grid-mass-start.* for one node, grid-mass-start-3-nodes.* for the cluster. */
const BASE = NODES === 1 ? 'grid-mass-start' : `grid-mass-start-${NODES}-nodes`;
const log = (m: string) => process.stderr.write(`${m}\n`);

/** `nodes` overrides --nodes for one scenario: the cluster run also measures the ramp on one node, under the same machine load. */
interface Scenario { name: 'off' | 'ramp' | 'ramp-one-node' | 'two-person' | 'defaults'; title: string; grid: GridConfig; nodes?: number }
const SCENARIOS: Scenario[] = [
  { name: 'off', title: 'guard off (baseline)', grid: { massMinStations: 1_000_000, sampleIntervalMs: 250, resumeWindowS: 0 } },
  { name: 'ramp', title: `ramp guard ${RAMP_KW_S} kW/s`, grid: { fleetRampKwPerS: RAMP_KW_S, rampToleranceS: TOLERANCE_S, maxHoldMs: MAX_HOLD_MS, jitterMs: JITTER_MS, massMinStations: 1_000_000, sampleIntervalMs: 250, resumeWindowS: 0 } },
  ...(NODES > 1 ? [{ name: 'ramp-one-node' as const, title: `ramp guard ${RAMP_KW_S} kW/s, one node (for comparison)`, nodes: 1, grid: { fleetRampKwPerS: RAMP_KW_S, rampToleranceS: TOLERANCE_S, maxHoldMs: MAX_HOLD_MS, jitterMs: JITTER_MS, massMinStations: 1_000_000, sampleIntervalMs: 250, resumeWindowS: 0 } }] : []),
  { name: 'two-person', title: 'two-person rule only (defaults)', grid: { sampleIntervalMs: 250, resumeWindowS: 0 } },
  { name: 'defaults', title: `ramp ${RAMP_KW_S} kW/s + two-person rule`, grid: { fleetRampKwPerS: RAMP_KW_S, rampToleranceS: TOLERANCE_S, maxHoldMs: MAX_HOLD_MS, jitterMs: JITTER_MS, sampleIntervalMs: 250, resumeWindowS: 0 } },
];

interface ScenarioResult {
  name: Scenario['name'];
  title: string;
  grid: GridConfig;
  stations: number;
  connectS: number;
  attackS: number;
  /** API answers to the attacker, by kind. */
  outcomes: Record<string, number>;
  /** The guard's own counters (GET /api/v1/grid). */
  guard: { checked: number; passed: number; held: number; heldMsTotal: number; refused: Record<string, number> } | undefined;
  /** Start commands that reached a station, and when (s after the attack began). */
  delivered: number;
  firstS: number | undefined;
  lastS: number | undefined;
  /** Commanded load in kW per BIN_MS bin from the attack's start. */
  commandedKw: number[];
  /** Largest commanded load change in any 1 s window, kW. */
  maxChangeKwIn1s: number;
  /** Largest excess over rate × (T + tolerance) over any interval, kW (guarded scenarios). */
  maxExcessOverRampKw?: number;
  /** Fleet load the stations reported (node time series), s after the attack began. */
  reportedKw: { s: number; kw: number }[];
}

/** Where a scenario runs: one in-process node, or a fresh cluster of `evguard serve` processes. */
interface Target {
  ws: string[];
  http: string[];
  /** The REST API of node `k` (default the first). */
  api(method: string, p: string, body?: unknown, k?: number): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

async function oneNode(s: Scenario): Promise<Target> {
  const node = await startTestNode({ db: 'sqlite', config: { grid: s.grid, ocpp: { heartbeatIntervalS: 300 } } as never });
  return { ws: [node.ws], http: [node.http], api: (m, p, b) => node.api(m, p, b), stop: () => node.stop() };
}

async function cluster(s: Scenario, n: number): Promise<Target> {
  const name = `gb${randomBytes(5).toString('hex')}`;
  const pgdb = await createPgDatabase();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'evguard-bench-grid-'));
  const configFile = path.join(dataDir, 'bench-config.json');
  writeFileSync(configFile, JSON.stringify({ grid: s.grid, ocpp: { heartbeatIntervalS: 300 } }));
  const adminToken = randomBytes(24).toString('hex');
  const start = (nodeId: string) => startNodeProcess({ nodeId, cluster: name, dataDir, databaseUrl: pgdb.url, natsUrl: TEST_NATS_URL, adminToken, env: { EVGUARD_CONFIG: configFile } });
  // The first node creates the schema and the PKI; the others join it.
  const nodes: NodeProcess[] = [await start('a')];
  nodes.push(...(await Promise.all(['b', 'c', 'd', 'e'].slice(0, n - 1).map(start))));
  return {
    ws: nodes.map((x) => `ws://127.0.0.1:${x.port}/ocpp`),
    http: nodes.map((x) => `http://127.0.0.1:${x.port}`),
    api: (m, p, b, k = 0) => nodes[k]!.api(m, p, b),
    async stop() {
      for (const x of nodes) x.kill('SIGTERM');
      await Promise.all(nodes.map((x) => x.exited));
      const nc = await connect({ servers: TEST_NATS_URL.replace('nats://', '') });
      await (await jetstreamManager(nc)).streams.delete(streamName(name)).catch(() => undefined);
      await nc.close();
      await pgdb.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function scenario(s: Scenario): Promise<ScenarioResult> {
  const nodes = s.nodes ?? NODES;
  log(`[${s.name}] starting ${nodes === 1 ? 'a node' : `${nodes} nodes`}`);
  const node = nodes === 1 ? await oneNode(s) : await cluster(s, nodes);
  try {
    const ids: string[] = [];
    const passwords = new Map<string, string>();
    for (let i = 0; i < STATIONS; i++) {
      const id = `GRID-${String(i).padStart(4, '0')}`;
      const res = await node.api('POST', '/api/v1/stations', { id, securityProfile: 1 });
      if (res.status !== 201 || typeof res.body.password !== 'string') throw new Error(`station ${id} not registered: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
      ids.push(id);
      passwords.set(id, res.body.password);
      if ((i + 1) % 100 === 0) log(`[${s.name}] registered ${i + 1}/${STATIONS}`);
    }
    if ((await node.api('PUT', '/api/v1/id-tokens/MASSSTART01', { status: 'Accepted' })).status >= 300) throw new Error('id token not accepted');
    const stolen = (await node.api('POST', '/api/v1/tokens', { name: 'stolen-operator', role: 'operator' })).body.token as string;

    const connectStart = Date.now();
    // Station i connects to node i mod N (one node: all to it).
    const groups = node.ws.map((_, k) => ids.filter((_, i) => i % node.ws.length === k));
    const fleets = await Promise.all(groups.map((group, k) => runFleet({
      url: node.ws[k]!, count: group.length, ids: group, mix: { '2.0.1': 1, '2.1': 1 }, securityProfile: 1, passwordFor: (id) => passwords.get(id)!,
      maxPowerW: STATION_KW * 1000, meterIntervalMs: 1000, heartbeatIntervalMs: 300_000, concurrency: Math.ceil(20 / node.ws.length), callTimeoutMs: 60_000,
      onProgress: (p) => { if (p.connected % 100 === 0 && p.connected > 0) log(`[${s.name}] node ${k}: connected ${p.connected}/${p.total}`); },
    })));
    const connectS = (Date.now() - connectStart) / 1000;
    const connected = fleets.reduce((n, f) => n + f.stats().connected, 0);
    if (connected !== STATIONS) throw new Error(`only ${connected}/${STATIONS} stations connected`);

    const t0 = Date.now();
    const received: number[] = [];
    for (const f of fleets) for (const st of f.stations) st.on('incoming', (m: { action: string }) => { if (m.action === 'RequestStartTransaction') received.push(Date.now() - t0); });
    log(`[${s.name}] mass start across ${STATIONS} stations through a stolen operator token`);
    // The starts for node k's stations go through the next node's API (one node: its own).
    const reports = await Promise.all(groups.map((group, k) => runAttack('mass-start', { url: node.ws[k]!, stationIds: group, api: node.http[(k + 1) % node.http.length]!, token: stolen, onProgress: (d, t) => { if (d % 100 === 0) log(`[${s.name}] node ${k}: answered ${d}/${t}`); } })));
    const outcomes: Record<string, number> = {};
    for (const r of reports) for (const [k, v] of Object.entries(r.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + v;
    const attackS = (Date.now() - t0) / 1000;
    // Let the started sessions report their power a few times.
    await new Promise((r) => setTimeout(r, 4000));
    const guard = await guardTotals(node);
    const series = (await node.api('GET', '/api/v1/grid/load/series?level=fleet')).body.points as { t: string; kw: number }[];
    await Promise.all(fleets.map((f) => f.stop()));

    received.sort((a, b) => a - b);
    const endMs = Math.max(attackS * 1000, received.at(-1) ?? 0) + 4000;
    const commandedKw: number[] = [];
    for (let b = 0, i = 0; b * BIN_MS <= endMs; b++) {
      while (i < received.length && received[i]! <= b * BIN_MS) i++;
      commandedKw.push(i * STATION_KW);
    }
    let maxChangeKwIn1s = 0;
    for (let i = 0, j = 0; i < received.length; i++) {
      while (received[j]! < received[i]! - 1000) j++;
      maxChangeKwIn1s = Math.max(maxChangeKwIn1s, (i - j + 1) * STATION_KW);
    }
    let maxExcess: number | undefined;
    if (s.grid.fleetRampKwPerS) {
      maxExcess = -Infinity;
      for (let i = 0; i < received.length; i++) {
        for (let j = i; j < received.length; j++) {
          const changeKw = (j - i + 1) * STATION_KW;
          maxExcess = Math.max(maxExcess, changeKw - s.grid.fleetRampKwPerS * ((received[j]! - received[i]!) / 1000 + TOLERANCE_S));
        }
      }
    }
    return {
      name: s.name, title: s.title, grid: s.grid, stations: STATIONS, connectS, attackS,
      outcomes, guard, delivered: received.length,
      firstS: received.length ? received[0]! / 1000 : undefined, lastS: received.length ? received.at(-1)! / 1000 : undefined,
      commandedKw, maxChangeKwIn1s, maxExcessOverRampKw: maxExcess === undefined ? undefined : Math.round(maxExcess * 10) / 10,
      reportedKw: series.map((p) => ({ s: Math.round((Date.parse(p.t) - t0) / 100) / 10, kw: Math.round(p.kw * 10) / 10 })).filter((p) => p.s >= -1),
    };
  } finally {
    await node.stop();
  }
}

/** The guard counters of every node, added up (each node's guard judges the commands for the stations it holds). */
async function guardTotals(node: Target): Promise<ScenarioResult['guard']> {
  const total = { checked: 0, passed: 0, held: 0, heldMsTotal: 0, refused: {} as Record<string, number> };
  for (let k = 0; k < node.http.length; k++) {
    const g = (await node.api('GET', '/api/v1/grid', undefined, k)).body.guard;
    if (!g) continue;
    for (const k of ['checked', 'passed', 'held', 'heldMsTotal'] as const) total[k] += g[k] ?? 0;
    for (const [code, n] of Object.entries(g.refused ?? {})) total.refused[code] = (total.refused[code] ?? 0) + (n as number);
  }
  return total;
}

// ── report ──────────────────────────────────────────────────────────────

const COLORS: Record<Scenario['name'], string> = { off: '#c0392b', ramp: '#1f5fa8', 'ramp-one-node': '#7d3c98', 'two-person': '#d68910', defaults: '#2e8b57' };
const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function panel(x: number, y: number, w: number, h: number, title: string, results: ScenarioResult[], yMaxKw: number, withReported: boolean): string {
  const tMaxS = Math.max(...results.map((r) => (r.commandedKw.length * BIN_MS) / 1000));
  const px = (s: number) => x + (Math.min(s, tMaxS) / tMaxS) * w;
  const py = (kw: number) => y + h - (Math.min(kw, yMaxKw) / yMaxKw) * h;
  const out: string[] = [`<text x="${x}" y="${y - 8}" font-size="13" font-weight="bold">${esc(title)}</text>`];
  out.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
  for (let i = 0; i <= 4; i++) {
    const kw = (yMaxKw * i) / 4;
    out.push(`<line x1="${x}" x2="${x + w}" y1="${py(kw)}" y2="${py(kw)}" stroke="#eee"/><text x="${x - 6}" y="${py(kw) + 4}" font-size="10" text-anchor="end">${Math.round(kw)}</text>`);
  }
  const step = tMaxS > 40 ? 10 : 5;
  for (let s = 0; s <= tMaxS; s += step) out.push(`<text x="${px(s)}" y="${y + h + 14}" font-size="10" text-anchor="middle">${s}</text>`);
  out.push(`<text x="${x + w / 2}" y="${y + h + 28}" font-size="11" text-anchor="middle">seconds after the mass start was issued</text>`);
  out.push(`<text x="${x - 40}" y="${y + h / 2}" font-size="11" transform="rotate(-90 ${x - 40} ${y + h / 2})" text-anchor="middle">commanded load, kW</text>`);
  // The ramp limit: rate × (t + tolerance) from the first command, the most the guard lets through.
  const guarded = results.find((r) => r.grid.fleetRampKwPerS && r.firstS !== undefined);
  if (guarded) {
    const r = guarded.grid.fleetRampKwPerS!;
    const f = guarded.firstS!;
    const tEnd = Math.min(tMaxS, f + (yMaxKw - r * TOLERANCE_S) / r);
    out.push(`<line x1="${px(f)}" y1="${py(r * TOLERANCE_S)}" x2="${px(tEnd)}" y2="${py(r * (tEnd - f + TOLERANCE_S))}" stroke="#555" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${px(Math.min(tEnd, tMaxS * 0.55))}" y="${py(r * (Math.min(tEnd, tMaxS * 0.55) - f + TOLERANCE_S)) - 6}" font-size="10" fill="#555">ramp limit ${r} kW/s × (t + ${TOLERANCE_S} s)</text>`);
  }
  for (const res of results) {
    // Held flat to the panel's end: after its last command a scenario's commanded load stays where it is.
    const pts = [...res.commandedKw.map((kw, i) => `${px((i * BIN_MS) / 1000).toFixed(1)},${py(kw).toFixed(1)}`), `${px(tMaxS).toFixed(1)},${py(res.commandedKw.at(-1) ?? 0).toFixed(1)}`].join(' ');
    out.push(`<polyline fill="none" stroke="${COLORS[res.name]}" stroke-width="2" points="${pts}"/>`);
    if (withReported && res.reportedKw.length) {
      const rp = res.reportedKw.filter((p) => p.s >= 0 && p.s <= tMaxS).map((p) => `${px(p.s).toFixed(1)},${py(p.kw).toFixed(1)}`).join(' ');
      out.push(`<polyline fill="none" stroke="${COLORS[res.name]}" stroke-width="1" stroke-dasharray="2 3" points="${rp}"/>`);
    }
  }
  return out.join('\n');
}

function svg(results: ScenarioResult[]): string {
  const W = 960;
  const H = 760;
  const all = Math.max(...results.map((r) => Math.max(...r.commandedKw)));
  const guardedMax = Math.max(1, ...results.filter((r) => r.name !== 'off').map((r) => Math.max(...r.commandedKw, ...r.reportedKw.map((p) => p.kw))));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="20" y="26" font-size="16" font-weight="bold">Mass start through a stolen operator token: ${results[0]!.stations} simulated stations, ${STATION_KW} kW each${NODES > 1 ? `, ${NODES} nodes` : ''}</text>`,
    panel(80, 60, 560, 250, 'All scenarios', results, Math.ceil(all * 1.05), false),
    panel(80, 400, 560, 250, 'Guarded scenarios (dotted: load the stations reported)', results.filter((r) => r.name !== 'off'), Math.ceil(guardedMax * 1.15), true),
  ];
  let y = 70;
  parts.push(`<text x="680" y="${y}" font-size="13" font-weight="bold">Commands (per scenario)</text>`);
  for (const r of results) {
    y += 26;
    parts.push(`<rect x="680" y="${y - 10}" width="14" height="4" fill="${COLORS[r.name]}"/><text x="700" y="${y - 4}" font-size="12" font-weight="bold">${esc(r.title)}</text>`);
    const refused = Object.entries(r.outcomes).filter(([k]) => k !== 'accepted');
    const lines = [
      `issued ${r.stations}, reached stations ${r.delivered}`,
      `sent at once ${r.guard?.passed ?? '-'}, held ${r.guard?.held ?? '-'}${r.guard?.held ? ` (mean ${Math.round((r.guard.heldMsTotal / r.guard.held) / 100) / 10} s)` : ''}`,
      `refused ${refused.reduce((s, [, n]) => s + n, 0)}${refused.length ? ': ' + refused.map(([k, n]) => `${n} ${k.replace(/^\d+:/, '')}`).join(', ') : ''}`,
      `peak load ${Math.max(...r.commandedKw)} kW; max Δ in 1 s ${r.maxChangeKwIn1s} kW`,
    ];
    for (const l of lines) {
      y += 16;
      parts.push(`<text x="700" y="${y}" font-size="11">${esc(l)}</text>`);
    }
  }
  parts.push('</svg>');
  return parts.join('\n');
}

function markdown(results: ScenarioResult[], startedAt: string, wallS: number): string {
  const rows = results.map((r) => {
    const refused = Object.entries(r.outcomes).filter(([k]) => k !== 'accepted').map(([k, n]) => `${n} ${k}`).join(', ') || '0';
    return `| ${r.title} | ${r.stations} | ${r.delivered} | ${r.guard?.passed ?? '-'} | ${r.guard?.held ?? '-'} | ${refused} | ${r.firstS?.toFixed(2) ?? '-'}–${r.lastS?.toFixed(2) ?? '-'} s | ${Math.max(...r.commandedKw)} | ${r.maxChangeKwIn1s} | ${r.maxExcessOverRampKw ?? '-'} |`;
  });
  return [
    `# Grid guard: mass start through a stolen operator token${NODES > 1 ? ` over a ${NODES}-node cluster` : ''}`,
    '',
    `Run ${startedAt} by \`npm run bench:grid${NODES > 1 ? ` -- --nodes ${NODES} --stations ${STATIONS}` : ''}\` (${wallS.toFixed(0)} s wall time) on this machine; every figure below is measured in that run.`,
    NODES === 1
      ? `Each scenario: a fresh evguard node (SQLite), ${results[0]!.stations} simulated OCPP 2.0.1 / 2.1 stations (security profile 1, ${STATION_KW} kW each),`
      : `Each scenario: a fresh cluster of ${NODES} \`evguard serve\` processes (one PostgreSQL database, NATS), ${results[0]!.stations} simulated OCPP 2.0.1 / 2.1 stations (security profile 1, ${STATION_KW} kW each), station i connected to node i mod ${NODES} and its start sent through the API of node (i + 1) mod ${NODES}, so every guard judges commands other nodes received; guard counters are the sum over the nodes (the "one node" row: the same ramp on one in-process node on SQLite, in the same run and under the same machine load, for comparison);`,
    'and one stolen operator token sending `RequestStartTransaction` to all of them at once through `POST /api/v1/stations/:id/calls`',
    '(the simulator\'s `mass-start` attack). Commanded load = 22 kW for every start command that reached a station, at the time the station received it.',
    '',
    '| scenario | issued | reached stations | sent at once | held | refused | deliveries between | peak commanded kW | max Δ in any 1 s, kW | max excess over rate × (T + tolerance), kW |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `Ramp scenarios: fleet ramp ${RAMP_KW_S} kW/s, tolerance ${TOLERANCE_S} s, longest hold ${MAX_HOLD_MS / 1000} s, jitter up to ${JITTER_MS / 1000} s;`,
    'a command the guard would have to hold longer is refused with `429 GRID_RAMP_EXCEEDED`. The guard\'s bound is rate × (T + tolerance) plus one command',
    `(${STATION_KW} kW) over any interval T of the times it releases commands; the random jitter it adds to held commands (to spread them) and the`,
    `network can move deliveries by up to about a second, so the measured excess at the stations may reach one command plus rate × jitter (${STATION_KW + RAMP_KW_S * JITTER_MS / 1000} kW here).`,
    'The two-person rule at its defaults: more than max(10, 20 % of the connected fleet) distinct stations within 60 s need a second operator\'s approval, so the stolen token alone is refused with `403 GRID_APPROVAL_REQUIRED` beyond that — but on its own it lets the first share go out at once.',
    'With both (the "+ two-person rule" scenario), a command the ramp refuses never counts towards the share, so whichever binds first decides; the table shows which did in this run.',
    'The baseline ("guard off") is the same node with no limits, no ramp and no two-person rule: every start goes out at once, which is what the grid would see unguarded.',
    '',
    `![commanded load over time](${BASE}.svg)`,
    '',
    `Raw series (commanded kW per 100 ms, reported fleet load per 250 ms sample) are in \`${BASE}.json\`.`,
    '',
  ].join('\n');
}

const began = Date.now();
const startedAt = new Date().toISOString();
const results: ScenarioResult[] = [];
for (const s of SCENARIOS) {
  const r = await scenario(s);
  log(`[${s.name}] ${JSON.stringify(r.outcomes)}; peak ${Math.max(...r.commandedKw)} kW; max Δ/1 s ${r.maxChangeKwIn1s} kW; excess ${r.maxExcessOverRampKw ?? '-'} kW`);
  results.push(r);
}
const wallS = (Date.now() - began) / 1000;
const dir = path.join(ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, `${BASE}.json`), JSON.stringify({ startedAt, wallS, nodes: NODES, stations: STATIONS, rampKwPerS: RAMP_KW_S, stationKw: STATION_KW, binMs: BIN_MS, scenarios: results }, null, 1) + '\n');
writeFileSync(path.join(dir, `${BASE}.md`), markdown(results, startedAt, wallS));
writeFileSync(path.join(dir, `${BASE}.svg`), svg(results) + '\n');
log(`wrote bench/results/${BASE}.{json,md,svg} in ${wallS.toFixed(0)} s`);
process.exit(0);
