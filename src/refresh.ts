import type { Logger } from 'pino';

/**
 * Runs each job every `ms` (never two runs of one job at once); returns the
 * stop function. The node re-reads state other nodes changed this way, in
 * case a change event was lost (src/bus/changes.ts), and rotates TLS ticket keys.
 */
export function refreshEvery(ms: number, log: Pick<Logger, 'warn'>, jobs: Record<string, () => Promise<void>>): () => void {
  const running = new Set<string>();
  const timer = setInterval(() => {
    for (const [name, job] of Object.entries(jobs)) {
      if (running.has(name)) continue;
      running.add(name);
      job()
        .catch((err) => log.warn({ err, refresh: name }, 'refresh from the store failed'))
        .finally(() => running.delete(name));
    }
  }, ms);
  timer.unref();
  return () => clearInterval(timer);
}
