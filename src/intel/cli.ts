/**
 * `evguard intel export | push | pull`. The core mounts this command into the
 * evguard CLI and supplies `open`, which opens the node's data dir; this file
 * only parses, checks and prints. Exit codes follow the contract: 0 ok,
 * 1 runtime failure, 2 bad usage or bad input.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { EvguardError } from '../errors.js';
import { createTaxiiClient, type Intel, type ShareableAlert, type ShareableIncident, type TlpLevel } from './index.js';
import { TLP_LEVELS } from './stix.js';

/** What the CLI needs from an opened node. */
export interface IntelNode {
  intel: Intel;
  /** Alerts raised at or after `since` (all when undefined). */
  alerts(since?: string): Promise<ShareableAlert[]>;
  incidents?(since?: string): Promise<ShareableIncident[]>;
  close(): Promise<void>;
}

export type OpenIntelNode = (opts: { dataDir?: string; configFile?: string }) => Promise<IntelNode>;

export interface IntelCommandDeps {
  open: OpenIntelNode;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Must not return; tests pass one that throws. */
  exit?: (code: number) => never;
  env?: Record<string, string | undefined>;
  /** Resolves when a scheduled run should stop; defaults to SIGINT/SIGTERM. */
  untilStopped?: () => Promise<void>;
}

const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/;

function isoTime(flag: string) {
  return (value: string) => {
    if (!ISO.test(value) || Number.isNaN(Date.parse(value))) throw new InvalidArgumentError(`${flag} must be an ISO-8601 time such as 2024-05-01T00:00:00Z (got "${value.slice(0, 40)}")`);
    return new Date(value).toISOString();
  };
}

