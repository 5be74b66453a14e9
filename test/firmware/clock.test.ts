/**
 * Release metadata never freezes: a node whose wall clock is moved 8 and 100
 * days past the last upload (libfaketime on a real `evguard serve` process)
 * still verifies its own release and starts a campaign, because it re-signs
 * snapshot and targets on its own before they expire.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { freePort, startServe, type ServeProcess } from '../support/process.js';

const TOKEN = 'clock-admin-token-0123456789abcdef';

test('a campaign starts 8 and 100 days after the last upload', { timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'evguard-clock-'));
  let node: ServeProcess | undefined;
  t.after(async () => {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const tlsPort = await freePort();
  const start = async (fakeTime?: string) => {
    node = await startServe(['--port', '0', '--tls-port', String(tlsPort), '--host', '127.0.0.1', '--data-dir', dir], { env: { EVGUARD_ADMIN_TOKEN: TOKEN }, fakeTime });
    return `http://127.0.0.1:${node.port}`;
  };
  const call = async (base: string, method: string, p: string, body?: unknown, raw?: Buffer) => {
    const res = await fetch(base + p, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': raw ? 'application/octet-stream' : 'application/json' },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  let base = await start();
  const img = await call(base, 'POST', '/api/v1/firmware?vendor=Acme&model=AC22&version=2.0.0', undefined, Buffer.alloc(4096, 7));
  assert.equal(img.status, 201, JSON.stringify(img.body));
  for (const id of ['CLK1', 'CLK2']) assert.equal((await call(base, 'POST', '/api/v1/stations', { id, securityProfile: 1 })).status, 201);
  await node!.stop();

  for (const [fake, station] of [['+8d', 'CLK1'], ['+100d', 'CLK2']] as const) {
    base = await start(fake);
    const campaign = await call(base, 'POST', '/api/v1/campaigns', { firmwareId: img.body.id, stationIds: [station] });
    assert.equal(campaign.status, 201, `${fake}: ${JSON.stringify(campaign.body)}`);
    await node!.stop();
  }
});
