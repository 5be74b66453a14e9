/**
 * What only the root program does with errors: commander's own usage errors
 * exit 2 on every subcommand, and a port that cannot be bound names the flag
 * that moves it. Exit codes and option parsers: src/cli-kit.ts.
 */
import type { Command } from 'commander';
import { usageError } from '../cli-kit.js';

/** Make commander report usage errors with exit code 2 instead of 1, on every subcommand. */
export function strictExits(cmd: Command): Command {
  cmd.exitOverride();
  cmd.showHelpAfterError('(run with --help for usage)');
  for (const sub of cmd.commands) strictExits(sub);
  return cmd;
}

/**
 * A listener that could not bind becomes a usage error naming the port and
 * the flag that moves it, e.g. `npm run demo -- --port 8090`.
 */
export function explainListenError(err: unknown, tlsPort: number | undefined, how: (flag: string, port: number) => string): unknown {
  const e = err as { code?: string; port?: number };
  if (e?.code !== 'EADDRINUSE' && e?.code !== 'EACCES') return err;
  const port = Number(e.port);
  const flag = port === tlsPort ? '--tls-port' : '--port';
  const why = e.code === 'EADDRINUSE' ? `port ${port} is already in use (another evguard, or another server)` : `port ${port} needs privileges this user lacks`;
  return usageError(`${why}; choose another: ${how(flag, port)}`);
}
