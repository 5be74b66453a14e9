/**
 * `evguard pki …`: operator commands over the same trust module the server
 * runs. Each command opens the data dir (or PostgreSQL), acts, and closes.
 * Bad input exits 2 with a message that says how to fix it; runtime
 * failures exit 1.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { createLocalBus } from '../bus/index.js';
import { EvguardError } from '../errors.js';
import { migrate, openDatabase } from '../store/index.js';
import { createTrust, type Trust } from './index.js';
import { normalizeSerial } from './profiles.js';
import { loadNodeConfig } from '../node-identity.js';

export interface PkiCommandOptions {
  env?: NodeJS.ProcessEnv;
  out?: (text: string) => void;
  err?: (text: string) => void;
  /** Called instead of process.exit, for embedding and tests. */
  exit?: (code: number) => void;
}

interface CommonFlags { dataDir?: string; databaseUrl?: string; organization?: string }

export function createPkiCommand(options: PkiCommandOptions = {}): Command {
  const env = options.env ?? process.env;
  const out = options.out ?? ((t) => process.stdout.write(t));
  const err = options.err ?? ((t) => process.stderr.write(t));
  const exit = options.exit ?? ((code) => process.exit(code));

  const common = (cmd: Command) => cmd
    .addOption(new Option('--data-dir <dir>', 'evguard data directory (default EVGUARD_DATA_DIR or ./.evguard)'))
    .addOption(new Option('--database-url <url>', 'postgres:// URL instead of the embedded SQLite database (default: the node\'s, from its data dir)'))
    .addOption(new Option('--organization <name>', 'organisation station certificates carry (default: the node\'s, from its data dir)'))
    .configureOutput({ writeOut: out, writeErr: err })
    .exitOverride();

  async function withTrust(flags: CommonFlags, action: (trust: Trust) => Promise<void>): Promise<void> {
    let database;
    try {
      // The node's own identity from its data dir; flags that contradict it are refused.
      const given = Object.fromEntries(Object.entries({ dataDir: flags.dataDir, databaseUrl: flags.databaseUrl, organization: flags.organization }).filter(([, v]) => v !== undefined));
      const config = loadNodeConfig(given, env, undefined, { record: false });
      database = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
      // The node's whole schema: the data dir may be a running node's (and the migrator refuses a partial set).
      const { nodeMigrations } = await import('../app.js');
      await migrate(database, nodeMigrations());
      const log = { info() {}, warn: (_o: unknown, msg: string) => err(`warning: ${msg}\n`) };
      const trust = await createTrust({ db: database, bus: createLocalBus(), log }, {
        dataDir: config.dataDir, organization: config.organization, hostnames: [], keyPassphrase: config.keyPassphrase,
      });
      await action(trust);
    } catch (e) {
      const coded = e instanceof EvguardError;
      err(`evguard pki: ${(e as Error).message}\n`);
      exit(coded && e.status < 500 ? 2 : 1);
    } finally {
      await database?.close();
    }
  }

  const readInput = (file: string, what: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      throw new EvguardError('BAD_REQUEST', `cannot read the ${what} file ${file}: ${(e as Error).message}`);
    }
  };

  // Options belong to the subcommand they follow, so `pki list --data-dir x` reaches `list`.
  const pki = new Command('pki').description('Certificate authorities, certificates and revocation')
    .enablePositionalOptions()
    .configureOutput({ writeOut: out, writeErr: err })
    .exitOverride();

  common(pki.command('list').description('List every CA with its purpose, expiry and whether its key is online'))
    .option('--json', 'print JSON')
    .action(async (flags: CommonFlags & { json?: boolean }) => withTrust(flags, async (trust) => {
      const cas = trust.listCas();
      if (flags.json) return out(`${JSON.stringify(cas, null, 2)}\n`);
      for (const ca of cas) out(`${ca.name.padEnd(14)} ${ca.pem ? (ca.offline ? 'offline' : 'online ') : 'missing'} ${ca.notAfter.slice(0, 10).padEnd(10)} ${ca.purpose}\n`);
    }));

  common(pki.command('export-csr').description('Write a CSR for a CA whose parent signs offline; import the signed certificate afterwards').argument('<ca>', 'CA name, e.g. station-ca'))
    .option('-o, --out <file>', 'write the CSR here instead of stdout')
    .action(async (ca: string, flags: CommonFlags & { out?: string }) => withTrust(flags, async (trust) => {
      const csr = await trust.exportCaCsr(ca);
      if (flags.out) writeFileSync(flags.out, csr);
      else out(csr);
    }));

  common(pki.command('import').description('Import a CA certificate (and optionally its key) instead of the generated one').argument('<ca>', 'CA name, e.g. v2g-root'))
    .requiredOption('--cert <file>', 'PEM certificate')
    .option('--key <file>', 'PEM private key; without it the CA is offline unless it matches an exported CSR')
    .action(async (ca: string, flags: CommonFlags & { cert: string; key?: string }) => withTrust(flags, async (trust) => {
      const certPem = readInput(flags.cert, 'certificate');
      const keyPem = flags.key ? readInput(flags.key, 'key') : undefined;
      const result = await trust.importCa(ca, { certPem, keyPem, keyPassphrase: env.EVGUARD_IMPORT_KEY_PASSPHRASE });
      out(`imported ${result.name} (${result.subject}), key ${result.offline ? 'offline' : 'online'}\n`);
    }));

  common(pki.command('revoke').description('Revoke a certificate by serial number (hex)').argument('<serial>', 'serial number in hex as evguard lists it (colons and upper case are accepted)'))
    .option('--reason <reason>', 'RFC 5280 reason, e.g. keyCompromise', 'unspecified')
    .action(async (serial: string, flags: CommonFlags & { reason: string }) => withTrust(flags, async (trust) => {
      const r = await trust.revoke(serial, flags.reason);
      // The serial as evguard writes it everywhere (lower-case hex, no colons), whatever spelling was typed.
      out(`revoked ${normalizeSerial(serial)}${r.stationId ? ` (station ${r.stationId})` : ''}\n`);
    }));

  return pki;
}

/**
 * Runs the command with commander's usage errors mapped to exit 2 (commander
 * itself uses 1) and --help to 0.
 */
export async function runPkiCommand(argv: string[], options: PkiCommandOptions = {}): Promise<number> {
  let code = 0;
  const cmd = createPkiCommand({ ...options, exit: (c) => { code = c; } });
  try {
    await cmd.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version' ? 0 : 2;
    throw e;
  }
  return code;
}
