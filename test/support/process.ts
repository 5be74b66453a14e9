/**
 * `evguard serve` as a real child process, for tests that need what only a
 * process has: its own clock (libfaketime), its own environment, a restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

export const CLI = ['--import', 'tsx', path.resolve('src/cli/main.ts')];

/** A TCP port free at the moment of asking (for flags where 0 means "off"). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

export interface ServeProcess {
  child: ChildProcess;
  /** The plain HTTP port the node printed. */
  port: number;
  stdout: string;
  stop(): Promise<void>;
}

/**
 * Starts `evguard serve <args>`; with `fakeTime` (libfaketime's spelling,
 * e.g. '+8d') the node's wall clock runs that far ahead of the test's.
 */
export async function startServe(args: string[], opts: { env?: NodeJS.ProcessEnv; fakeTime?: string } = {}): Promise<ServeProcess> {
  const env = { ...process.env, EVGUARD_LOG_LEVEL: 'warn', ...opts.env };
  // libfaketime preloaded into the node itself (the `faketime` wrapper would
  // stand between the test and the node's signals); only the wall clock moves,
  // timers keep the real monotonic clock.
  const clock = opts.fakeTime ? { LD_PRELOAD: libfaketime(), FAKETIME: opts.fakeTime, FAKETIME_DONT_FAKE_MONOTONIC: '1' } : {};
  const child = spawn(process.execPath, [...CLI, 'serve', ...args], { env: { ...env, ...clock }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      stdout += d;
      const m = /ws:\/\/localhost:(\d+)\/ocpp/.exec(stdout);
      if (m && /evguard is running[\s\S]*\n\n?/.test(stdout)) resolve(Number(m[1]));
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stdout}${stderr}`)));
  });
  return {
    child,
    port,
    get stdout() {
      return stdout;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Debian's libfaketime (package faketime), installed by .ci/run. */
function libfaketime(): string {
  const triplet = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
  const lib = `/usr/lib/${triplet}/faketime/libfaketime.so.1`;
  if (!existsSync(lib)) throw new Error(`${lib} not found: apt-get install faketime`);
  return lib;
}
