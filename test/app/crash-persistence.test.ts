/**
 * A node killed with SIGKILL in the middle of charging sessions loses nothing
 * it had acknowledged: the real CLI runs as a child process and is killed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer } from 'node:net';
import { connectRaw } from '../support/raw-client.js';
import { createPgDatabase, testDatabases } from '../support/node.js';

const TOKEN = 'crash-test-admin-token-0123456789';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function startNode(port: number, dataDir: string, databaseUrl?: string): Promise<ChildProcess> {
  const args = ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--host', '127.0.0.1', '--port', String(port), '--tls-port', '0', '--data-dir', dataDir, '--log-level', 'warn'];
  if (databaseUrl) args.push('--database-url', databaseUrl);
  const child = spawn(process.execPath, args, { env: { ...process.env, EVGUARD_ADMIN_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  // Generous: a loaded CI machine can take tens of seconds to load and start a node.
  for (let i = 0; i < 600; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) return child;
    } catch {
      // not up yet
    }
    if (child.exitCode !== null) throw new Error(`node exited: ${err}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`node did not start: ${err}`);
}

const api = async (port: number, method: string, p: string, body?: unknown) => {
  const r = await fetch(`http://127.0.0.1:${port}${p}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, body: (await r.json().catch(() => undefined)) as any };
};

for (const db of testDatabases()) {
  test(`SIGKILL mid-session loses nothing acknowledged (${db})`, async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'evguard-crash-'));
    const pgdb = db === 'postgres' ? await createPgDatabase() : undefined;
    const port = await freePort();
    let child = await startNode(port, dataDir, pgdb?.url);
    try {
      await api(port, 'POST', '/api/v1/stations', { id: 'CRASH1', securityProfile: 1, password: 'crash-password-00001' });
      await api(port, 'PUT', '/api/v1/id-tokens/CRASHTOKEN', { status: 'Accepted' });
      const c = await connectRaw(`ws://127.0.0.1:${port}/ocpp/CRASH1`, { protocol: 'ocpp2.0.1', user: 'CRASH1', password: 'crash-password-00001' });
      await c.call('BootNotification', { reason: 'PowerUp', chargingStation: { vendorName: 'Acme', model: 'K1' } });
      const acknowledged: number[] = [];
      for (let seq = 0; seq < 25; seq++) {
        const r = await c.call('TransactionEvent', {
          eventType: seq === 0 ? 'Started' : 'Updated',
          timestamp: new Date(Date.UTC(2026, 10, 23, 12, seq)).toISOString(),
          triggerReason: seq === 0 ? 'Authorized' : 'MeterValuePeriodic',
          seqNo: seq,
          transactionInfo: { transactionId: 'crash-tx' },
          ...(seq === 0 ? { idToken: { idToken: 'CRASHTOKEN', type: 'ISO14443' } } : {}),
          meterValue: [{ timestamp: new Date(Date.UTC(2026, 10, 23, 12, seq)).toISOString(), sampledValue: [{ value: 1000 + seq * 100 }] }],
        });
        if (r[0] === 3) acknowledged.push(seq);
      }
      // Fire more without waiting, then kill the node hard mid-stream.
      for (let seq = 25; seq < 40; seq++) {
        c.ws.send(JSON.stringify([2, `late${seq}`, 'TransactionEvent', { eventType: 'Updated', timestamp: new Date().toISOString(), triggerReason: 'MeterValuePeriodic', seqNo: seq, transactionInfo: { transactionId: 'crash-tx' } }]));
      }
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      child = await startNode(port, dataDir, pgdb?.url);
      const tx = (await api(port, 'GET', '/api/v1/transactions/CRASH1:crash-tx')).body;
      assert.equal(acknowledged.length, 25);
      assert.ok(tx.events >= 25, `all ${acknowledged.length} acknowledged events survive (found ${tx.events})`);
      assert.equal(tx.energyStartWh, 1000);
      assert.equal((await api(port, 'GET', '/api/v1/stations/CRASH1')).body.firmwareVersion ?? null, null);
    } finally {
      child.kill('SIGKILL');
      await pgdb?.drop().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

/** Prometheus counter value from an exposition, 0 when absent. */
const counter = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);

