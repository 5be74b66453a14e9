/**
 * `evguard demo` as a user runs it: every step of the tour succeeds, the
 * sessions gain energy from meter values, and SIGTERM stops it cleanly.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { eventually } from '../support/node.js';
import { CLI } from './run.js';
import { ensureConsoleBuilt, launch, shoot } from '../console/support.js';

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  return port;
}

test('the demo shows charging, a renewal, a finished campaign, alerts and the grid guard, then stops on SIGTERM', { timeout: 600_000 }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'evguard-demo-'));
  const [http, https] = [await freePort(), await freePort()];
  const demo = spawn(process.execPath, [...CLI, 'demo', '--port', String(http), '--tls-port', String(https), '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  demo.stdout.on('data', (d) => (out += d));
  demo.stderr.on('data', (d) => (out += d));
  t.after(() => {
    if (demo.exitCode === null) demo.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await eventually('the tour to finish', () => out.includes('The fleet keeps charging') || demo.exitCode !== null, 240_000);
  assert.doesNotMatch(out, /✗/, out);
  for (const step of [/stations charging/, /certificate renewal for DEMO-P2-\d: completed/, /firmware 1\.1\.0 campaign completed/, /simulated attack .* \d+ alerts/, /mass start of 8 stations: .*GRID_APPROVAL_REQUIRED/]) assert.match(out, step);

  const token = /sign in with the token (\S+)/.exec(out)![1]!;
  const get = async (p: string) => (await fetch(`http://127.0.0.1:${http}${p}`, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<any>;
  await eventually('a session with energy from meter values', async () => (await get('/api/v1/transactions')).some((tx: any) => tx.state !== 'Ended' && tx.energyWh > 0), 60_000);
  const log = readFileSync(path.join(dir, 'node.log'), 'utf8');
  for (const event of ['station.connected', 'alert.raised', 'campaign.state', 'grid.refused']) assert.ok(log.includes(`"event":"${event}"`), `${event} in the node log`);

  // EVGUARD_SCREENSHOTS=docs/screenshots: the console after a minute of the demo (docs/demo.md shows them).
  if (process.env.EVGUARD_SCREENSHOTS) await screenshots(`http://127.0.0.1:${http}`, token, get);

  demo.kill('SIGTERM');
  const [code] = await once(demo, 'exit');
  assert.equal(code, 0, out);
});

async function screenshots(base: string, token: string, get: (p: string) => Promise<any>) {
  ensureConsoleBuilt();
  await new Promise((r) => setTimeout(r, 60_000));
  const browser = await launch();
  try {
    const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    await page.goto(`${base}/`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const nav = (view: string) => page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: view, exact: true }).click();
    await page.getByRole('link', { name: 'DEMO-P1-1', exact: true }).waitFor();
    await shoot(page, 'demo-fleet');
    const charging = (await get('/api/v1/transactions')).find((tx: any) => tx.state !== 'Ended' && tx.energyWh > 0);
    await page.goto(`${base}/#/station/${charging.stationId}`);
    await page.waitForTimeout(2000);
    await shoot(page, 'demo-station', true);
    for (const [view, name] of [['Firmware', 'demo-firmware'], ['Alerts', 'demo-alerts'], ['Grid', 'demo-grid'], ['Certificates', 'demo-certificates']] as const) {
      await nav(view);
      await page.waitForTimeout(2000);
      await shoot(page, name);
    }
  } finally {
    await browser.close();
  }
}
