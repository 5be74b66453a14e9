/**
 * A minimal OpenADR 3 VEN: polls the VTN's `GET /events`, reads
 * IMPORT_CAPACITY_LIMIT intervals aimed at our sites and turns the one in
 * force now into a utility (DSO) limit the guard enforces. The VTN is an
 * outside party: every field is checked, and a VTN that is down leaves the
 * last limits in place until their intervals end.
 */
import { gridErrors } from './errors.js';

export interface OpenAdrConfig {
  /** Base URL of the VTN's REST API, e.g. https://vtn.example/openadr3/3.0.1 */
  vtnUrl: string;
  /** Bearer token the VTN issued to this VEN (OAuth2 client credentials happen outside). */
  token?: string;
  /** Poll period in seconds (default 60). */
  pollS?: number;
  /** Only events of this program; all when absent. */
  programId?: string;
}

export interface OpenAdrVen {
  /** Polls once; returns the number of sites with a limit in force. */
  poll(): Promise<number>;
  close(): void;
}

interface Deps {
  siteIds(): string[];
  setDsoLimit(siteId: string, limit: { kw: number; until: string; source: string } | undefined): void;
  log?: { warn(o: unknown, m: string): void };
  now?: () => number;
  fetch?: typeof fetch;
}

const MAX_EVENTS = 500;

/** ISO 8601 durations as OpenADR uses them (PnYnMnDTnHnMnS, PnW); years and months at 365 / 30 days. */
export function durationMs(text: unknown): number | undefined {
  if (typeof text !== 'string' || text.length > 64) return undefined;
  const m = /^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) return undefined;
  const [y, mo, w, d, h, mi, s] = m.slice(1).map((v) => Number(v ?? 0));
  return ((((y! * 365 + mo! * 30 + w! * 7 + d!) * 24 + h!) * 60 + mi!) * 60 + s!) * 1000;
}

const obj = (v: unknown): Record<string, any> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, any>) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v.slice(0, 1000) : []);

/** Target values of an event (3.0.1 `targets: [{type, values}]`), as strings. */
function targetValues(event: Record<string, any>): string[] {
  return list(event.targets).flatMap((t) => list(obj(t).values)).filter((v): v is string => typeof v === 'string');
}

/** Limits in force at `nowMs` per target value, from one event. */
export function activeCapacityLimits(event: unknown, nowMs: number): { target: string; kw: number; untilMs: number }[] {
  const e = obj(event);
  const descriptor = list(e.payloadDescriptors).map(obj).find((d) => d.payloadType === 'IMPORT_CAPACITY_LIMIT');
  const scale = typeof descriptor?.units === 'string' && descriptor.units.toUpperCase() === 'W' ? 0.001 : typeof descriptor?.units === 'string' && descriptor.units.toUpperCase() === 'MW' ? 1000 : 1;
  const period = obj(e.intervalPeriod);
  const eventStart = Date.parse(String(period.start ?? ''));
  const eventDuration = durationMs(period.duration ?? 'P9999Y');
  const out: { target: string; kw: number; untilMs: number }[] = [];
  let cursor = eventStart;
  for (const raw of list(e.intervals)) {
    const interval = obj(raw);
    const own = obj(interval.intervalPeriod);
    const start = own.start !== undefined ? Date.parse(String(own.start)) : cursor;
    const length = own.duration !== undefined ? durationMs(own.duration) : eventDuration;
    if (!Number.isFinite(start) || length === undefined) continue;
    const end = start + length;
    cursor = end;
    if (!(start <= nowMs && nowMs < end)) continue;
    for (const p of list(interval.payloads).map(obj)) {
      if (p.type !== 'IMPORT_CAPACITY_LIMIT') continue;
      const value = list(p.values)[0];
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) continue;
      for (const target of targetValues(e)) out.push({ target, kw: value * scale, untilMs: end });
    }
  }
  return out;
}

export function createOpenAdrVen(deps: Deps, config: OpenAdrConfig): OpenAdrVen {
  let base: URL;
  try {
    base = new URL(config.vtnUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw gridErrors.GRID_CONFIG_INVALID('grid.openadr.vtnUrl must be an http:// or https:// URL');
  }
  const now = deps.now ?? Date.now;
  const doFetch = deps.fetch ?? fetch;
  const ours = new Set<string>();
  let timer: NodeJS.Timeout | undefined;

  async function poll(): Promise<number> {
    const url = new URL(base.href.replace(/\/?$/, '/') + 'events');
    if (config.programId) url.searchParams.set('programID', config.programId);
    const res = await doFetch(url, { headers: { accept: 'application/json', ...(config.token ? { authorization: `Bearer ${config.token}` } : {}) }, signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw gridErrors.GRID_INPUT_INVALID(`VTN answered GET /events with HTTP ${res.status}`);
    const text = await res.text();
    if (text.length > 5_000_000) throw gridErrors.GRID_INPUT_INVALID('VTN events response is too large');
    const events = list(JSON.parse(text)).slice(0, MAX_EVENTS);
    const sites = new Set(deps.siteIds());
    const nowMs = now();
    const limits = new Map<string, { kw: number; untilMs: number; source: string }>();
    for (const event of events) {
      if (config.programId && obj(event).programID !== config.programId) continue;
      for (const l of activeCapacityLimits(event, nowMs)) {
        if (!sites.has(l.target)) continue;
        const prev = limits.get(l.target);
        // Two events for one site: the lower limit is the safe one.
        if (!prev || l.kw < prev.kw) limits.set(l.target, { kw: l.kw, untilMs: l.untilMs, source: `openadr:${String(obj(event).id ?? '?').slice(0, 64)}` });
      }
    }
    for (const siteId of ours) if (!limits.has(siteId)) deps.setDsoLimit(siteId, undefined);
    ours.clear();
    for (const [siteId, l] of limits) {
      deps.setDsoLimit(siteId, { kw: l.kw, until: new Date(l.untilMs).toISOString(), source: l.source });
      ours.add(siteId);
    }
    return limits.size;
  }

  const period = Math.max(1, config.pollS ?? 60) * 1000;
  const tick = () => {
    poll().catch((err) => deps.log?.warn({ err: (err as Error).message }, 'OpenADR VTN poll failed; keeping current limits'));
  };
  timer = setInterval(tick, period);
  timer.unref();
  setImmediate(tick);
  return {
    poll,
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
