/**
 * One node of the cluster runs the fleet-wide singletons (detectors, grid
 * guard), so that each event is judged once and each alert raised once. The
 * lead is a PostgreSQL session-level advisory lock: it is released the moment
 * the holder's connection ends (a killed node included), and another node
 * takes it on its next try.
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

  async function attempt() {
    if (closed || leader) return;
    try {
      if (!client) {
        const c = new pg.Client({ connectionString: opts.databaseUrl });
        c.on('error', (err) => {
          // The connection (and with it the lock) is gone.
          opts.onError?.(err);
          if (client === c) client = undefined;
          set(false);
        });
        c.on('end', () => {
          if (client === c) client = undefined;
          set(false);
        });
        await c.connect();
        client = c;
      }
      const r = await client.query('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [opts.key]);
      if (r.rows[0]?.ok === true) set(true);
    } catch (err) {
      opts.onError?.(err);
    }
  }

  const loop = async () => {
    await attempt();
    if (!closed) timer = setTimeout(loop, retryMs);
  };
  await attempt();
  timer = setTimeout(loop, retryMs);

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
