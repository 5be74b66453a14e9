/**
 * What every command of the `evguard` program shares, the root program in
 * src/cli and each module's own cli.ts alike: option parsers, the usage error
 * and the exit code an error means. Exit codes: 0 ok, 1 runtime failure, 2
 * bad usage or bad input, always with a message that says what to fix.
 */
import { CommanderError, InvalidArgumentError } from 'commander';
import { ApiError } from './api/client.js';
import { defineErrors, EvguardError } from './errors.js';

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

const cliErrors = defineErrors({
  USAGE: { status: 400, message: 'The command line is not valid' },
});

/** A command used the wrong way: exits 2 with `message`, which says how to fix it. */
export function usageError(message: string): EvguardError {
  return cliErrors.USAGE(message);
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  // A coded error of the caller's making (usage, bad input), or the node refusing the request as such.
  if (err instanceof EvguardError && err.status >= 400 && err.status < 500) return EXIT.usage;
  if (err instanceof ApiError && err.status >= 400 && err.status < 500) return EXIT.usage;
  return EXIT.failure;
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
