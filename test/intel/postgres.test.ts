/** The intel tables and TAXII queries on PostgreSQL, in a fresh database per run; skipped when no server answers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import Fastify from 'fastify';
import { addSharedSchemas } from '../../src/api/schemas.js';
import { createLocalBus } from '../../src/bus/index.js';
import { migrate, openDatabase } from '../../src/store/index.js';
import { createIntel, createTaxiiClient, intelMigrations, TAXII_MEDIA_TYPE } from '../../src/intel/index.js';
import { baseConfig, FIRMWARE, sampleAlerts } from './fixtures.js';

const ADMIN = 'postgres://postgres@127.0.0.1:5432/test';

async function reachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: ADMIN, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

test('intel on PostgreSQL', { skip: !(await reachable()) && 'PostgreSQL not reachable on 127.0.0.1:5432' }, async () => {
  const name = `evg_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const database = await openDatabase({ dataDir: '/nonexistent', databaseUrl: `postgres://postgres@127.0.0.1:5432/${name}` });
  const bus = createLocalBus();
  const app = Fastify();
  addSharedSchemas(app);
  try {
    await migrate(database, intelMigrations);
    const intel = await createIntel({ db: database, bus }, { ...baseConfig, maxPageSize: 4 });
    await intel.share({ alerts: sampleAlerts() });
    await intel.share({ alerts: sampleAlerts() });
    await intel.taxiiRoutes(app, { authenticate: () => ({ principal: 'pg', role: 'admin' }) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/taxii2/`;

    // Paging through everything with next gives each object once.
    const client = createTaxiiClient({ url: base, token: 'x' });
    const { objects } = await client.pull('shared');
    // The bundle's objects, plus the extension definition of the station observable and its author.
    assert.equal(objects.length, intel.exportBundle({ alerts: sampleAlerts() }).objects.length + 2);
    assert.equal(new Set(objects.map((o) => o.id)).size, objects.length);

    // A newer version, then first/last selection.
    const indicator = objects.find((o) => o.type === 'indicator')!;
    await client.push('shared', [{ ...indicator, modified: '2030-01-01T00:00:00.000Z' }]);
    const get = async (q: string) => (await fetch(`${base}evguard/collections/shared/objects/${indicator.id}/${q}`, { headers: { accept: TAXII_MEDIA_TYPE, authorization: 'Bearer x' } })).json() as Promise<any>;
    assert.equal((await get('')).objects[0].modified, '2030-01-01T00:00:00.000Z');
    assert.equal((await get('?match[version]=first')).objects[0].modified, indicator.modified);
    assert.deepEqual((await get('versions/')).versions, [indicator.modified, '2030-01-01T00:00:00.000Z']);

    // Imported indicators survive a restart.
    const result = await intel.importObjects(objects);
    assert.ok(result.enforced >= 4);
    const restarted = await createIntel({ db: database, bus }, baseConfig);
    assert.equal(restarted.match({ firmwareSha256: FIRMWARE })?.kind, 'firmware-sha256');
  } finally {
    await app.close();
    await database.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
});