for (const db of testDatabases()) {
  test(`SIGKILL while 30 stations write at once loses nothing acknowledged (${db}; SQLite groups the writes of a turn into one commit)`, async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'evguard-crash-group-'));
    const pgdb = db === 'postgres' ? await createPgDatabase() : undefined;
    const port = await freePort();
    let child = await startNode(port, dataDir, pgdb?.url);
    const ids = Array.from({ length: 30 }, (_, i) => `GROUP${String(i).padStart(2, '0')}`);
    // Per station: the meter values (Wh) and transaction seqNos the node acknowledged.
    const ackedMeters = new Map<string, number[]>(ids.map((id) => [id, []]));
    const ackedEvents = new Map<string, number[]>(ids.map((id) => [id, []]));
    let stop = false;
    try {
      await api(port, 'PUT', '/api/v1/id-tokens/GROUPTOKEN', { status: 'Accepted' });
      const clients = await Promise.all(
        ids.map(async (id) => {
          assert.equal((await api(port, 'POST', '/api/v1/stations', { id, securityProfile: 1, password: `group-password-${id}` })).status, 201);
          const c = await connectRaw(`ws://127.0.0.1:${port}/ocpp/${id}`, { protocol: 'ocpp2.0.1', user: id, password: `group-password-${id}` });
          await c.call('BootNotification', { reason: 'PowerUp', chargingStation: { vendorName: 'Acme', model: 'K1' } });
          return { id, c };
        }),
      );
      // Each station alternates a MeterValues (a plain write) and a TransactionEvent (a database
      // transaction), about 20 a second, all stations in step so their writes meet in one turn.
      const loops = clients.map(async ({ id, c }) => {
        for (let n = 0; !stop; n++) {
          const at = new Date(Date.UTC(2026, 10, 23, 12, 0, n)).toISOString();
          const wh = 10_000 + n;
          const seq = n >> 1;
          const answer =
            n % 2 === 0
              ? await c.call('MeterValues', { evseId: 1, meterValue: [{ timestamp: at, sampledValue: [{ value: wh }] }] })
              : await c.call('TransactionEvent', {
                  eventType: seq === 0 ? 'Started' : 'Updated',
                  timestamp: at,
                  triggerReason: seq === 0 ? 'Authorized' : 'MeterValuePeriodic',
                  seqNo: seq,
                  transactionInfo: { transactionId: `${id}-tx` },
                  ...(seq === 0 ? { idToken: { idToken: 'GROUPTOKEN', type: 'ISO14443' } } : {}),
                });
          if (answer[0] !== 3) continue;
          if (n % 2 === 0) ackedMeters.get(id)!.push(wh);
          else ackedEvents.get(id)!.push(seq);
          await new Promise((r) => setTimeout(r, 50));
        }
      }).map((p) => p.catch(() => undefined));
      await new Promise((r) => setTimeout(r, 2500));
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      // Killed with answers in flight: whatever was not answered yet may or may not be stored.
      child.kill('SIGKILL');
      stop = true;
      await new Promise((r) => child.once('exit', r));
      await Promise.all(loops);
      if (db === 'sqlite') {
        const commits = counter(metrics, 'evguard_db_commits_total');
        const writes = counter(metrics, 'evguard_db_writes_total');
        assert.ok(commits > 0 && writes > commits * 1.5, `writes are grouped: ${writes} writes in ${commits} commits`);
      }
      child = await startNode(port, dataDir, pgdb?.url);
      for (const id of ids) {
        const meters = new Set(
          ((await api(port, 'GET', `/api/v1/stations/${id}/reports?kind=MeterValues`)).body as any[]).map((r) => r.payload.samples?.[0]?.value ?? r.payload.samples?.[0]?.sampledValue?.[0]?.value),
        );
        const lostMeters = ackedMeters.get(id)!.filter((wh) => !meters.has(wh));
        assert.deepEqual(lostMeters, [], `${id}: acknowledged meter values lost (${ackedMeters.get(id)!.length} acknowledged)`);
        const acked = ackedEvents.get(id)!;
        if (acked.length === 0) continue;
        const tx = (await api(port, 'GET', `/api/v1/transactions/${id}:${id}-tx`)).body;
        assert.ok(tx.events >= acked.length, `${id}: ${acked.length} acknowledged transaction events, ${tx.events} stored`);
      }
      assert.ok([...ackedMeters.values()].every((a) => a.length >= 5), 'every station had several writes acknowledged before the kill');
    } finally {
      stop = true;
      child.kill('SIGKILL');
      await pgdb?.drop().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}
