/**
 * `evguard demo`: a node and a simulated fleet on this machine that show the
 * whole system within a minute — charging with meter values and status, a
 * certificate renewal, a signed firmware campaign to completion, detectors
 * firing on a simulated attack, and the grid guard holding a mass start —
 * each printed as it happens, with where to look in the console.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Command } from 'commander';
import { pino } from 'pino';
import { loadConfig } from '../config.js';
import { startApp, type App } from '../app.js';
import { createTokenStore } from '../api/index.js';
import { runFleet, type Fleet, type OcppVersion } from '../sim/index.js';
import { runAttack, type AttackMode } from '../sim/attacks.js';
import { parseIntOption } from '../cli-kit.js';
import { explainListenError } from './exit.js';
import { apiClient, type ApiClient } from '../api/client.js';
import { firmwareTrust, registerStations } from './fleet-setup.js';
import { SIM_VENDOR } from './sim.js';

const MODEL = 'SimStation';
const DRIVER = 'DEMODRIVER01';
/** Stations the attacks impersonate, apart from the fleet so its sessions carry on. */
const TARGETS: Record<string, AttackMode> = { 'DEMO-X1': 'brute-force', 'DEMO-X2': 'malformed-flood', 'DEMO-X3': 'tamper' };

export function demoCommand(): Command {
  return new Command('demo')
    .description('Start a node and a simulated fleet that shows the whole system within a minute: charging, a certificate renewal, a signed firmware campaign, detectors on an attack, the grid guard on a mass start')
    .option('--port <port>', 'HTTP port (console, REST, ws:// OCPP)', parseIntOption('--port', 0, 65535), 8080)
    .option('--tls-port <port>', 'TLS port (wss:// OCPP, firmware downloads)', parseIntOption('--tls-port', 1, 65535), 8443)
    .option('--data-dir <dir>', 'data directory (the node log is node.log in it)', './.evguard-demo')
    .option('--stations <n>', 'number of simulated stations (at least 4)', parseIntOption('--stations', 4, 1000), 8)
    .option('--no-scenario', 'only the fleet: no renewal, campaign, attack or mass start')
    .action(async (o) => {
      const logFile = path.join(o.dataDir, 'node.log');
      const config = loadConfig({
        port: o.port, tlsPort: o.tlsPort, dataDir: o.dataDir, host: '127.0.0.1', logLevel: 'info',
        // A small fleet: the two-person rule for mass actions from the fourth station on, and a ramp it can see.
        grid: { massMinStations: 3, fleetRampKwPerS: 20 },
      });
      const log = pino({ level: 'info' }, pino.destination({ dest: logFile, mkdir: true, sync: false }));
      const app = await startApp(config, { log }).catch((err) => {
        throw explainListenError(err, config.tlsPort, (flag, port) => `npm run demo -- ${flag} ${port + 10} (or evguard demo ${flag} ${port + 10})`);
      });
      const tokens = createTokenStore(app.database);
      const { token } = await tokens.create('demo operator', 'operator');
      const base = `http://localhost:${app.ports.http}`;
      const api = apiClient(`http://127.0.0.1:${app.ports.http}`, token);

      const plain = Array.from({ length: Math.ceil(o.stations / 2) }, (_, i) => `DEMO-P1-${i + 1}`);
      const tls = Array.from({ length: Math.floor(o.stations / 2) }, (_, i) => `DEMO-P2-${i + 1}`);
      const p1 = await registerStations(api, plain, 1);
      const p2 = await registerStations(api, tls, 2);
      const targets = await registerStations(api, Object.keys(TARGETS), 1);
      await api.request('PUT', `/api/v1/id-tokens/${DRIVER}`, { status: 'Accepted' });
      // A signed image waits in the repository; the stations are provisioned with its TUF roots and the manufacturer root.
      const image = await uploadImage(app, token);
      const firmware = await firmwareTrust(api, SIM_VENDOR);
      const ca = app.trust.listCas().filter((c) => c.pem).map((c) => c.pem);
      const common = { mix: { '1.6': 1, '2.0.1': 1, '2.1': 1 } as Partial<Record<OcppVersion, number>>, idTokenFor: () => DRIVER, chargingShare: 0.5, meterIntervalMs: 5_000, vendor: SIM_VENDOR, model: MODEL, firmwareVersion: '1.0.0', firmware };
      const fleets: Fleet[] = [await runFleet({ ...common, url: `ws://127.0.0.1:${app.ports.http}/ocpp`, ids: plain, count: plain.length, securityProfile: 1, passwordFor: (id: string) => p1.get(id)! })];
      if (tls.length) fleets.push(await runFleet({ ...common, url: `wss://localhost:${app.ports.https}/ocpp`, ids: tls, count: tls.length, securityProfile: 2, passwordFor: (id: string) => p2.get(id)!, tls: { ca } }));

      const charging = fleets.reduce((n, f) => n + f.stats().transactionsStarted, 0);
      process.stdout.write(
        `evguard demo: a node and ${o.stations} simulated stations (OCPP 1.6, 2.0.1, 2.1; profiles 1 and 2)\n\n` +
          `  console   ${base}/   sign in with the token ${token}\n` +
          `  API       curl -H "Authorization: Bearer ${token}" ${base}/api/v1/transactions\n` +
          `  node log  ${logFile} (one JSON line per event)\n\n` +
          `  ✓ ${charging} stations charging, meter values every 5 s      → Fleet, a station's timeline, Grid\n`,
      );
      const stop = async () => {
        for (const f of fleets) await f.stop();
        await app.close();
        log.flush();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      if (o.scenario) {
        const began = Date.now();
        const say = (line: string) => process.stdout.write(`  ${line}  (${Math.round((Date.now() - began) / 1000)} s)\n`);
        await runScenario({ app, api, token, base: `http://127.0.0.1:${app.ports.http}`, fleets, imageId: image.id, targets, say }).catch((err) => {
          process.stdout.write(`  ✗ the scenario stopped: ${(err as Error).message}\n`);
        });
      }
      process.stdout.write('\nThe fleet keeps charging. Press Ctrl-C to stop.\n');
    });
}

async function uploadImage(app: App, token: string): Promise<{ id: string }> {
  const q = new URLSearchParams({ vendor: SIM_VENDOR, model: MODEL, version: '1.1.0' });
  const res = await fetch(`http://127.0.0.1:${app.ports.http}/api/v1/firmware?${q}`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: randomBytes(64 * 1024),
  });
  const body = (await res.json()) as { id: string; error?: { message: string } };
  // A data dir from an earlier run already has this version.
  if (res.status === 409) return { id: ((await (await fetch(`http://127.0.0.1:${app.ports.http}/api/v1/firmware`, { headers: { authorization: `Bearer ${token}` } })).json()) as { id: string; version: string; vendor: string }[]).find((i) => i.vendor === SIM_VENDOR && i.version === '1.1.0')!.id };
  if (!res.ok) throw new Error(`firmware upload: ${body.error?.message ?? res.status}`);
  return body;
}

