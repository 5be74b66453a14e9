/**
 * Alerts to webhooks as JSON POSTs. With a secret, each request carries
 * `X-Evguard-Timestamp` and `X-Evguard-Signature: sha256=<hex>`, an
 * HMAC-SHA256 over `<timestamp>.<body>`, so the receiver can check origin and
 * integrity and refuse replays of old deliveries.
 */
import { createHmac } from 'node:crypto';
import type { Alert } from '../alerts.js';

export interface WebhookConfig { url: string; secret?: string }

const TIMEOUT_MS = 5000;
const ATTEMPTS = 3;

export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface WebhookSender { send(alert: Alert, topic: string): void; flush(): Promise<void>; close(): Promise<void> }

export function createWebhookSender(hooks: readonly WebhookConfig[], now: () => Date, log?: { warn(o: unknown, m: string): void }): WebhookSender {
  const inFlight = new Set<Promise<void>>();
  const abort = new AbortController();

  async function deliver(hook: WebhookConfig, body: string): Promise<void> {
    for (let attempt = 1; attempt <= ATTEMPTS && !abort.signal.aborted; attempt++) {
      const timestamp = now().toISOString();
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'evguard-monitor' };
      if (hook.secret) {
        headers['x-evguard-timestamp'] = timestamp;
        headers['x-evguard-signature'] = signWebhook(hook.secret, timestamp, body);
      }
      try {
        const res = await fetch(hook.url, { method: 'POST', headers, body, redirect: 'error', signal: AbortSignal.any([abort.signal, AbortSignal.timeout(TIMEOUT_MS)]) });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return;
        // A 4xx other than 429 will not improve by retrying.
        if (res.status < 500 && res.status !== 429) throw new Error(`webhook answered ${res.status}`);
        if (attempt === ATTEMPTS) throw new Error(`webhook answered ${res.status}`);
      } catch (err) {
        if (attempt === ATTEMPTS || abort.signal.aborted || String(err).includes('answered 4')) {
          // Never log the URL's query string: it often holds a token.
          log?.warn({ err, host: safeHost(hook.url) }, 'webhook delivery failed');
          return;
        }
      }
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt).unref());
    }
  }

  return {
    send(alert, topic) {
      const body = JSON.stringify({ topic, alert });
      for (const hook of hooks) {
        const p = deliver(hook, body).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
    },
    async flush() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    async close() {
      abort.abort();
      await Promise.all([...inFlight]);
    },
  };
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '<invalid url>';
  }
}
