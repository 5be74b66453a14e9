import { Command } from 'commander';
import { loadConfig } from '../config.js';
import { startApp } from '../app.js';
import { createTokenStore } from '../api/index.js';
import { runFleet, type OcppVersion } from '../sim/index.js';
import { explainListenError, parseIntOption } from './exit.js';
import { apiClient, registerStations } from './fleet-setup.js';

export function demoCommand(): Command {
  return new Command('demo')
    .description('Start a node and a small simulated fleet on this machine (1.6, 2.0.1 and 2.1; profiles 1 and 2)')
    .option('--port <port>', 'HTTP port', parseIntOption('--port', 0, 65535), 8080)
    .option('--tls-port <port>', 'TLS port', parseIntOption('--tls-port', 1, 65535), 8443)
    .option('--data-dir <dir>', 'data directory', './.evguard-demo')
    .option('--stations <n>', 'number of simulated stations', parseIntOption('--stations', 1, 1000), 6)
    .action(async (o) => {
      const config = loadConfig({ port: o.port, tlsPort: o.tlsPort, dataDir: o.dataDir, host: '127.0.0.1', logLevel: 'warn' });
      const app = await startApp(config).catch((err) => {
        throw explainListenError(err, config.tlsPort, (flag, port) => `npm run demo -- ${flag} ${port + 10} (or evguard demo ${flag} ${port + 10})`);
      });
      const { token } = await createTokenStore(app.database).create('demo operator', 'operator');
      const base = `http://127.0.0.1:${app.ports.http}`;
      const api = apiClient(base, token);
      const versions: OcppVersion[] = ['1.6', '2.0.1', '2.1'];
      const plain = Array.from({ length: Math.ceil(o.stations / 2) }, (_, i) => `DEMO-P1-${i + 1}`);
      const tls = Array.from({ length: Math.floor(o.stations / 2) }, (_, i) => `DEMO-P2-${i + 1}`);
      const p1 = await registerStations(api, plain, 1);
      const p2 = await registerStations(api, tls, 2);
      await api.request('PUT', '/api/v1/id-tokens/DEMODRIVER01', { status: 'Accepted' });
      const ca = app.trust.listCas().map((c) => c.pem);
      const mix = Object.fromEntries(versions.map((v) => [v, 1]));
      const fleets = [
        await runFleet({ url: `ws://127.0.0.1:${app.ports.http}/ocpp`, ids: plain, count: plain.length, mix, securityProfile: 1, passwordFor: (id: string) => p1.get(id)!, idTokenFor: () => 'DEMODRIVER01', chargingShare: 0.5, meterIntervalMs: 10_000 }),
        ...(tls.length
          ? [await runFleet({ url: `wss://localhost:${app.ports.https}/ocpp`, ids: tls, count: tls.length, mix, securityProfile: 2, passwordFor: (id: string) => p2.get(id)!, tls: { ca }, idTokenFor: () => 'DEMODRIVER01', chargingShare: 0.5, meterIntervalMs: 10_000 })]
          : []),
      ];
      process.stdout.write(
        `evguard demo is running with ${o.stations} simulated stations\n  console   ${base}/\n  API       curl -H "Authorization: Bearer ${token}" ${base}/api/v1/stations\n            curl -H "Authorization: Bearer ${token}" ${base}/api/v1/transactions\nPress Ctrl-C to stop.\n`,
      );
      const stop = async () => {
        for (const f of fleets) await f.stop();
        await app.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
