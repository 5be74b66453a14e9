/** `evguard probe <ws(s)://host/path>`: the probe as a CI gate. */
import { readFileSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { parseIntOption, parseUrlOption, usageError } from '../cli-kit.js';
import { evguardObserver } from './observer.js';
import { DEFAULT_OPTIONS, OWN_FAILED_LOGINS, runProbe } from './run.js';
import { findingsAtOrAbove, renderHtml, renderJson, renderSarif, renderTerminal } from './report.js';
import { SEVERITIES, type ProbeOptions, type Severity } from './types.js';

export function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw usageError(`cannot read ${what} ${file}: ${(err as Error).message}`);
  }
}

export const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

export function probeCommand(): Command {
  return new Command('probe')
    .description('Act as a charging station against any OCPP 1.6J / 2.0.1 / 2.1 CSMS and report its security weaknesses')
    .argument('<url>', 'the CSMS OCPP endpoint without the station id, e.g. wss://csms.example/ocpp')
    .option('--station <id>', 'station identity registered at the target, used for authenticated checks', DEFAULT_OPTIONS.stationId)
    .option('--user <name>', 'Basic-auth username (default: the station id)')
    .option('--password <pw>', 'Basic-auth password of the station (or EVGUARD_PROBE_PASSWORD)')
    .option('--cert <file>', 'client certificate (PEM) of the station, for security profile 3')
    .option('--key <file>', 'private key (PEM) for --cert')
    .option('--ca <file>', 'CA certificate(s) (PEM) that should verify the target; default: system roots')
    .option('--insecure', "do not verify the target's certificate (the report says it was not checked)", false)
    .addOption(new Option('--ocpp <version>', 'OCPP version to speak (default: let the target choose)').choices(['1.6', '2.0.1', '2.1']))
    .option('--other-station <id>', 'a second registered station, for cross-station checks (TX-001, TLS-008)')
    .option('--other-password <pw>', 'password of --other-station')
    .option('--plain-url <url>', 'plain ws:// endpoint of the same CSMS, to test a TLS station over it (TLS-001)')
    .option('--aggressive', 'also run bursts and half-open connections (DOS-*), bounded by the limits below', false)
    .option('--max-messages <n>', 'messages in the rate-limit burst', parseIntOption('--max-messages', 1, 10_000), DEFAULT_OPTIONS.maxMessages)
    .option('--slow-seconds <s>', 'how long to hold a half-open request', parseIntOption('--slow-seconds', 1, 600), DEFAULT_OPTIONS.slowSeconds)
    .option('--timeout <ms>', 'wait for any one answer', parseIntOption('--timeout', 100, 120_000), DEFAULT_OPTIONS.timeoutMs)
    .option('--huge-frame <bytes>', 'size of the oversized frame (MSG-004)', parseIntOption('--huge-frame', 1024, 64 * 1024 * 1024), DEFAULT_OPTIONS.hugeFrameBytes)
    .option('--pace <ms>', 'pause between checks and the liveness sessions around them', parseIntOption('--pace', 0, 60_000), DEFAULT_OPTIONS.paceMs)
    .option('--max-failed-logins <n>', `failed logins the run may make in all (at most ${OWN_FAILED_LOGINS} on --station); checks beyond it are skipped`, parseIntOption('--max-failed-logins', 0, 100), DEFAULT_OPTIONS.maxFailedLogins)
    .option('--id-token <token>', 'an idToken the target accepts, for the transaction TX-001 starts (default PROBE0001)')
    .option('--allow-incomplete', 'exit 0 even when checks could not be judged (no session, locked out, target down)', false)
    .option('--api <url>', "an evguard target's API, read as a side channel by TX-001 and STATE-001 (needs --token)", parseUrlOption('--api', ['http', 'https']))
    .option('--token <token>', 'API token with the auditor role for --api (or EVGUARD_TOKEN)')
    .option('--only <ids>', 'run only these checks (comma-separated ids)', list)
    .option('--skip <ids>', 'skip these checks (comma-separated ids)', list)
    .option('--json <file>', 'write the report as JSON')
    .option('--sarif <file>', 'write the report as SARIF 2.1.0')
    .option('--html <file>', 'write a self-contained HTML report')
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding at or above this severity exists').choices([...SEVERITIES, 'none']).default('medium'))
    .option('--quiet', 'no progress lines', false)
    .addHelpText('after', '\nExit codes: 0 nothing at or above --fail-on and every check judged, 1 findings, or checks that could not be judged (unless --allow-incomplete), 2 bad usage.\nSee docs/probe.md for every check, its basis and its remedy.')
    .action(async (url: string, o) => {
      if (!/^wss?:\/\//i.test(url)) throw usageError('the target must be a ws:// or wss:// URL, e.g. wss://csms.example/ocpp');
      const token = o.token ?? process.env.EVGUARD_TOKEN;
      if (o.api && !token) throw usageError('--api needs --token (an auditor API token) or EVGUARD_TOKEN');
      const options: ProbeOptions = {
        url,
        stationId: o.station,
        user: o.user,
        password: o.password ?? process.env.EVGUARD_PROBE_PASSWORD,
        cert: o.cert ? readPem(o.cert, 'certificate') : undefined,
        key: o.key ? readPem(o.key, 'key') : undefined,
        ca: o.ca ? [readPem(o.ca, 'CA file')] : undefined,
        insecure: o.insecure,
        ocppVersion: o.ocpp,
        otherStationId: o.otherStation,
        otherPassword: o.otherPassword,
        plainUrl: o.plainUrl,
        aggressive: o.aggressive,
        maxMessages: o.maxMessages,
        slowSeconds: o.slowSeconds,
        timeoutMs: o.timeout,
        hugeFrameBytes: o.hugeFrame,
        only: o.only,
        skip: o.skip,
        paceMs: o.pace,
        maxFailedLogins: o.maxFailedLogins,
        idToken: o.idToken,
        observer: o.api ? evguardObserver(o.api, token) : undefined,
      };
      const report = await runProbe(options, (e) => {
        if (o.quiet) return;
        if (e.kind === 'check') process.stderr.write(`[${e.index + 1}/${e.total}] ${e.spec.id} ${e.spec.title} … `);
        if (e.kind === 'result') process.stderr.write(`${e.result.outcome.toUpperCase()} (${e.result.durationMs} ms)\n`);
      });
      process.stdout.write(renderTerminal(report));
      if (o.json) writeFileSync(o.json, renderJson(report));
      if (o.sarif) writeFileSync(o.sarif, renderSarif(report));
      if (o.html) writeFileSync(o.html, renderHtml(report));
      const failOn = o.failOn as Severity | 'none';
      const failing = failOn === 'none' ? [] : findingsAtOrAbove(report, failOn);
      if (failing.length) {
        process.stderr.write(`${failing.length} finding(s) at or above ${failOn}: ${failing.map((f) => f.id).join(', ')}\n`);
        process.exitCode = 1;
      }
      if (!report.complete) {
        const unjudged = report.results.filter((r) => r.outcome === 'error').map((r) => r.id);
        const why = report.stoppedBy?.length ? `: ${report.stoppedBy.join('; ')}` : '';
        process.stderr.write(`incomplete: ${unjudged.length} check(s) could not be judged (${unjudged.join(', ')})${why}\n`);
        if (!o.allowIncomplete) process.exitCode = 1;
      }
    });
}
