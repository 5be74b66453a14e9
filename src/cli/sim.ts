import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { runFleet, type FleetStats, type OcppVersion } from '../sim/index.js';
import type { SimFirmwareOptions } from '../sim/types.js';
import { ATTACK_DETECTOR, ATTACK_MODES, runAttack, type AttackMode } from '../sim/attacks.js';
import { parseIntOption, parseUrlOption, usageError } from '../cli-kit.js';
import { apiClient } from '../api/client.js';
import { fetchCaBundle, firmwareTrust, registerStations } from './fleet-setup.js';

export function parseMix(value: string): Partial<Record<OcppVersion, number>> {
  const mix: Partial<Record<OcppVersion, number>> = {};
  for (const part of value.split(',')) {
    const [version, weight] = part.split(':');
    if (!['1.6', '2.0.1', '2.1'].includes(version ?? '') || !/^\d+(\.\d+)?$/.test(weight ?? '1')) {
      throw new InvalidArgumentError('use version:weight pairs, e.g. 1.6:1,2.0.1:2,2.1:1');
    }
    mix[version as OcppVersion] = Number(weight ?? 1);
  }
  return mix;
}

function parseShare(value: string): number {
  const n = Number(value);
  if (!/^\d*\.?\d+$/.test(value) || n > 1) throw new InvalidArgumentError('--charging-share must be a number between 0 and 1, e.g. 0.25');
  return n;
}