interface Scenario {
  app: App;
  api: ApiClient;
  token: string;
  base: string;
  fleets: Fleet[];
  imageId: string;
  targets: Map<string, string>;
  say(line: string): void;
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The rest of the tour, one step after another; each says what happened and where to see it. */
async function runScenario(s: Scenario): Promise<void> {
  const stations = s.fleets.flatMap((f) => f.stations);
  const idle = stations.filter((st) => st.state === 'open' && st.transactionId(1) === undefined);

  // A certificate renewal: TriggerMessage → SignCertificate (the station's CSR) → CertificateSigned.
  const renewing = idle.find((st) => st.id.startsWith('DEMO-P2-') && st.ocppVersion !== '1.6') ?? idle.find((st) => st.id.startsWith('DEMO-P2-'));
  if (renewing) {
    const renewal = await s.api.request<{ id: string }>('POST', `/api/v1/stations/${renewing.id}/certificates/renew`, {});
    const done = await until('certificate renewal', 30_000, async () => {
      const inv = await s.api.request<{ renewals: { id: string; state: string; newSerial?: string }[] }>('GET', `/api/v1/stations/${renewing.id}/certificates`);
      const r = inv.renewals.find((x) => x.id === renewal.id);
      return r && r.state !== 'requested' ? r : undefined;
    });
    s.say(`${done.state === 'completed' ? '✓' : '✗'} certificate renewal for ${renewing.id}: ${done.state}${done.newSerial ? ` (serial ${done.newSerial.slice(0, 12)}…)` : ''}   → Certificates`);
  }

  // A signed firmware campaign over the idle stations: canary, then waves, each station checking the signature.
  const targets = idle.filter((st) => st !== renewing).map((st) => st.id);
  if (targets.length) {
    const c = await s.api.request<{ id: string }>('POST', '/api/v1/campaigns', { firmwareId: s.imageId, stationIds: targets, canaryPercent: 30, waveSize: 2 });
    const end = await until('firmware campaign', 90_000, async () => {
      const now = await s.api.request<{ state: string; counts: Record<string, number>; haltReason?: string }>('GET', `/api/v1/campaigns/${c.id}`);
      return now.state === 'running' ? undefined : now;
    });
    s.say(`${end.state === 'completed' ? '✓' : '✗'} firmware 1.1.0 campaign ${end.state} on ${targets.length} stations (${Object.entries(end.counts).map(([k, v]) => `${v} ${k}`).join(', ')})${end.haltReason ? `: ${end.haltReason}` : ''}   → Firmware`);
  }

  // An attack: password guessing, a flood of malformed frames, an opened enclosure.
  const url = s.base.replace(/^http/, 'ws') + '/ocpp';
  // Alerts raised or raised again (a data dir from an earlier run aggregates into its open alerts) from now on.
  const since = new Date(Date.now() - 1000).toISOString();
  for (const [id, mode] of Object.entries(TARGETS)) {
    await runAttack(mode, { url, stationIds: [id], passwordFor: (sid) => s.targets.get(sid), ocppVersion: '2.0.1' }).catch(() => undefined);
  }
  const raised = await until('alerts from the attack', 30_000, async () => {
    const alerts = (await s.api.request<{ id: string; detector: string; updatedAt: string }[]>('GET', '/api/v1/alerts')).filter((a) => a.updatedAt >= since);
    return new Set(alerts.map((a) => a.detector)).size >= 2 ? alerts : undefined;
  });
  s.say(`✓ simulated attack on ${Object.keys(TARGETS).join(', ')}: ${raised.length} alerts (${[...new Set(raised.map((a) => a.detector))].join(', ')})   → Alerts`);

  // A mass start through a stolen operator token: the grid guard spreads and refuses it.
  const stolen = (await createTokenStore(s.app.database).create('stolen operator token', 'operator')).token;
  const byVersion = (v2: boolean) => stations.filter((st) => (st.ocppVersion !== '1.6') === v2).map((st) => st.id);
  const reports = await Promise.all([
    runAttack('mass-start', { url, stationIds: byVersion(true), api: s.base, token: stolen, ocppVersion: '2.0.1' }),
    ...(byVersion(false).length ? [runAttack('mass-start', { url, stationIds: byVersion(false), api: s.base, token: stolen, ocppVersion: '1.6' })] : []),
  ]);
  const report = { sent: reports.reduce((n, r) => n + r.sent, 0), outcomes: {} as Record<string, number> };
  for (const r of reports) for (const [k, v] of Object.entries(r.outcomes)) report.outcomes[k] = (report.outcomes[k] ?? 0) + v;
  const refused = Object.entries(report.outcomes).filter(([k]) => k.includes('GRID_')).reduce((n, [, v]) => n + v, 0);
  s.say(`${refused > 0 ? '✓' : '✗'} mass start of ${report.sent} stations: ${Object.entries(report.outcomes).map(([k, v]) => `${v} ${k}`).join(', ')}   → Grid, Alerts`);
}
