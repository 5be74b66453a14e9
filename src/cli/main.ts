#!/usr/bin/env node
/**
 * The `evguard` command line. Exit codes: 0 ok, 1 runtime failure, 2 bad usage
 * or bad input, always with a message that says what to fix.
 */
import { buildCli } from './commands.js';
import { exitCodeFor } from '../cli-kit.js';

try {
  await buildCli().parseAsync(process.argv);
} catch (err) {
  // Commander has already printed its own usage errors.
  if (!String((err as { code?: string }).code ?? '').startsWith('commander.')) {
    process.stderr.write(`evguard: ${(err as Error).message}\n`);
  }
  process.exit(exitCodeFor(err));
}
