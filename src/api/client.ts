/**
 * The client of a node's REST API that the command line and the simulators
 * use: one way to call it and one error for what the node refused. A node
 * that cannot be reached is a plain Error (a runtime failure, exit 1); a 4xx
 * answer is an ApiError the command line turns into exit 2 with the node's
 * own code and message.
 */

export class ApiError extends Error {
  readonly status: number;
  /** The node's error code (e.g. STATION_UNKNOWN), when it sent one. */
  readonly code?: string;
  readonly body: unknown;

  constructor(status: number, code: string | undefined, message: string, body: unknown) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

export interface ApiClient {
  /** JSON in and out; `raw` sends bytes (application/octet-stream) instead of a JSON body. */
  request<T = any>(method: string, path: string, body?: unknown, opts?: { raw?: Uint8Array; headers?: Record<string, string> }): Promise<T>;
}

export function apiClient(baseUrl: string, token: string): ApiClient {
  return {
    async request(method, path, body, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers, authorization: `Bearer ${token}` };
      if (opts.raw) headers['content-type'] = 'application/octet-stream';
      else if (body !== undefined) headers['content-type'] = 'application/json';
      let res: Response;
      try {
        res = await fetch(new URL(path, baseUrl), { method, headers, body: opts.raw ?? (body !== undefined ? JSON.stringify(body) : undefined) });
      } catch (err) {
        throw new Error(`cannot reach ${baseUrl}: ${(err as Error).message}; is the node running (evguard serve), and is the URL right?`, { cause: err });
      }
      const text = await res.text();
      let json: any;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      if (!res.ok) {
        const code = typeof json?.error?.code === 'string' ? json.error.code : undefined;
        const why = json?.error?.message ?? (text.slice(0, 300) || res.statusText);
        throw new ApiError(res.status, code, `${method} ${path} → ${res.status}${code ? ` ${code}` : ''}: ${why}`, json);
      }
      return json;
    },
  };
}
