/**
 * The last-resort policy for unhandled rejections: one raised on a station's
 * connection closes that connection with a security event; one that belongs
 * to no station is logged; the process keeps serving either way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { connectRaw, boot } from '../support/raw-client.js';
import { eventually } from '../support/node.js';

const ADMIN = 'test-admin-token-0123456789abcdef';
const PASSWORD = 'last-resort-password-0123456';

test('an unhandled rejection closes only the connection it came from', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('test/ocpp/fixtures/fault-node.ts')], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.after(async () => {
    child.stdin.end();
    child.kill('SIGKILL');
    await exited;
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const port = await eventually('the node printed its port', () => Number(/port (\d+)/.exec(out)?.[1]) || undefined, 60_000);
  const base = `http://127.0.0.1:${port}`;
  const api = (method: string, p: string, body?: unknown) =>
    fetch(base + p, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  for (const id of ['FAULTY', 'BYSTANDER']) assert.equal((await api('POST', '/api/v1/stations', { id, securityProfile: 1, password: PASSWORD })).status, 201);
  const faulty = await connectRaw(`ws://127.0.0.1:${port}/ocpp/FAULTY`, { protocol: 'ocpp1.6', user: 'FAULTY', password: PASSWORD });
  const bystander = await connectRaw(`ws://127.0.0.1:${port}/ocpp/BYSTANDER`, { protocol: 'ocpp1.6', user: 'BYSTANDER', password: PASSWORD });
  const closed = new Promise<number>((resolve) => faulty.ws.once('close', (code) => resolve(code)));

  child.stdin.write('reject FAULTY\n');
  assert.equal(await closed, 1011, 'the faulty connection is closed');
  child.stdin.write('reject\n');
  await eventually('both rejections raised', () => out.includes('rejected -'));

  const [type] = await bystander.call('BootNotification', boot['1.6']);
  assert.equal(type, 3, 'the other station is still served');
  const events = await eventually('a security event on the faulty station', async () => {
    const r = await api('GET', '/api/v1/security-events?stationId=FAULTY');
    return r.body.find((e: any) => /connection fault/.test(e.techInfo ?? '')) && r.body;
  });
  assert.ok(events.length > 0);
  assert.equal(child.exitCode, null, 'the process is running');
  await bystander.close();
});
