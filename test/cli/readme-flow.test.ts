/**
 * What a newcomer does after reading the README, as real processes: start a
 * node, point a simulated fleet at it with the printed admin token, and see
 * the charging sessions in the API. Plus the CLI's exit-code contract.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const CLI = ['--import', 'tsx', path.resolve('src/cli/main.ts')];

test('serve, then sim --api: sessions of 1.6, 2.0.1 and 2.1 show in the API', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'evguard-readme-'));
  const env = { ...process.env, EVGUARD_ADMIN_TOKEN: '', EVGUARD_LOG_LEVEL: 'warn' };
  const node = spawn(process.execPath, [...CLI, 'serve', '--port', '0', '--tls-port', '0', '--host', '127.0.0.1', '--data-dir', dir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    node.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    node.stdout.on('data', (d) => {
      out += d;
      const m = /ws:\/\/localhost:(\d+)\/ocpp/.exec(out);
      if (m && /Admin API token/.test(out) && out.includes('\n', out.indexOf('Admin API token') + 20)) resolve(Number(m[1]));
    });
    node.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
  // The token is printed once and kept in the data dir, readable only by its owner.
  const token = readFileSync(path.join(dir, 'admin-token'), 'utf8').trim();
  assert.ok(out.includes(token), 'the generated token is printed');
  assert.equal(statSync(path.join(dir, 'admin-token')).mode & 0o777, 0o600);

  const api = `http://127.0.0.1:${port}`;
  const sim = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, [...CLI, 'sim', '--api', api, '--token', token, '--count', '3', '--mix', '1.6:1,2.0.1:1,2.1:1', '--charging-share', '1', '--duration', '6', '--prefix', 'README'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.once('exit', (code) => resolve({ code, stderr }));
  });
  assert.equal(sim.code, 0, sim.stderr);
  assert.match(sim.stderr, /connected 3\/3, failed 0/);

  const get = async (p: string) => (await fetch(api + p, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<any>;
  const stations = await get('/api/v1/stations');
  const versions = new Set<string>();
  for (const s of stations) versions.add((await get(`/api/v1/stations/${s.id}`)).ocppVersion);
  assert.deepEqual([...versions].sort(), ['1.6', '2.0.1', '2.1']);
  const transactions = await get('/api/v1/transactions');
  assert.equal(transactions.length, 3, JSON.stringify(transactions));
  for (const tx of transactions) {
    assert.equal(tx.state, 'Ended');
    assert.equal(tx.idToken, 'SIMDRIVER0001');
  }
});

test('bad usage exits with 2 and says what to fix', async () => {
  const cases: [string[], RegExp][] = [
    [['serve', '--port', 'eighty'], /--port must be a whole number/],
    [['serve', '--port', '70000'], /--port must be between 0 and 65535/],
    [['sim', '--api', 'not a url', '--token', 'x'], /--api must be an absolute URL/],
    [['sim', '--api', 'http://127.0.0.1:1'], /--api needs --token/],
    [['sim', '--profile', '2', '--api', 'http://127.0.0.1:1', '--token', 'x'], /profiles 2 and 3 need --ocpp-url/],
    [['no-such-command'], /unknown command/],
  ];
  await Promise.all(
    cases.map(async ([args, message]) => {
      const r = await evguardAsync(args, { EVGUARD_TOKEN: '' });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }),
  );
});

test('every command and subcommand answers --help', async () => {
  const { buildCli } = await import('../../src/cli/commands.js');
  const walk = (cmd: Command, trail: string[]): string[][] => [trail, ...cmd.commands.flatMap((c) => walk(c, [...trail, c.name()]))];
  const paths = walk(buildCli(), []);
  assert.ok(paths.length > 5);
  for (const trail of paths) {
    let printed = '';
    const cli = buildCli();
    const quiet = (c: Command) => {
      c.configureOutput({ writeOut: (s) => (printed += s), writeErr: (s) => (printed += s) });
      c.commands.forEach(quiet);
    };
    quiet(cli);
    await assert.rejects(cli.parseAsync(['node', 'evguard', ...trail, '--help']), (e: any) => e.exitCode === 0, trail.join(' '));
    assert.match(printed, /Usage: evguard/, trail.join(' '));
  }
});

function evguardAsync(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [...CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.once('exit', (code) => resolve({ code, stderr }));
  });
}
