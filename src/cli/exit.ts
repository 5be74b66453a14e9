/**
 * Exit codes for every command: 0 ok, 1 runtime failure, 2 bad usage or bad
 * input — always with a message that says what was wrong and how to fix it.
 */
import { CommanderError, InvalidArgumentError, type Command } from 'commander';
import { EvguardError } from '../errors.js';

export class UsageError extends Error {}

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT.usage;
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof EvguardError && err.status >= 400 && err.status < 500) return EXIT.usage;
  return EXIT.failure;
}

/** Make commander report usage errors with exit code 2 instead of 1, on every subcommand. */
export function strictExits(cmd: Command): Command {
  cmd.exitOverride();
  cmd.showHelpAfterError('(run with --help for usage)');
  for (const sub of cmd.commands) strictExits(sub);
  return cmd;
}

export function parseIntOption(name: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number.`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}.`);
    return n;
  };
}

/** Accepts only absolute URLs with one of the given schemes. */
export function parseUrlOption(name: string, schemes: readonly string[]) {
  return (value: string): string => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new InvalidArgumentError(`${name} must be an absolute URL such as ${schemes[0]}://localhost:8080`);
    }
    if (!schemes.includes(url.protocol.slice(0, -1))) throw new InvalidArgumentError(`${name} must start with ${schemes.map((s) => `${s}://`).join(' or ')}`);
    return value;
  };
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
  return new UsageError(`${why}; choose another: ${how(flag, port)}`);
}
