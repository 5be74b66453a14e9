/**
 * `npm run bench:transactions [-- --stations N] [--seconds S] [--busy MS]`
 *
 * Transaction messages on PostgreSQL, the store alone: N charging stations,
 * each sending its next TransactionEvent (Started, then Updated with a new
 * meter sample) as soon as the last is stored, through the transactions
 * module, on a scratch database of the PostgreSQL at EVGUARD_TEST_PG's server
 * (default postgres://postgres@127.0.0.1:5432/postgres). Side by side in one
 * run, each on a fresh database:
 *
 *   - alone:   every message its own database transaction on a pool
 *              connection (BEGIN, reads, writes, COMMIT: a round trip each),
 *              as before transaction groups (the baseline);
 *   - grouped: the messages of one event-loop turn in one database
 *              transaction on a pipelined connection (src/store/pg-transaction-groups.ts).
 *
 * Each runs on an idle event loop and on one kept busy `--busy` ms in every
 * turn (default 20), as a node at saturation is: every round trip then waits
 * for a turn. Writes bench/results/transactions-pg.{json,md}.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLocalBus } from '../src/bus/index.js';
import { migrate, openDatabase, type Database } from '../src/store/index.js';
import { createTransactions } from '../src/transactions/index.js';
import { transactionsMigrations } from '../src/transactions/store.js';
import type { StationContext, TransactionEventIn } from '../src/model/station.js';
import { createScratchDatabase } from '../src/store/scratch-database.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const USAGE = 'usage: npm run bench:transactions [-- --stations N] [--seconds S] [--busy MS]\n  --stations  charging stations sending at once (default 500, 1..5000)\n  --seconds   seconds per measurement (default 8, 2..120)\n  --busy      ms the event loop is kept busy in every turn of the loaded measurements (default 20, 1..500)\n';
if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
function opt(name: string, def: number, min: number, max: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return def;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < min || v > max) {
    process.stderr.write(`${name} needs a whole number from ${min} to ${max}\n${USAGE}`);
    process.exit(2);
  }
  return v;
}
const STATIONS = opt('--stations', 500, 1, 5000);
const SECONDS = opt('--seconds', 8, 2, 120);
const BUSY_MS = opt('--busy', 20, 1, 500);
const SERVER = process.env.EVGUARD_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

type Mode = 'alone' | 'grouped';
interface Measurement { mode: Mode; busyMs: number; messages: number; perSecond: number; p50Ms: number; p99Ms: number; commits: number }

const log = (m: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

/** The database as the transactions module sees it; `alone` drops the key, so every message is its own transaction. */
function asMode(database: Database, mode: Mode): Database {
  return mode === 'grouped' ? database : { ...database, transaction: (work) => database.transaction(work) };
}

/** Keeps the event loop busy `ms` in every turn until stopped, as the rest of a saturated node would. */
function burnTurns(ms: number): () => void {
  let on = true;
  const turn = () => {
    if (!on) return;
    const until = performance.now() + ms;
    while (performance.now() < until);
    setImmediate(turn);
  };
  setImmediate(turn);
  return () => (on = false);
}

