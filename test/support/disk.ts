/**
 * A small tmpfs of our own, so a test can fill the disk under a database
 * without touching the machine's. Mounting needs root: undefined elsewhere,
 * and the test skips.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface SmallDisk {
  dir: string;
  /** Writes zeros until the disk refuses (what is left is then at most a block). */
  fill(): void;
  /** Gives back what `fill` took. */
  free(): void;
  release(): void;
}

export function smallDisk(size = '24m'): SmallDisk | undefined {
  const dir = mkdtempSync(path.join(tmpdir(), 'evguard-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  const filler = path.join(dir, 'filler');
  return {
    dir,
    fill() {
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k', 'count=65536'], { stdio: 'ignore' });
      } catch {
        // dd stops with "No space left on device": that is the point.
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    release() {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
