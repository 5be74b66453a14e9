/**
 * A TAXII 2.1 client for pushing our bundles to, and pulling indicators from,
 * an ISAC's or a partner's server. The remote is untrusted: every answer is
 * size-capped, type-checked and paging is bounded so a hostile server cannot
 * make us loop or eat memory. The token never appears in an error message.
 */
import { intelErrors } from './errors.js';
import type { StixObject } from './stix.js';
import { TAXII_MEDIA_TYPE } from './taxii-media.js';

export interface TaxiiClientOptions {
  /** The API root URL (…/taxii2/evguard/) or the server's discovery URL (…/taxii2/). */
  url: string;
  token?: string;
  fetch?: typeof globalThis.fetch;
  timeoutMs?: number;
  /** Largest answer accepted, in bytes. */
  maxResponseBytes?: number;
  /** Most objects one pull may bring back. */
  maxObjects?: number;
}

export interface PullResult {
  objects: StixObject[];
  /** X-TAXII-Date-Added-Last of the last page: where the next pull continues. */
  lastAdded?: string;
}

export interface PushResult {
  successCount: number;
  failureCount: number;
  failures: { id: string; message?: string }[];
  statusIds: string[];
}

export interface TaxiiClient {
  apiRoot(): Promise<{ url: string; maxContentLength: number }>;
  collections(): Promise<{ id: string; title: string; can_read: boolean; can_write: boolean }[]>;
  pull(collectionId: string, opts?: { addedAfter?: string; types?: string[]; pageSize?: number }): Promise<PullResult>;
  push(collectionId: string, objects: StixObject[]): Promise<PushResult>;
}