async function measure(mode: Mode, busyMs: number): Promise<Measurement> {
  const scratch = await createScratchDatabase(SERVER, 'evguard_bench_tx');
  const database = await openDatabase({ databaseUrl: scratch.url, dataDir: '' });
  try {
    await migrate(database, transactionsMigrations);
    const transactions = createTransactions({ database: asMode(database, mode), bus: createLocalBus(), authorize: async () => ({ status: 'Accepted' }), securityEvent: () => undefined });
    const latencies: number[] = [];
    let measuring = false;
    let stop = false;
    const station = async (i: number) => {
      const ctx: StationContext = { stationId: `BENCH-${i}`, remoteAddress: '127.0.0.1', version: '2.0.1', securityProfile: 2 };
      for (let seqNo = 0; !stop; seqNo++) {
        const timestamp = new Date().toISOString();
        const e: TransactionEventIn = {
          kind: seqNo === 0 ? 'Started' : 'Updated', transactionId: `tx-${i}`, seqNo, dedupKey: `seq:${seqNo}`, timestamp,
          triggerReason: seqNo === 0 ? 'Authorized' : 'MeterValuePeriodic', evseId: 1, connectorId: 1, offline: false,
          meter: [{ timestamp, measurand: 'Energy.Active.Import.Register', value: 1000 + seqNo, unit: 'Wh' }],
        };
        const t0 = performance.now();
        await transactions.event(ctx, e);
        if (measuring) latencies.push(performance.now() - t0);
      }
    };
    const stopBurning = busyMs ? burnTurns(busyMs) : () => undefined;
    const running = Promise.all(Array.from({ length: STATIONS }, (_, i) => station(i)));
    // One second to warm up (statements prepared, pool connections open), then the measured window.
    await new Promise((r) => setTimeout(r, 1000));
    const commitsBefore = database.groupCommit?.commits ?? 0;
    measuring = true;
    const started = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    measuring = false;
    const elapsed = (performance.now() - started) / 1000;
    const commits = (database.groupCommit?.commits ?? 0) - commitsBefore;
    stop = true;
    stopBurning();
    await running;
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
    return { mode, busyMs, messages: latencies.length, perSecond: latencies.length / elapsed, p50Ms: at(0.5), p99Ms: at(0.99), commits };
  } finally {
    await database.close();
    await scratch.drop();
  }
}

const results: Measurement[] = [];
for (const busyMs of [0, BUSY_MS]) {
  for (const mode of ['alone', 'grouped'] as const) {
    log(`${mode}, event loop ${busyMs ? `busy ${busyMs} ms a turn` : 'idle'}: ${STATIONS} stations for ${SECONDS} s`);
    const m = await measure(mode, busyMs);
    log(`  ${Math.round(m.perSecond)} messages/s, p50 ${m.p50Ms.toFixed(1)} ms, p99 ${m.p99Ms.toFixed(1)} ms`);
    results.push(m);
  }
}

const fmt = (v: number, d = 1) => v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const row = (busyMs: number) => {
  const [alone, grouped] = (['alone', 'grouped'] as const).map((mode) => results.find((r) => r.mode === mode && r.busyMs === busyMs)!);
  return `| ${busyMs ? `busy ${busyMs} ms a turn` : 'idle'} | ${fmt(alone!.perSecond, 0)} (p50 ${fmt(alone!.p50Ms)}, p99 ${fmt(alone!.p99Ms)} ms) | ${fmt(grouped!.perSecond, 0)} (p50 ${fmt(grouped!.p50Ms)}, p99 ${fmt(grouped!.p99Ms)} ms; ${fmt(grouped!.messages / Math.max(1, grouped!.commits))} a commit) | ${fmt(grouped!.perSecond / alone!.perSecond, 1)}× |`;
};
const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
const md = `# Transaction messages on PostgreSQL: one database transaction each, or a turn's grouped

${new Date().toISOString()} · ${cpu}, ${os.cpus().length} cores · Node ${process.version} · \`npm run bench:transactions -- --stations ${STATIONS} --seconds ${SECONDS} --busy ${BUSY_MS}\`

${STATIONS} charging stations on one process, each sending its next TransactionEvent when the last is stored (the transactions module and PostgreSQL only: no network, TLS or OCPP), ${SECONDS} s measured after 1 s of warm-up, each mode on a fresh database. "Busy": the event loop kept busy ${BUSY_MS} ms in every turn, as a node at saturation is.

| event loop | alone: messages/s | grouped: messages/s | grouped ÷ alone |
| --- | ---: | ---: | ---: |
${row(0)}
${row(BUSY_MS)}
`;
const out = path.join(ROOT, 'bench', 'results');
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, 'transactions-pg.json'), `${JSON.stringify({ stations: STATIONS, seconds: SECONDS, busyMs: BUSY_MS, results }, null, 2)}\n`);
writeFileSync(path.join(out, 'transactions-pg.md'), md);
log('wrote bench/results/transactions-pg.json, .md');
