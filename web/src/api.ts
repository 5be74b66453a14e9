/**
 * The console's only door to the node: JSON over fetch with the bearer token,
 * the API's `{ error: { code, message } }` turned into ApiError, and
 * server-sent events read from a fetch stream (EventSource cannot send an
 * Authorization header, and a token in the URL would land in logs).
 */

export type Role = 'auditor' | 'operator' | 'admin';
export interface Me {
  name: string;
  role: Role;
}

const RANK: Record<Role, number> = { auditor: 0, operator: 1, admin: 2 };
export const roleAllows = (have: Role | undefined, need: Role) => have !== undefined && RANK[have] >= RANK[need];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
  /** The node has no such route: the feature is not part of this node (yet). */
  get missingRoute() {
    return this.status === 404 && this.code === 'NOT_FOUND' && this.message.startsWith('No route');
  }
}

// The token lives for this tab only: closing the tab signs out.
const TOKEN_KEY = 'evguard.token';
let token: string | null = sessionStorage.getItem(TOKEN_KEY);
let onUnauthenticated: () => void = () => undefined;

export const session = {
  get token() {
    return token;
  },
  set(t: string | null) {
    token = t;
    if (t) sessionStorage.setItem(TOKEN_KEY, t);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
  onExpired(fn: () => void) {
    onUnauthenticated = fn;
  },
};

export async function api<T = unknown>(method: string, path: string, body?: unknown, opts: { signal?: AbortSignal; token?: string; accept?: string; contentType?: string } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: opts.accept ?? 'application/json' };
  const bearer = opts.token ?? token;
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  const payload = body === undefined ? undefined : body instanceof Blob || body instanceof ArrayBuffer ? body : JSON.stringify(body);
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: payload, signal: opts.signal, cache: 'no-store' });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', 'The node cannot be reached');
  }
  const text = await res.text();
  let data: any;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const e = data?.error;
    // TAXII answers errors as { title, description } (TAXII 2.1 §3.6).
    const message = typeof e?.message === 'string' ? e.message : typeof data?.description === 'string' ? data.description : typeof data?.title === 'string' ? data.title : res.statusText;
    const err = new ApiError(res.status, typeof e?.code === 'string' ? e.code : `HTTP_${res.status}`, message);
    if (res.status === 401 && !opts.token) onUnauthenticated();
    throw err;
  }
  return data as T;
}

export const get = <T>(path: string, signal?: AbortSignal, accept?: string) => api<T>('GET', path, undefined, { signal, accept });
export const post = <T>(path: string, body?: unknown) => api<T>('POST', path, body ?? {});

export interface StreamEvent {
  event: string;
  data: string;
  id?: string;
}

/**
 * Follows a server-sent event stream until `signal` aborts, reconnecting with
 * backoff. `onOpen` runs on every (re)connection so the caller can refetch
 * what it may have missed while disconnected.
 */
export function followStream(path: string, handlers: { onEvent(e: StreamEvent): void; onOpen?(): void; onState?(s: 'live' | 'reconnecting' | 'unavailable'): void }, signal: AbortSignal): void {
  let delay = 1000;
  const run = async () => {
    while (!signal.aborted) {
      try {
        const res = await fetch(path, { headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` }, signal, cache: 'no-store' });
        if (res.status === 401) {
          onUnauthenticated();
          return;
        }
        if (res.status === 404) {
          handlers.onState?.('unavailable');
          return;
        }
        if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
        delay = 1000;
        handlers.onState?.('live');
        handlers.onOpen?.();
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const e: StreamEvent = { event: 'message', data: '' };
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) continue;
              const i = line.indexOf(':');
              const field = i < 0 ? line : line.slice(0, i);
              const v = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
              if (field === 'event') e.event = v;
              else if (field === 'data') data.push(v);
              else if (field === 'id') e.id = v;
            }
            if (data.length) {
              e.data = data.join('\n');
              handlers.onEvent(e);
            }
          }
        }
      } catch {
        if (signal.aborted) return;
      }
      handlers.onState?.('reconnecting');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30_000);
    }
  };
  void run();
}