export function createTaxiiClient(options: TaxiiClientOptions): TaxiiClient {
  let base: URL;
  try {
    base = new URL(options.url);
  } catch {
    throw intelErrors.INTEL_INVALID_INPUT('the TAXII URL is not a URL');
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw intelErrors.INTEL_INVALID_INPUT('the TAXII URL must be http:// or https://');
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxBytes = options.maxResponseBytes ?? 64 * 1024 * 1024;
  const maxObjects = options.maxObjects ?? 200_000;
  let root: Promise<{ url: string; maxContentLength: number }> | undefined;

  const request = async (url: URL, init: { method?: string; body?: string } = {}) => {
    const headers: Record<string, string> = { accept: TAXII_MEDIA_TYPE };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (init.body !== undefined) headers['content-type'] = TAXII_MEDIA_TYPE;
    let response: Response;
    try {
      response = await doFetch(url, { method: init.method ?? 'GET', headers, body: init.body, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    } catch (err) {
      throw intelErrors.TAXII_REMOTE_FAILED(`cannot reach ${url.origin}: ${(err as Error).message}`, { cause: err });
    }
    const text = await readCapped(response, maxBytes, url);
    let body: any;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      throw intelErrors.TAXII_REMOTE_FAILED(`${url.origin} answered ${response.status} with a body that is not JSON`);
    }
    if (!response.ok) {
      const title = typeof body?.title === 'string' ? `: ${body.title.slice(0, 200)}` : '';
      throw intelErrors.TAXII_REMOTE_FAILED(`${url.origin} answered ${response.status}${title}`, { details: { status: response.status } });
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw intelErrors.TAXII_REMOTE_FAILED(`${url.origin} answered with a body that is not a JSON object`);
    return { body, headers: response.headers };
  };

  const apiRoot = () => {
    root ??= (async () => {
      let { body } = await request(base);
      let url = base;
      if (Array.isArray(body.api_roots)) {
        // A discovery document: follow its default root, else its first.
        const target = typeof body.default === 'string' ? body.default : body.api_roots[0];
        if (typeof target !== 'string') throw intelErrors.TAXII_REMOTE_FAILED('the TAXII server lists no API root');
        url = new URL(target, base);
        if (url.origin !== base.origin) throw intelErrors.TAXII_REMOTE_FAILED('the API root is on another origin; give its URL directly');
        if (!url.pathname.endsWith('/')) url.pathname += '/';
        ({ body } = await request(url));
      }
      const max = Number.isSafeInteger(body.max_content_length) && body.max_content_length > 0 ? body.max_content_length : 10 * 1024 * 1024;
      return { url: url.toString(), maxContentLength: max };
    })();
    root.catch(() => { root = undefined; });
    return root;
  };

  const collectionUrl = async (collectionId: string, rest: string) => {
    if (!/^[A-Za-z0-9._~-]{1,128}$/.test(collectionId)) throw intelErrors.INTEL_INVALID_INPUT('the collection id has characters a TAXII id cannot have');
    return new URL(`collections/${collectionId}/${rest}`, (await apiRoot()).url);
  };

  return {
    apiRoot,

    async collections() {
      const { body } = await request(new URL('collections/', (await apiRoot()).url));
      return Array.isArray(body.collections) ? body.collections.filter((c: any) => c && typeof c.id === 'string') : [];
    },

    async pull(collectionId, opts = {}) {
      const objects: StixObject[] = [];
      let lastAdded: string | undefined;
      let next: string | undefined;
      const seen = new Set<string>();
      for (let pageNo = 0; pageNo < 10_000; pageNo++) {
        const url = await collectionUrl(collectionId, 'objects/');
        if (opts.addedAfter) url.searchParams.set('added_after', opts.addedAfter);
        if (opts.types?.length) url.searchParams.set('match[type]', opts.types.join(','));
        if (opts.pageSize) url.searchParams.set('limit', String(opts.pageSize));
        if (next) url.searchParams.set('next', next);
        const { body, headers } = await request(url);
        const page = Array.isArray(body.objects) ? body.objects : [];
        for (const o of page) {
          if (objects.length >= maxObjects) throw intelErrors.TAXII_REMOTE_FAILED(`the collection holds more than ${maxObjects} objects; pull with --added-after`);
          objects.push(o);
        }
        const last = headers.get('x-taxii-date-added-last');
        if (last) lastAdded = last;
        if (body.more !== true || typeof body.next !== 'string' || body.next.length > 4096) break;
        // A server repeating a cursor would keep us here forever.
        if (seen.has(body.next)) throw intelErrors.TAXII_REMOTE_FAILED('the TAXII server repeated a paging token');
        seen.add(body.next);
        next = body.next;
      }
      return { objects, lastAdded };
    },

    async push(collectionId, objects) {
      const { maxContentLength } = await apiRoot();
      const url = await collectionUrl(collectionId, 'objects/');
      const result: PushResult = { successCount: 0, failureCount: 0, failures: [], statusIds: [] };
      for (const chunk of envelopes(objects, maxContentLength)) {
        const { body } = await request(url, { method: 'POST', body: chunk });
        result.successCount += Number.isSafeInteger(body.success_count) ? body.success_count : 0;
        result.failureCount += Number.isSafeInteger(body.failure_count) ? body.failure_count : 0;
        if (Array.isArray(body.failures)) result.failures.push(...body.failures.slice(0, 1000).map((f: any) => ({ id: String(f?.id ?? 'unknown'), message: typeof f?.message === 'string' ? f.message : undefined })));
        if (typeof body.id === 'string') result.statusIds.push(body.id);
      }
      return result;
    },
  };
}

/** Splits objects into envelopes that each fit the server's max_content_length. */
function* envelopes(objects: StixObject[], maxBytes: number): Generator<string> {
  const head = '{"objects":[';
  let parts: string[] = [];
  let size = head.length + 2;
  for (const o of objects) {
    const text = JSON.stringify(o);
    const bytes = Buffer.byteLength(text) + 1;
    if (head.length + 2 + bytes > maxBytes) throw intelErrors.INTEL_INVALID_INPUT(`object ${o.id} alone is larger than the server's max_content_length`);
    if (parts.length && size + bytes > maxBytes) {
      yield `${head}${parts.join(',')}]}`;
      parts = [];
      size = head.length + 2;
    }
    parts.push(text);
    size += bytes;
  }
  if (parts.length) yield `${head}${parts.join(',')}]}`;
}

async function readCapped(response: Response, maxBytes: number, url: URL): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > maxBytes) throw intelErrors.TAXII_REMOTE_FAILED(`${url.origin} sent more than ${maxBytes} bytes`);
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > maxBytes) throw intelErrors.TAXII_REMOTE_FAILED(`${url.origin} sent more than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