export function simCommand(): Command {
  return new Command('sim')
    .description('Run simulated charging stations (real OCPP clients) against a CSMS')
    .option('--api <url>', 'REST base URL of the node: register the stations and an id token there first, and provision their firmware trust (needs --token)', parseUrlOption('--api', ['http', 'https']))
    .option('--token <token>', 'API token with the operator role (or EVGUARD_TOKEN)')
    .option('--ocpp-url <url>', 'OCPP base URL; the station id is appended (default: ws://<--api host>/ocpp, else ws://localhost:8080/ocpp)', parseUrlOption('--ocpp-url', ['ws', 'wss']))
    // The earlier spelling of --ocpp-url, kept so existing scripts work.
    .addOption(new Option('--url <url>').hideHelp().argParser(parseUrlOption('--url', ['ws', 'wss'])))
    .option('--count <n>', 'number of stations', parseIntOption('--count', 1, 1_000_000), 10)
    .addOption(new Option('--mix <pairs>', 'OCPP version mix as version:weight pairs').argParser(parseMix).default({ '1.6': 1, '2.0.1': 1, '2.1': 1 }, '1.6:1,2.0.1:1,2.1:1'))
    .option('--profile <n>', 'security profile 1, 2 or 3', parseIntOption('--profile', 1, 3), 1)
    .option('--prefix <id>', 'station id prefix; ids are <prefix>00001, <prefix>00002, …', 'SIM')
    .option('--password <pw>', 'password for every station (profiles 1 and 2) when not registering via --api')
    .option('--ca <file>', 'CA certificate (PEM) to verify a wss:// server; fetched from --api when omitted')
    .option('--id-token <token>', 'id token the simulated drivers present', 'SIMDRIVER0001')
    .option('--charging-share <fraction>', 'share of stations charging at a time (0 to 1)', parseShare, 0.25)
    .option('--meter-interval <seconds>', 'meter values every this many seconds while charging (0: none)', parseIntOption('--meter-interval', 0, 86_400), 10)
    .option('--firmware-version <version>', 'firmware version the stations report', '1.0.0')
    .option('--fail-install', 'firmware installations fail (InstallationFailed): rehearse a halted campaign')
    .option('--duration <seconds>', 'stop after this many seconds (default: run until Ctrl-C or SIGTERM)', parseIntOption('--duration', 1))
    .option('--attack <mode>', `instead of normal traffic, run one attack and print what the target answered (JSON): ${ATTACK_MODES.map((m) => `${m} (${ATTACK_DETECTOR[m]})`).join(', ')}`, (v: string) => {
      if (!(ATTACK_MODES as readonly string[]).includes(v)) throw new InvalidArgumentError(`choose one of ${ATTACK_MODES.join(', ')}`);
      return v;
    })
    .addHelpText('after', '\nSimulated stations are stations: they charge with meter values, reconnect after a lost connection,\nand on Ctrl-C or SIGTERM stop their transactions and disconnect. See docs/simulator.md.')
    .action(async (o) => {
      const token = o.token ?? process.env.EVGUARD_TOKEN;
      if (o.api && !token) throw usageError('--api needs --token (an operator API token) or EVGUARD_TOKEN');
      let url: string | undefined = o.ocppUrl ?? o.url;
      if (!url) {
        if (o.api && o.profile !== 1) throw usageError('profiles 2 and 3 need --ocpp-url wss://<host>:<tls-port>/ocpp (the node prints it at start)');
        url = o.api ? `${new URL(o.api).origin.replace(/^http/, 'ws')}/ocpp` : 'ws://localhost:8080/ocpp';
      }
      const ids = Array.from({ length: o.count }, (_, i) => `${o.prefix}${String(i + 1).padStart(5, '0')}`);
      let passwords = new Map<string, string>();
      let ca: string[] | undefined = o.ca ? [readFileSync(o.ca, 'utf8')] : undefined;
      let firmware: SimFirmwareOptions | undefined;
      if (o.api) {
        const api = apiClient(o.api, token);
        process.stderr.write(`registering ${ids.length} stations on ${o.api} …\n`);
        passwords = await registerStations(api, ids, o.profile);
        await api.request('PUT', `/api/v1/id-tokens/${encodeURIComponent(o.idToken)}`, { status: 'Accepted' });
        if (!ca && url.startsWith('wss:')) ca = await fetchCaBundle(api);
        // As a manufacturer provisions them: the manufacturer root for signed firmware, the node's CAs for the HTTPS download.
        firmware = await firmwareTrust(api, SIM_VENDOR);
      } else if (o.profile !== 3 && !o.password && o.attack !== 'brute-force') {
        throw usageError('give --password, or --api and --token so the simulator can register its stations');
      }
      if (o.attack) {
        if (o.attack === 'mass-start' && !(o.api && token)) throw usageError('--attack mass-start needs --api and --token (the operator token under attack)');
        const report = await runAttack(o.attack as AttackMode, {
          url, stationIds: ids, passwordFor: (id) => passwords.get(id) ?? o.password, ocppVersion: o.mix['2.1'] && !o.mix['2.0.1'] ? '2.1' : '2.0.1',
          securityProfile: o.profile === 2 ? 2 : 1, tls: ca ? { ca } : undefined, api: o.api, token,
          onProgress: (done, total) => process.stderr.write(`\r${o.attack}: ${done}/${total}   `),
        });
        process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        return;
      }
      // Registered before connecting, so a signal that arrives while the fleet connects still ends it cleanly.
      const signalled = new Promise<string>((resolve) => {
        process.once('SIGINT', () => resolve('interrupted'));
        process.once('SIGTERM', () => resolve('terminated'));
      });
      const fleet = await runFleet({
        url,
        count: o.count,
        ids,
        mix: o.mix,
        securityProfile: o.profile,
        passwordFor: (id: string) => passwords.get(id) ?? o.password,
        tls: ca ? { ca } : undefined,
        idTokenFor: () => o.idToken,
        chargingShare: o.chargingShare,
        meterIntervalMs: o.meterInterval * 1000,
        vendor: SIM_VENDOR,
        firmwareVersion: o.firmwareVersion,
        firmware: firmware || o.failInstall ? { ...firmware, failInstall: !!o.failInstall } : undefined,
        durationMs: o.duration ? o.duration * 1000 : undefined,
        onProgress: (p) => process.stderr.write(`\rconnected ${p.connected}/${p.total}, failed ${p.failed}, offline ${p.offline}, disconnects ${p.disconnects}   `),
      });
      const up = fleet.stats();
      process.stderr.write(`\nfleet running: ${up.connected} of ${up.total} stations connected, ${up.transactionsStarted} charging; Ctrl-C stops it\n`);
      reportFailures(up);
      const elapsed = o.duration ? fleet.done.then(() => `${o.duration} s elapsed`) : new Promise<string>(() => undefined);
      const why = await Promise.race([signalled, elapsed]);
      process.stderr.write(`\n${why}: stopping transactions and disconnecting …\n`);
      const stats = await fleet.stop();
      process.stderr.write(`${summary(stats)}\n`);
      reportFailures(stats);
      process.exit(0);
    });
}

/** The vendor simulated stations report, and so the vendor their firmware images are uploaded for. */
export const SIM_VENDOR = 'evguard';

/** One line on exit: what the fleet did. */
export function summary(s: FleetStats): string {
  return `${s.total} stations (${s.connected} connected, ${s.failed} failed), ${s.transactionsStarted} transactions started, ${s.transactionsStopped} stopped, ` +
    `${s.disconnects} disconnects, ${s.reconnects} reconnects, ${s.calls} calls (${s.callFailures} failed; p50 ${s.latencyMs.p50.toFixed(0)} ms, p99 ${s.latencyMs.p99.toFixed(0)} ms)`;
}

/** Says why stations failed, so a wrong URL, password or CA is visible at once. */
function reportFailures(stats: { failed: number; total: number; errors: Record<string, number> }): void {
  if (stats.failed === 0) return;
  const reasons = Object.entries(stats.errors).map(([code, n]) => `${code} ×${n}`).join(', ');
  process.stderr.write(`${stats.failed} of ${stats.total} stations failed${reasons ? `: ${reasons}` : ''} (check --url, credentials and --ca)\n`);
}
