import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import type { ConfigInput } from '../config.js';
import { loadNodeConfig } from '../node-identity.js';
import { startApp } from '../app.js';
import { parseIntOption } from '../cli-kit.js';
import { explainListenError } from './exit.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('Run an evguard node: OCPP (ws:// and wss://), REST API, console')
    .option('--port <port>', 'HTTP port: REST, console and ws:// OCPP (security profile 1) (default 8080)', parseIntOption('--port', 0, 65535))
    .option('--tls-port <port>', 'TLS port: wss:// OCPP (profiles 2 and 3) and HTTPS; 0 disables TLS (default 8443)', parseIntOption('--tls-port', 0, 65535))
    .option('--host <address>', 'address to bind (default 0.0.0.0)')
    .option('--data-dir <dir>', 'data directory: SQLite database, keys, admin token (default ./.evguard)')
    .option('--database-url <url>', 'postgres://… to use PostgreSQL (default: embedded SQLite in the data directory)')
    .option('--nats-url <url>', 'nats://… for cluster mode (default: none, a single node)')
    .option('--organization <name>', 'organisation (O) that station certificates must carry (default evguard)')
    .option('--hostname <name...>', 'extra host names for the generated server certificate (default: localhost only)')
    .option('--tls-cert <file>', 'use this server certificate (PEM, with chain) instead of a generated one')
    .option('--tls-key <file>', 'private key for --tls-cert')
    .option('--plain-api', 'serve the REST API, console, TAXII and /metrics on the plain HTTP port to remote clients too, only behind a TLS-terminating proxy (default: loopback clients only there)')
    .option('--public-url <url>', 'http(s)://host[:port] relying parties reach for CRLs and OCSP (default http://<hostname or localhost>:<port>)')
    .option('--allow-unknown', 'let unknown stations connect as Pending (an operator must accept them) (default: refused)')
    .option('--config <file>', 'JSON config file (flags > EVGUARD_* env > file > defaults)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug or trace (default info)')
    .addHelpText('after', '\nDefaults are in parentheses; flags beat EVGUARD_* environment variables (EVGUARD_PORT, EVGUARD_TLS_PORT, …),\nwhich beat the --config file. EVGUARD_ADMIN_TOKEN sets the admin API token (else one is generated on first\nstart and printed once). The whole table: README.md, Configuration.')
    .action(async (o) => {
      const flags: ConfigInput = {
        port: o.port,
        tlsPort: o.tlsPort,
        host: o.host,
        dataDir: o.dataDir,
        databaseUrl: o.databaseUrl,
        natsUrl: o.natsUrl,
        organization: o.organization,
        hostnames: o.hostname,
        tlsCertFile: o.tlsCert,
        tlsKeyFile: o.tlsKey,
        logLevel: o.logLevel,
        plainApi: o.plainApi ? true : undefined,
        publicUrl: o.publicUrl,
        ocpp: o.allowUnknown ? { allowUnknown: true } : undefined,
      };
      const config = loadNodeConfig(stripUndefined(flags), process.env, o.config, { record: true });
      const firstStart = !existsSync(path.join(config.dataDir, 'keys'));
      process.stdout.write(firstStart ? `first start: creating certificate authorities and a server certificate in ${config.dataDir} …\n` : 'starting evguard …\n');
      const app = await startApp(config).catch((err) => {
        throw explainListenError(err, config.tlsPort, (flag, port) => `evguard serve ${flag} ${port + 10} (or EVGUARD_${flag === '--port' ? 'PORT' : 'TLS_PORT'}=${port + 10})`);
      });
      const base = `http://localhost:${app.ports.http}`;
      process.stdout.write(
        `evguard is running\n  REST API and console  ${base}/  (OpenAPI: ${base}/api/v1/openapi.json)\n  OCPP, profile 1       ws://localhost:${app.ports.http}/ocpp/<stationId>\n` +
          (app.ports.https ? `  OCPP, profiles 2 and 3 wss://localhost:${app.ports.https}/ocpp/<stationId>\n` : '') +
          (app.generatedAdminToken
            ? `\nAdmin API token (shown once; also kept in ${config.dataDir}/admin-token, mode 0600):\n  ${app.generatedAdminToken}\n`
            : '') ,
      );
      const stop = async () => {
        await app.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

function stripUndefined<T extends object>(o: T): T {
  return JSON.parse(JSON.stringify(o)) as T;
}
