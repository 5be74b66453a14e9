/**
 * Starts a real evguard node for a test: ephemeral ports, a fresh data dir,
 * and SQLite or a fresh PostgreSQL database.
 */
import WebSocket from 'ws';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { loadConfig, type ConfigInput } from '../../src/config.js';
import { startApp, type App } from '../../src/app.js';
import { createScratchDatabase, type ScratchDatabase } from '../../src/store/scratch-database.js';
import { openDatabase, type Database } from '../../src/store/index.js';

export const PG_URL = process.env.EVGUARD_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Every node a test starts fails a reply that its response schema changed (src/api/response-check.ts). */
process.env.EVGUARD_CHECK_RESPONSES ??= '1';

export type TestDb = 'sqlite' | 'postgres';

/** Databases the integration suites run against: both, unless EVGUARD_TEST_DBS narrows it. */
export function testDatabases(): TestDb[] {
  const only = process.env.EVGUARD_TEST_DBS;
  return only ? (only.split(',') as TestDb[]) : ['sqlite', 'postgres'];
}

export interface TestNode {
  app: App;
  dataDir: string;
  http: string;
  ws: string;
  wss: string;
  adminToken: string;
  stop(opts?: { keepData?: boolean }): Promise<void>;
  api<T = any>(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: T }>;
}

/** A scratch database on the test server (EVGUARD_TEST_PG), dropped by `drop()`. */
export const createPgDatabase = () => createScratchDatabase(PG_URL, 'evg');

/** evguard's store on a fresh SQLite file or PostgreSQL database, closed and removed when the test ends. */
export async function openScratchDatabase(dialect: TestDb, t: { after(fn: () => Promise<void>): void }): Promise<Database> {
  const dir = mkdtempSync(path.join(tmpdir(), 'evguard-store-'));
  const pgdb = dialect === 'postgres' ? await createPgDatabase() : undefined;
  const database = await openDatabase({ dataDir: dir, databaseUrl: pgdb?.url });
  t.after(async () => {
    await database.close();
    await pgdb?.drop();
    rmSync(dir, { recursive: true, force: true });
  });
  return database;
}

export async function startTestNode(opts: { db?: TestDb; config?: ConfigInput; dataDir?: string; databaseUrl?: string; log?: Logger } = {}): Promise<TestNode> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'evguard-test-'));
  let pgdb: ScratchDatabase | undefined;
  let databaseUrl = opts.databaseUrl;
  if (!databaseUrl && opts.db === 'postgres') {
    pgdb = await createPgDatabase();
    databaseUrl = pgdb.url;
  }
  const adminToken = 'test-admin-token-0123456789abcdef';
  const config = loadConfig(
    {
      host: '127.0.0.1',
      dataDir,
      databaseUrl,
      adminToken,
      logLevel: 'silent',
      ...opts.config,
      ocpp: { duplicateProbeMs: 500, ...(opts.config?.ocpp ?? {}) },
    },
    {},
  );
  const app = await startApp(config, { ephemeralPorts: true, log: opts.log ?? pino({ level: process.env.EVGUARD_TEST_LOG ?? 'silent' }) });
  const http = `http://127.0.0.1:${app.ports.http}`;
  const node: TestNode = {
    app,
    dataDir,
    http,
    ws: `ws://127.0.0.1:${app.ports.http}/ocpp`,
    wss: `wss://localhost:${app.ports.https}/ocpp`,
    adminToken,
    async stop(o = {}) {
      await app.close();
      if (!o.keepData) {
        await pgdb?.drop();
        if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
      }
    },
    async api(method, p, body, token = adminToken) {
      const res = await fetch(http + p, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
  };
  return node;
}

/**
 * Polls `probe` until it returns something other than `undefined`, `null` or
 * `false`, for effects the node records after it has answered (security
 * events, alerts, bus fan-out). Fails with `what` after `ms`.
 */
export async function eventually<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`not seen within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The HTTP status of a WebSocket upgrade with Basic auth (101 when accepted; the socket is closed at once).
 * `localAddress` picks the source address on loopback (127.0.0.x), so a test can arrive from two places.
 */
export function upgradeStatus(port: number, id: string, password: string, opts: { localAddress?: string; subprotocol?: string } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ocpp/${encodeURIComponent(id)}`, [opts.subprotocol ?? 'ocpp2.0.1'], {
      headers: { authorization: `Basic ${Buffer.from(`${id}:${password}`).toString('base64')}` },
      localAddress: opts.localAddress,
    });
    ws.once('upgrade', () => {
      resolve(101);
      ws.terminate();
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}
