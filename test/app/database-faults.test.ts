/**
 * Database faults under load, against a real node process: PostgreSQL
 * terminating the node's connections while queries are in flight, and a
 * database that is gone for a while. The node must stay up, answer what it
 * could not store with the protocol's InternalError (never acknowledge it),
 * answer the API with 503, say so on /readyz, and heal by itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createPgDatabase, eventually, PG_URL, testDatabases } from '../support/node.js';
import { startNodeProcess, type NodeProcess } from '../cluster/processes.js';
import { connectRaw, boot, type RawClient } from '../support/raw-client.js';
import { smallDisk } from '../support/disk.js';

const ADMIN = 'faults-admin-token-0123456789abcdef';
const PASSWORD = 'faults-password-0123456789ab';
const skip = !testDatabases().includes('postgres') && 'PostgreSQL excluded by EVGUARD_TEST_DBS';

async function adminQuery(text: string, params: unknown[] = []) {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    return await admin.query(text, params);
  } finally {
    await admin.end();
  }
}

async function startPgNode(t: { after(fn: () => unknown): void }) {
  const db = await createPgDatabase();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'evguard-faults-'));
  const node = await startNodeProcess({ nodeId: 'faults', cluster: 'faults', dataDir, databaseUrl: db.url, adminToken: ADMIN });
  t.after(async () => {
    node.kill('SIGKILL');
    await node.exited;
    await adminQuery(`ALTER DATABASE ${new URL(db.url).pathname.slice(1)} ALLOW_CONNECTIONS true`).catch(() => undefined);
    await db.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { node, database: new URL(db.url).pathname.slice(1) };
}

async function stationsOn(node: NodeProcess, ids: string[]): Promise<RawClient[]> {
  const clients: RawClient[] = [];
  for (const id of ids) {
    assert.equal((await node.api('POST', '/api/v1/stations', { id, securityProfile: 1, password: PASSWORD })).status, 201);
    const c = await connectRaw(`ws://127.0.0.1:${node.port}/ocpp/${id}`, { protocol: 'ocpp1.6', user: id, password: PASSWORD });
    const [, , res] = await c.call('BootNotification', boot['1.6']);
    assert.equal(res.status, 'Accepted');
    clients.push(c);
  }
  return clients;
}

const status = (n: number) => ({ connectorId: 1 + (n % 2), errorCode: 'NoError', status: n % 3 ? 'Available' : 'Preparing', timestamp: new Date().toISOString() });

test('PostgreSQL terminating checked-out connections during load: the node stays up and every CALL is answered', { skip }, async (t) => {
  const { node, database } = await startPgNode(t);
  const clients = await stationsOn(node, ['PGF-1', 'PGF-2', 'PGF-3', 'PGF-4']);
  const answers = { result: 0, internalError: 0, other: [] as string[] };
  let stop = false;
  const load = clients.map(async (c, i) => {
    for (let n = 0; !stop; n++) {
      const [type, , code] = await c.call('StatusNotification', status(n + i));
      if (type === 3) answers.result++;
      else if (code === 'InternalError') answers.internalError++;
      else answers.other.push(String(code));
      await new Promise((r) => setTimeout(r, 40));
    }
  });
  let killed = 0;
  for (let round = 0; round < 12; round++) {
    await new Promise((r) => setTimeout(r, 150));
    killed += (await adminQuery('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database])).rowCount ?? 0;
  }
  stop = true;
  await Promise.all(load);
  assert.ok(killed > 0, 'the node had connections to terminate');
  assert.deepEqual(answers.other, [], 'every CALL got a result or InternalError');
  assert.ok(answers.result > 0);
  const alive = await Promise.race([node.exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 300))]);
  assert.ok(alive, 'the node process is still running');
  await eventually('/readyz ready again', async () => (await fetch(`http://127.0.0.1:${node.port}/readyz`)).status === 200);
  const [type] = await clients[0]!.call('StatusNotification', status(1));
  assert.equal(type, 3);
  for (const c of clients) await c.close();
});

test('a database that is gone: InternalError to stations, 503 from the API and /readyz, and healing when it returns', { skip }, async (t) => {
  const { node, database } = await startPgNode(t);
  const [station] = await stationsOn(node, ['PGF-OUT']);
  await adminQuery(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
  await adminQuery('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);

  const ready = await fetch(`http://127.0.0.1:${node.port}/readyz`);
  assert.equal(ready.status, 503);
  assert.equal(((await ready.json()) as any).error.code, 'DATABASE_UNAVAILABLE');
  const api = await node.api('GET', '/api/v1/stations');
  assert.equal(api.status, 503, JSON.stringify(api.body));
  assert.equal(api.body.error.code, 'DATABASE_UNAVAILABLE');
  const [type, , code] = await station!.call('StatusNotification', status(3));
  assert.deepEqual([type, code], [4, 'InternalError'], 'what could not be stored is not acknowledged');
  assert.equal((await fetch(`http://127.0.0.1:${node.port}/healthz`)).status, 200, 'the process itself is live');

  await adminQuery(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
  await eventually('/readyz ready again', async () => (await fetch(`http://127.0.0.1:${node.port}/readyz`)).status === 200);
  assert.equal((await node.api('GET', '/api/v1/stations')).status, 200);
  const [after] = await station!.call('StatusNotification', status(4));
  assert.equal(after, 3);
  await station!.close();
});

test('SQLite on a full disk: InternalError to stations, 503 from the API and /readyz, and healing when space returns', async (t) => {
  const disk = smallDisk();
  if (!disk) return t.skip('cannot mount a tmpfs here (needs root)');
  const node = await startNodeProcess({ nodeId: 'disk', cluster: 'disk', dataDir: path.join(disk.dir, 'data'), adminToken: ADMIN });
  t.after(async () => {
    node.kill('SIGKILL');
    await node.exited;
    disk.release();
  });
  const [station] = await stationsOn(node, ['DISK-1']);
  // Fill what is left, then keep the node writing until the disk refuses. Writes that only rewrite
  // rows fit in the WAL the checkpoint worker keeps emptying; stored reports need new pages. Then
  // smaller and smaller reports take what room the WAL file still has, so no write fits any more.
  disk.fill();
  let refused = 0;
  let sent = 0;
  for (const size of [200_000, 50_000, 12_000, 3_000, 500]) {
    for (let stored = true; stored && sent < 150; sent++) {
      const [type, , code] = await station!.call('DataTransfer', { vendorId: 'evguard.test', messageId: `fill-${sent}`, data: 'x'.repeat(size) });
      stored = type === 3;
      if (!stored) {
        assert.equal(code, 'InternalError', 'a write on a full disk is refused, not acknowledged');
        refused++;
      }
    }
  }
  // Last, writes of one page each (a connector's status), until even those find no room: then no commit fits.
  for (let stored = true, i = 0; stored && i < 100; i++) {
    const [type, , code] = await station!.call('StatusNotification', status(i));
    stored = type === 3;
    if (!stored) {
      assert.equal(code, 'InternalError', 'a write on a full disk is refused, not acknowledged');
      refused++;
    }
  }
  assert.equal(refused, 6, `every size of write was refused in the end (${sent} reports sent)`);
  // The next WAL checkpoint (each second) finds no room in the file either.
  await eventually('/readyz not ready', async () => (await fetch(`http://127.0.0.1:${node.port}/readyz`)).status === 503);
  const api = await node.api('POST', '/api/v1/stations', { id: 'DISK-2', securityProfile: 1, password: PASSWORD });
  assert.equal(api.status, 503, JSON.stringify(api.body));
  assert.equal(api.body.error.code, 'DATABASE_UNAVAILABLE');
  assert.equal((await fetch(`http://127.0.0.1:${node.port}/healthz`)).status, 200);

  disk.free();
  await eventually('/readyz ready again', async () => (await fetch(`http://127.0.0.1:${node.port}/readyz`)).status === 200);
  assert.equal((await node.api('POST', '/api/v1/stations', { id: 'DISK-2', securityProfile: 1, password: PASSWORD })).status, 201);
  const [after] = await station!.call('StatusNotification', status(1));
  assert.equal(after, 3);
  await station!.close();
});
