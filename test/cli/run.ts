/** Runs `evguard` the way a user does: the root program in its own process. */
import { spawn } from 'node:child_process';
import path from 'node:path';

export const CLI = ['--import', 'tsx', path.resolve('src/cli/main.ts')];

export interface CliResult { code: number | null; stdout: string; stderr: string }

export function evguard(args: string[], env: NodeJS.ProcessEnv, opts: { cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [...CLI, ...args], { env: { ...process.env, ...env }, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
