/**
 * One node of the cluster runs the fleet-wide singletons (detectors, grid
 * guard), so that each event is judged once and each alert raised once. The
 * lead is a PostgreSQL session-level advisory lock: it is released the moment
 * the holder's connection ends (a killed node included). The other nodes wait
 * for it in `pg_advisory_lock`, so one of them holds it as soon as PostgreSQL
 * has seen the holder's connection close, with no polling gap.
 */
import pg from 'pg';

export interface Leadership {
  isLeader(): boolean;
  close(): Promise<void>;
}

export async function holdLeadership(opts: { databaseUrl: string; key: string; retryMs?: number; onChange?: (leader: boolean) => void; onError?: (err: unknown) => void }): Promise<Leadership> {
  const retryMs = opts.retryMs ?? 1000;
  let client: pg.Client | undefined;
  let leader = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const set = (v: boolean) => {
    if (v === leader) return;
    leader = v;
    opts.onChange?.(v);
  };

  async function connectClient(): Promise<pg.Client> {
    if (client) return client;
    const c = new pg.Client({ connectionString: opts.databaseUrl });
    c.on('error', (err) => {
      // The connection (and with it the lock) is gone.
      if (!closed) opts.onError?.(err);
      if (client === c) client = undefined;
      set(false);
    });
    c.on('end', () => {
      if (client === c) client = undefined;
      set(false);
    });
    await c.connect();
    client = c;
    return c;
  }

  async function tryOnce(): Promise<boolean> {
    try {
      const c = await connectClient();
      const r = await c.query('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [opts.key]);
      if (r.rows[0]?.ok === true) set(true);
    } catch (err) {
      if (!closed) opts.onError?.(err);
    }
    return leader;
  }

  async function attempt() {
    if (closed || leader) return;
    try {
      const c = await connectClient();
      // Blocks until the lock is ours; ending the client (close) cancels the wait.
      await c.query('SELECT pg_advisory_lock(hashtext($1))', [opts.key]);
      if (!closed) set(true);
    } catch (err) {
      if (!closed) opts.onError?.(err);
    }
  }

  // Retries only after a failure (no database, lost connection); a waiting attempt just waits.
  const loop = async () => {
    await attempt();
    if (!closed) timer = setTimeout(loop, retryMs);
  };
  // The first node of a cluster leads from its start; the others begin waiting.
  await tryOnce();
  void loop();

  return {
    isLeader: () => leader,
    async close() {
      closed = true;
      clearTimeout(timer);
      set(false);
      await client?.end().catch(() => undefined);
    },
  };
}