/** `30s`, `15m`, `6h`, `1d`; between 10 seconds and 7 days. */
export function parseDuration(value: string): number {
  const m = /^(\d{1,6})(s|m|h|d)$/.exec(value);
  const ms = m ? Number(m[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as 's' | 'm' | 'h' | 'd'] : NaN;
  if (!(ms >= 10_000 && ms <= 7 * 86400e3)) throw new InvalidArgumentError(`--every must be a duration like 30s, 15m, 6h or 1d, between 10s and 7d (got "${value.slice(0, 20)}")`);
  return ms;
}

function remoteUrl(value: string) {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`--url must be a TAXII 2.1 URL such as https://isac.example/taxii2/ (got "${value.slice(0, 80)}")`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InvalidArgumentError('--url must start with https:// (or http:// for a local test server)');
  if (url.username || url.password) throw new InvalidArgumentError('put credentials in EVGUARD_TAXII_TOKEN, not in --url');
  return url.toString();
}

export function createIntelCommand(deps: IntelCommandDeps): Command {
  const out = deps.stdout ?? ((t) => process.stdout.write(t));
  const err = deps.stderr ?? ((t) => process.stderr.write(t));
  const exit = deps.exit ?? ((code: number) => process.exit(code));
  const env = deps.env ?? process.env;
  const untilStopped = deps.untilStopped ?? (() => new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  }));

  const configure = (cmd: Command) =>
    cmd
      .configureOutput({ writeOut: out, writeErr: err })
      .exitOverride((e: CommanderError) => {
        exit(e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version' || e.exitCode === 0 ? 0 : 2);
        throw e;
      });

  /** Runs one action with the contract's exit codes; a node opened for it is always closed. */
  const run = (fn: (...args: any[]) => Promise<void>) => async (...args: any[]) => {
    let code = 0;
    try {
      await fn(...args);
    } catch (e) {
      if (e instanceof EvguardError && e.status >= 400 && e.status < 500) {
        err(`error: ${e.message}\n`);
        code = 2;
      } else {
        err(`error: ${(e as Error)?.message ?? String(e)}\n`);
        code = 1;
      }
    }
    if (code !== 0) exit(code);
  };

  const withNode = async <T>(opts: { dataDir?: string; config?: string }, fn: (node: IntelNode) => Promise<T>): Promise<T> => {
    const node = await deps.open(opts.config === undefined ? { dataDir: opts.dataDir } : { dataDir: opts.dataDir, configFile: opts.config });
    try {
      return await fn(node);
    } finally {
      await node.close();
    }
  };

  const token = (flag: string | undefined) => flag ?? env.EVGUARD_TAXII_TOKEN;

  const repeat = async (every: number | undefined, intel: Intel, task: () => Promise<void>) => {
    if (every === undefined) return task();
    const stop = intel.schedule(task, every, (e) => err(`error: ${(e as Error).message}\n`));
    await untilStopped();
    stop();
  };

  const intelCmd = configure(new Command('intel')).description('Share alerts as STIX 2.1 and exchange threat intelligence over TAXII 2.1');

  configure(intelCmd.command('export'))
    .description('Write one STIX 2.1 bundle of the node\'s alerts to standard output')
    .option('--since <time>', 'only alerts raised at or after this ISO-8601 time', isoTime('--since'))
    .option('--data-dir <dir>', 'the node\'s data directory')
    .option('--config <file>', 'the node\'s JSON config file, as given to evguard serve (pseudonym key, TLP)')
    .addOption(new Option('--tlp <level>', 'TLP 2.0 marking (default: the node\'s configured level)').choices([...TLP_LEVELS]))
    .action(run(async (opts: { since?: string; dataDir?: string; config?: string; tlp?: TlpLevel }) => {
      const bundle = await withNode(opts, async (node) => node.intel.exportBundle({
        since: opts.since, alerts: await node.alerts(opts.since), incidents: (await node.incidents?.(opts.since)) ?? [], tlp: opts.tlp,
      }));
      out(`${JSON.stringify(bundle, null, 2)}\n`);
    }));

  configure(intelCmd.command('push'))
    .description('Send the node\'s alerts as STIX 2.1 to a collection on a TAXII 2.1 server')
    .requiredOption('--url <url>', 'the TAXII server\'s discovery or API root URL', remoteUrl)
    .requiredOption('--collection <id>', 'the collection id on that server')
    .option('--token <token>', 'bearer token (prefer the EVGUARD_TAXII_TOKEN environment variable)')
    .option('--since <time>', 'only alerts raised at or after this ISO-8601 time', isoTime('--since'))
    .option('--every <duration>', 'repeat on a schedule (30s, 15m, 6h, 1d) until interrupted', parseDuration)
    .option('--data-dir <dir>', 'the node\'s data directory')
    .option('--config <file>', 'the node\'s JSON config file, as given to evguard serve (pseudonym key, TLP)')
    .action(run(async (opts: { url: string; collection: string; token?: string; since?: string; every?: number; dataDir?: string; config?: string }) => {
      const client = createTaxiiClient({ url: opts.url, token: token(opts.token) });
      await withNode(opts, (node) => repeat(opts.every, node.intel, async () => {
        const bundle = await node.intel.share({ since: opts.since, alerts: await node.alerts(opts.since), incidents: (await node.incidents?.(opts.since)) ?? [] });
        const result = await client.push(opts.collection, bundle.objects);
        out(`${JSON.stringify({ pushed: bundle.objects.length, ...result })}\n`);
      }));
    }));

  configure(intelCmd.command('pull'))
    .description('Fetch STIX 2.1 from a TAXII 2.1 collection and enforce its indicators')
    .requiredOption('--url <url>', 'the TAXII server\'s discovery or API root URL', remoteUrl)
    .requiredOption('--collection <id>', 'the collection id on that server')
    .option('--token <token>', 'bearer token (prefer the EVGUARD_TAXII_TOKEN environment variable)')
    .option('--added-after <time>', 'start from this ISO-8601 time instead of where the last pull stopped', isoTime('--added-after'))
    .option('--every <duration>', 'repeat on a schedule (30s, 15m, 6h, 1d) until interrupted', parseDuration)
    .option('--data-dir <dir>', 'the node\'s data directory')
    .option('--config <file>', 'the node\'s JSON config file, as given to evguard serve (pseudonym key, TLP)')
    .action(run(async (opts: { url: string; collection: string; token?: string; addedAfter?: string; every?: number; dataDir?: string; config?: string }) => {
      const client = createTaxiiClient({ url: opts.url, token: token(opts.token) });
      let addedAfter = opts.addedAfter;
      await withNode(opts, (node) => repeat(opts.every, node.intel, async () => {
        // --added-after sets the first run's start; later runs continue where the previous one stopped.
        const result = await node.intel.pullFrom(client, opts.collection, { addedAfter });
        addedAfter = undefined;
        out(`${JSON.stringify({ accepted: result.accepted, rejected: result.rejected.length, enforced: result.enforced, notEnforced: result.notEnforced.length, lastAdded: result.lastAdded })}\n`);
      }));
    }));

  return intelCmd;
}
