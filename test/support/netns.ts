/**
 * A remote client for tests that must see what a non-loopback peer sees: a
 * network namespace made for the test, joined to this host by a veth pair
 * with its own /30 (10.213.<n>.0/30), so the node sees a remote address.
 * Needs root and iproute2 (CI runs as root). Scripts run in the namespace
 * with this repository's node_modules.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';

export interface RemoteHost {
  /** This host's address as the namespace reaches it (where the node listens on 0.0.0.0). */
  readonly hostAddress: string;
  /** The namespace's own address (what the node sees as the peer). */
  readonly address: string;
  /** Runs an ES module script in the namespace; resolves with its stdout. */
  run(script: string): Promise<string>;
  /** fetch() from the namespace: status, headers and body text. */
  fetch(url: string, init?: { method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; headers: Record<string, string>; body: string }>;
  close(): void;
}

export function createRemoteHost(): RemoteHost {
  const tag = randomBytes(3).toString('hex');
  const ns = `evg-${tag}`;
  const [outer, inner] = [`evh${tag}`, `evn${tag}`];
  const net = `10.213.${randomInt(0, 256)}`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  ip('netns', 'add', ns);
  try {
    ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
    ip('link', 'set', inner, 'netns', ns);
    ip('addr', 'add', `${net}.1/30`, 'dev', outer);
    ip('link', 'set', outer, 'up');
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${net}.2/30`, 'dev', inner);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', inner, 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
  } catch (err) {
    ip('netns', 'del', ns);
    throw err;
  }
  const run = (script: string) => new Promise<string>((resolve, reject) => {
    execFile('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script], { timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
  return {
    hostAddress: `${net}.1`,
    address: `${net}.2`,
    run,
    async fetch(url, init = {}) {
      const out = await run(`const r = await fetch(${JSON.stringify(url)}, { ...${JSON.stringify(init)}, redirect: 'manual' });
        console.log(JSON.stringify({ status: r.status, headers: Object.fromEntries(r.headers), body: await r.text() }));`);
      return JSON.parse(out);
    },
    close() {
      // Deleting the namespace deletes the veth pair with it.
      ip('netns', 'del', ns);
    },
  };
}
