/**
 * Part of the root program: opens a node's data directory for `evguard intel …`
 * without starting the node (so it wires modules, which only the root does): its database (SQLite in the data dir, or EVGUARD_DATABASE_URL), its
 * alerts through the monitor's API, and intel with the node's own config and
 * pseudonym key, so an export from the CLI is the bundle the node would share.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadNodeConfig } from '../node-identity.js';
import { createLocalBus } from '../bus/index.js';
import { openDatabase, type Database } from '../store/index.js';
import { createMonitor, monitorTablesExist } from '../monitor/index.js';
import { intelErrors } from '../intel/errors.js';
import { createIntel, intelTablesExist } from '../intel/index.js';
import type { OpenIntelNode } from '../intel/cli.js';
import { intelConfigFor, shareableAlert } from '../intel/node.js';

/** The monitor lists at most this many alerts, newest first. */
const MAX_ALERTS = 1000;

export const openIntelNode: OpenIntelNode = async ({ dataDir, configFile }) => {
  // The node's own configuration (flags > EVGUARD_* > config file > the data dir's identity), so organization, pseudonyms and TLP are the node's.
  const config = loadNodeConfig(dataDir ? { dataDir } : {}, process.env, configFile, { record: false });
  if (!existsSync(config.dataDir) || !statSync(config.dataDir).isDirectory()) {
    throw intelErrors.INTEL_INVALID_INPUT(`no evguard data directory at ${config.dataDir}; pass --data-dir <dir> of a node (or set EVGUARD_DATA_DIR)`);
  }
  // Never leave an empty database behind in a directory that was passed by mistake.
  if (!config.databaseUrl && !existsSync(path.join(config.dataDir, 'evguard.db'))) throw notInitialised(config.dataDir);
  const database = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  try {
    await requireInitialised(database, config.dataDir);
    const bus = createLocalBus();
    const refuse = async () => {
      throw new Error('automatic responses are not run from the command line');
    };
    const monitor = await createMonitor(
      { db: database, bus, actions: { lockOut: refuse, quarantine: refuse, setUnavailable: refuse, revokeCertificate: refuse, disconnect: refuse } },
      {},
    );
    const intel = await createIntel({ db: database, bus }, intelConfigFor(config, { createKey: false }));
    return {
      intel,
      async alerts(since) {
        const sinceMs = since === undefined ? undefined : Date.parse(since);
        const alerts = await monitor.listAlerts({ limit: MAX_ALERTS });
        return alerts.filter((a) => sinceMs === undefined || Date.parse(a.createdAt) >= sinceMs).reverse().map(shareableAlert);
      },
      async close() {
        await monitor.close();
        await bus.close();
        await database.close();
      },
    };
  } catch (err) {
    await database.close();
    throw err;
  }
};

/**
 * The schema belongs to the node (`evguard serve` migrates every module at
 * once, and the migrator refuses a partial set), so the CLI only checks that
 * the tables it reads are there.
 */
async function requireInitialised(database: Database, dataDir: string): Promise<void> {
  if (!(await intelTablesExist(database)) || !(await monitorTablesExist(database))) throw notInitialised(dataDir);
}

const notInitialised = (dataDir: string) =>
  intelErrors.INTEL_INVALID_INPUT(`${dataDir} holds no evguard database with threat sharing yet; start the node there once (evguard serve --data-dir ${dataDir}) or pass the right --data-dir`);
