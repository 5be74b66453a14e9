import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { runFleet, type OcppVersion } from '../sim/index.js';
import { parseIntOption, UsageError } from './exit.js';
import { apiClient, fetchCaBundle, registerStations } from './fleet-setup.js';

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

export function simCommand(): Command {
  return new Command('sim')
    .description('Run simulated charging stations (real OCPP clients) against a CSMS')
    .option('--url <url>', 'OCPP base URL; the station id is appended', 'ws://localhost:8080/ocpp')
    .option('--count <n>', 'number of stations', parseIntOption('--count', 1, 1_000_000), 10)
    .option('--mix <pairs>', 'OCPP version mix, e.g. 1.6:1,2.0.1:1,2.1:1', parseMix, { '1.6': 1, '2.0.1': 1, '2.1': 1 })
    .option('--profile <n>', 'security profile 1, 2 or 3', parseIntOption('--profile', 1, 3), 1)
    .option('--prefix <id>', 'station id prefix', 'SIM')
    .option('--password <pw>', 'password for every station (profiles 1 and 2) when not registering via --api')
    .option('--api <url>', 'register the stations and an id token on this node first (needs --token)')
    .option('--token <token>', 'API token with the operator role (or EVGUARD_TOKEN)')
    .option('--ca <file>', 'CA certificate (PEM) to verify a wss:// server; fetched from --api when omitted')
    .option('--id-token <token>', 'id token the simulated drivers present', 'SIMDRIVER0001')
    .option('--charging-share <fraction>', 'share of stations charging at a time', (v) => Number(v), 0.25)
    .option('--duration <seconds>', 'stop after this many seconds (default: run until Ctrl-C)', parseIntOption('--duration', 1))
    .action(async (o) => {
      const token = o.token ?? process.env.EVGUARD_TOKEN;
      if (o.api && !token) throw new UsageError('--api needs --token (an operator API token) or EVGUARD_TOKEN');
      if (!(o.chargingShare >= 0 && o.chargingShare <= 1)) throw new UsageError('--charging-share must be between 0 and 1');
      const ids = Array.from({ length: o.count }, (_, i) => `${o.prefix}${String(i + 1).padStart(5, '0')}`);
      let passwords = new Map<string, string>();
      let ca: string[] | undefined = o.ca ? [readFileSync(o.ca, 'utf8')] : undefined;
      if (o.api) {
        const api = apiClient(o.api, token);
        process.stderr.write(`registering ${ids.length} stations on ${o.api} …\n`);
        passwords = await registerStations(api, ids, o.profile);
        await api.request('PUT', `/api/v1/id-tokens/${encodeURIComponent(o.idToken)}`, { status: 'Accepted' });
        if (!ca && o.url.startsWith('wss:')) ca = await fetchCaBundle(api);
      } else if (o.profile !== 3 && !o.password) {
        throw new UsageError('give --password, or --api and --token so the simulator can register its stations');
      }
      const fleet = await runFleet({
        url: o.url,
        count: o.count,
        ids,
        mix: o.mix,
        securityProfile: o.profile,
        passwordFor: (id: string) => passwords.get(id) ?? o.password,
        tls: ca ? { ca } : undefined,
        idToken: o.idToken,
        chargingShare: o.chargingShare,
        durationMs: o.duration ? o.duration * 1000 : undefined,
        onProgress: (p: { connected: number; total: number; failed: number }) =>
          process.stderr.write(`\rconnected ${p.connected}/${p.total}, failed ${p.failed}   `),
      } as any);
      process.stderr.write('\n');
      const stop = async () => {
        await fleet.stop();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      if (o.duration) setTimeout(stop, o.duration * 1000).unref();
    });
}
