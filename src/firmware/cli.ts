/**
 * `evguard firmware …`: the firmware repository and campaigns over the REST
 * API of a running node (campaigns run inside the node). Bad input and 4xx
 * answers exit 2 with the server's message; network and 5xx failures exit 1.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { apiClient } from '../api/client.js';
import { exitCodeFor, usageError } from '../cli-kit.js';

export interface FirmwareCommandOptions {
  env?: NodeJS.ProcessEnv;
  out?: (text: string) => void;
  err?: (text: string) => void;
  exit?: (code: number) => void;
}

interface Conn { api: string; token?: string; json?: boolean }

const percent = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new InvalidArgumentError('must be a number from 0 to 100.');
  return n;
};
const positive = (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError('must be a whole number of at least 1.');
  return Number(v);
};

export function firmwareCommand(options: FirmwareCommandOptions = {}): Command {
  const env = options.env ?? process.env;
  const out = options.out ?? ((t) => process.stdout.write(t));
  const err = options.err ?? ((t) => process.stderr.write(t));
  const exit = options.exit ?? ((code) => process.exit(code));

  const conn = (cmd: Command) => cmd
    .addOption(new Option('--api <url>', 'REST base URL of the evguard node (or EVGUARD_API)').default(env.EVGUARD_API ?? env.EVGUARD_URL ?? 'http://localhost:8080'))
    // The earlier spelling, kept so existing scripts work.
    .addOption(new Option('--url <url>').hideHelp())
    .hook('preAction', (_parent, action) => {
      const o = action.opts();
      if (o.url !== undefined) action.setOptionValue('api', o.url);
    })
    .addOption(new Option('--token <token>', 'API bearer token (or EVGUARD_TOKEN)').default(env.EVGUARD_TOKEN ?? env.EVGUARD_ADMIN_TOKEN))
    .option('--json', 'print JSON')
    .configureOutput({ writeOut: out, writeErr: err });

  function request(c: Conn, method: string, path: string, body?: unknown, opts?: { raw?: Uint8Array; headers?: Record<string, string> }): Promise<any> {
    if (!c.token) throw usageError('no API token: pass --token or set EVGUARD_TOKEN');
    return apiClient(c.api, c.token).request(method, path, body, opts);
  }

  const run = (fn: (...a: any[]) => Promise<void>) => async (...a: any[]) => {
    try {
      await fn(...a);
    } catch (e) {
      err(`evguard firmware: ${(e as Error).message}\n`);
      exit(exitCodeFor(e));
    }
  };
  const readFile = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw usageError(`cannot read the ${what} file ${file}: ${(e as Error).message}`);
    }
  };
  const printCampaign = (c: Conn, campaign: any) => {
    if (c.json) return out(`${JSON.stringify(campaign, null, 2)}\n`);
    out(`campaign ${campaign.id}  ${campaign.state}${campaign.haltReason ? ` (${campaign.haltReason})` : ''}  wave ${campaign.currentWave}  ${Object.entries(campaign.counts).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
    for (const s of campaign.stations ?? []) out(`  ${s.stationId.padEnd(24)} wave ${String(s.wave).padStart(2)} ${s.state.padEnd(11)} ${(s.ocppStatus ?? '').padEnd(18)}${s.insecure ? ' INSECURE' : ''} ${s.detail ?? ''}\n`);
  };

  const firmware = new Command('firmware').description('Signed firmware images and staged update campaigns').enablePositionalOptions().configureOutput({ writeOut: out, writeErr: err });

  conn(firmware.command('upload').description('Upload an image; evguard signs it unless you import the vendor signature').argument('<file>', 'firmware image'))
    .requiredOption('--vendor <vendor>', 'vendor name, as stations report it in BootNotification')
    .requiredOption('--model <models>', 'model(s) the image is for, comma-separated')
    .requiredOption('--version <version>', 'firmware version')
    .option('--signature <file>', "vendor's signature (base64 text file)")
    .option('--certificate <file>', "vendor's signing certificate (PEM)")
    .option('--no-sign', 'store unsigned (sign later with the API)')
    .action(run(async (file: string, f: Conn & { vendor: string; model: string; version: string; signature?: string; certificate?: string; sign: boolean }) => {
      const image = readFile(file, 'image');
      const q = new URLSearchParams({ vendor: f.vendor, model: f.model, version: f.version, ...(f.sign ? {} : { sign: 'false' }) });
      const headers: Record<string, string> = {};
      if (f.signature || f.certificate) {
        if (!f.signature || !f.certificate) throw usageError('--signature and --certificate go together');
        headers['x-firmware-signature'] = readFile(f.signature, 'signature').toString('utf8').trim();
        headers['x-firmware-signing-certificate'] = readFile(f.certificate, 'certificate').toString('base64');
      }
      const body = await request(f, 'POST', `/api/v1/firmware?${q}`, undefined, { raw: image, headers });
      out(f.json ? `${JSON.stringify(body, null, 2)}\n` : `${body.id}  ${body.vendor} ${body.version}  sha256 ${body.sha256}  ${body.signed ? `signed (${body.signer})` : 'unsigned'}\n`);
    }));

  conn(firmware.command('list').description('List firmware images')).action(run(async (f: Conn) => {
    const list = await request(f, 'GET', '/api/v1/firmware');
    if (f.json) return out(`${JSON.stringify(list, null, 2)}\n`);
    if (list.length === 0) return out('no images (upload one with: evguard firmware upload <file> --vendor … --model … --version …)\n');
    for (const i of list) out(`${i.id}  ${i.vendor.padEnd(16)} ${i.version.padEnd(12)} ${i.models.join(',').padEnd(20)} ${i.signed ? 'signed' : 'UNSIGNED'}  ${i.sha256}\n`);
  }));

  conn(firmware.command('rotate-root').description('Root rotation: new TUF keys, the new root signed by the old one (admin)'))
    .requiredOption('--repository <name>', '"director" or "image/<vendor>"')
    .option('--roles <roles>', 'roles that get new keys, comma-separated (root,targets,snapshot,timestamp)', 'root,targets,snapshot,timestamp')
    .action(run(async (f: Conn & { repository: string; roles: string }) => {
      const roles = f.roles.split(',').map((r) => r.trim()).filter(Boolean);
      const bad = roles.filter((r) => !['root', 'targets', 'snapshot', 'timestamp'].includes(r));
      if (bad.length || roles.length === 0) throw usageError(`--roles takes root, targets, snapshot, timestamp; not ${bad.join(', ') || 'nothing'}`);
      const r = await request(f, 'POST', '/api/v1/firmware/tuf-roots/rotate', { repository: f.repository, roles });
      out(f.json ? `${JSON.stringify(r, null, 2)}\n` : `${r.repository}: root version ${r.version}\n${Object.entries(r.keyids).map(([role, ids]) => `  ${role.padEnd(10)} ${(ids as string[]).join(',')}\n`).join('')}`);
    }));

  const campaign = firmware.command('campaign').description('Create and steer rollout campaigns').enablePositionalOptions();
  conn(campaign.command('create').description('Start a campaign: a random canary first, then waves'))
    .requiredOption('--firmware <id>', 'firmware image id')
    .option('--stations <ids>', 'station ids, comma-separated')
    .option('--vendor <vendor>', 'target stations of this vendor')
    .option('--model <model>', 'target stations of this model')
    .option('--current-version <version>', 'target stations running this version')
    .option('--tag <tag>', 'target stations with this tag')
    .option('--canary <percent>', 'canary share of the stations', percent)
    .option('--wave-size <n>', 'stations per wave after the canary', positive)
    .option('--threshold <percent>', 'halt when failures exceed this share of dispatched stations', percent)
    .option('--window-start <iso>', 'maintenance window start (ISO-8601)')
    .option('--window-end <iso>', 'maintenance window end (ISO-8601); install times are spread within it')
    .option('--allow-insecure', 'allow plain 1.6 UpdateFirmware for stations without the security extension')
    .option('--paused', 'create paused')
    .option('--force-reason <text>', 'admin only: allow a downgrade, with this reason for the audit log')
    .action(run(async (f: Conn & Record<string, any>) => {
      const filter = Object.fromEntries(Object.entries({ vendor: f.vendor, model: f.model, version: f.currentVersion, tag: f.tag }).filter(([, v]) => v !== undefined));
      if (!f.stations && Object.keys(filter).length === 0) throw usageError('say which stations: --stations a,b or --vendor/--model/--current-version/--tag');
      if (!!f.windowStart !== !!f.windowEnd) throw usageError('--window-start and --window-end go together');
      const body = {
        firmwareId: f.firmware,
        ...(f.stations ? { stationIds: String(f.stations).split(',').map((s) => s.trim()).filter(Boolean) } : { filter }),
        ...(f.canary !== undefined ? { canaryPercent: f.canary } : {}),
        ...(f.waveSize !== undefined ? { waveSize: f.waveSize } : {}),
        ...(f.threshold !== undefined ? { failureThresholdPercent: f.threshold } : {}),
        ...(f.windowStart ? { window: { start: f.windowStart, end: f.windowEnd } } : {}),
        ...(f.allowInsecure ? { allowInsecure: true } : {}),
        ...(f.paused ? { paused: true } : {}),
        ...(f.forceReason ? { force: { reason: f.forceReason } } : {}),
      };
      printCampaign(f, await request(f, 'POST', '/api/v1/campaigns', body));
    }));
  conn(campaign.command('list').description('List campaigns')).action(run(async (f: Conn) => {
    const list = await request(f, 'GET', '/api/v1/campaigns');
    if (f.json) return out(`${JSON.stringify(list, null, 2)}\n`);
    if (list.length === 0) return out('no campaigns\n');
    for (const c of list) printCampaign({ ...f, json: false }, c);
  }));
  conn(campaign.command('show').description('Per-station progress of a campaign').argument('<id>'))
    .option('--watch', 'refresh every 2 s until the campaign stops running')
    .action(run(async (id: string, f: Conn & { watch?: boolean }) => {
      for (;;) {
        const c = await request(f, 'GET', `/api/v1/campaigns/${encodeURIComponent(id)}`);
        printCampaign(f, c);
        if (!f.watch || c.state !== 'running') return;
        await new Promise((r) => setTimeout(r, 2000));
      }
    }));
  const describeAction = { pause: 'Pause a running campaign', resume: 'Continue a paused or halted campaign (a halted one accepts the failures so far)', abort: 'Abort a campaign' };
  for (const action of ['pause', 'resume', 'abort'] as const) {
    conn(campaign.command(action).description(describeAction[action]).argument('<id>'))
      .action(run(async (id: string, f: Conn) => {
        const c = await request(f, 'POST', `/api/v1/campaigns/${encodeURIComponent(id)}/${action}`);
        printCampaign(f, c);
        // A resume that did not get the campaign going is a failure the operator must see.
        if (action === 'resume' && c.state !== 'running' && c.state !== 'completed') {
          throw new Error(`campaign ${c.id} is ${c.state} after resume${c.haltReason ? `: ${c.haltReason}` : ''}`);
        }
      }));
  }
  return firmware;
}
