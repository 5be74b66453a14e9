/** `evguard probe-station --listen <port>`: play a CSMS toward a station under test. */
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { parseIntOption, usageError } from '../cli-kit.js';
import { runStationProbe, STATION_CHECKS } from './station.js';
import { list, readPem } from './cli.js';
import { findingsAtOrAbove, renderHtml, renderJson, renderSarif, renderTerminal } from './report.js';
import { SEVERITIES, type Severity } from './types.js';


export function probeStationCommand(): Command {
  return new Command('probe-station')
    .description('Play a CSMS toward a charging station under test and check how it defends itself (CSMS certificate, downgrade, firmware signatures, malformed calls)')
    .requiredOption('--listen <port>', 'port to listen on; point the station\'s CSMS URL here (0: any free port)', parseIntOption('--listen', 0, 65535))
    .option('--host <address>', 'address to bind', '0.0.0.0')
    .option('--advertise <host>', 'host name the station uses to reach this machine (firmware URLs)', 'localhost')
    .option('--tls-cert <file>', 'server certificate (PEM) the station trusts; without it the listener is plain ws://')
    .option('--tls-key <file>', 'key for --tls-cert')
    .option('--check-csms-certificate', 'present a self-signed certificate for another host and only check that the station refuses it (PST-001)', false)
    .option('--wait <seconds>', 'how long to wait for the station to connect', parseIntOption('--wait', 1, 3600), 120)
    .option('--firmware-wait <seconds>', 'how long to watch firmware status after each update request', parseIntOption('--firmware-wait', 1, 3600), 60)
    .option('--timeout <ms>', 'wait for any one answer', parseIntOption('--timeout', 100, 120_000), 10_000)
    .option('--only <ids>', 'run only these checks', list)
    .option('--skip <ids>', 'skip these checks', list)
    .option('--json <file>', 'write the report as JSON')
    .option('--sarif <file>', 'write the report as SARIF 2.1.0')
    .option('--html <file>', 'write a self-contained HTML report')
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding at or above this severity exists').choices([...SEVERITIES, 'none']).default('medium'))
    .addHelpText('after', `\nChecks: ${STATION_CHECKS.map((c) => c.id).join(', ')} (docs/probe.md).\nExit codes: 0 nothing at or above --fail-on, 1 findings or no station connected, 2 bad usage.`)
    .action(async (o) => {
      if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw usageError('--tls-cert and --tls-key go together');
      const report = await runStationProbe(
        {
          host: o.host,
          port: o.listen,
          advertise: o.advertise,
          tls: o.tlsCert ? { cert: readPem(o.tlsCert, 'certificate'), key: readPem(o.tlsKey, 'key') } : undefined,
          checkCsmsCertificate: o.checkCsmsCertificate,
          waitSeconds: o.wait,
          firmwareWaitSeconds: o.firmwareWait,
          timeoutMs: o.timeout,
          only: o.only,
          skip: o.skip,
          onListening: (url) => process.stderr.write(`listening: point the station at ${url}\n`),
        },
        (e) => {
          if (e.kind === 'check') process.stderr.write(`[${e.index + 1}/${e.total}] ${e.spec.id} ${e.spec.title} … `);
          if (e.kind === 'result') process.stderr.write(`${e.result.outcome.toUpperCase()} (${e.result.durationMs} ms)\n`);
        },
      );
      process.stdout.write(renderTerminal(report));
      if (o.json) writeFileSync(o.json, renderJson(report));
      if (o.sarif) writeFileSync(o.sarif, renderSarif(report, STATION_CHECKS));
      if (o.html) writeFileSync(o.html, renderHtml(report));
      const failOn = o.failOn as Severity | 'none';
      const failing = failOn === 'none' ? [] : findingsAtOrAbove(report, failOn);
      if (report.results.length && report.results.every((r) => r.outcome === 'error' || r.outcome === 'skip')) process.exitCode = 1;
      else if (failing.length) process.exitCode = 1;
    });
}
