/**
 * Which node holds which station, known on every node, so that the API of
 * any node reports a station connected wherever its socket is.
 *
 * Each node announces the stations it takes and loses on
 * `<namespace>.presence.up` / `.down`, tagged with its instance id. A node
 * that starts (or reconnects to NATS) asks the others, on `.presence.hello`,
 * to announce everything they hold. Every instance answers pings on
 * `<namespace>.node.<instance>`; a sweep pings each instance that holds
 * entries, and NATS's "no responders" (the instance's connection is gone, a
 * killed node included) drops all of that instance's entries at once.
 * A `down` only removes an entry of the instance that sent it, so a late
 * `down` from a station's previous node never hides its new one.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';

export interface StationPresence {
  ocppVersion: string;
  connectedSince: string;
  remoteAddress?: string;
  /** The node id (EVGUARD_NODE_ID) holding the socket. */
  node: string;
}

interface Entry extends StationPresence { instance: string }

interface UpWire { i: string; up: [string, StationPresence][] }
interface DownWire { i: string; s: string }

/** Announcements are chunked so one stays far below NATS's 1 MiB message limit. */
const CHUNK = 500;

export interface Presence {
  /** This node now holds the station (its session is live here). */
  up(stationId: string, p: StationPresence): void;
  /** This node no longer holds the station. */
  down(stationId: string): void;
  /** The station's holder on another node, if any. */
  get(stationId: string): StationPresence | undefined;
  /** Drops the entries of instances that no longer answer; runs on a timer too. */
  sweep(): Promise<void>;
  close(): void;
}

export function createPresence(deps: {
  nc: NatsConnection;
  namespace: string;
  instance: string;
  /** The stations this node holds right now, for a newcomer's hello. */
  local(): Iterable<[string, StationPresence]>;
  sweepMs?: number;
  onError?: (err: unknown) => void;
}): Presence {
  const { nc, namespace, instance } = deps;
  const onError = deps.onError ?? (() => undefined);
  const subject = (s: string) => `${namespace}.presence.${s}`;
  const nodeSubject = (i: string) => `${namespace}.node.${Buffer.from(i, 'utf8').toString('base64url')}`;
  const remote = new Map<string, Entry>();

  const send = (s: string, body: unknown) => {
    try {
      nc.publish(subject(s), JSON.stringify(body));
    } catch (err) {
      onError(err);
    }
  };
  const announce = (list: [string, StationPresence][]) => {
    for (let k = 0; k < list.length; k += CHUNK) send('up', { i: instance, up: list.slice(k, k + CHUNK) } satisfies UpWire);
  };
  const parse = <T>(data: Uint8Array): T | undefined => {
    try {
      return JSON.parse(new TextDecoder().decode(data)) as T;
    } catch {
      return undefined;
    }
  };
  const str = (v: unknown, max: number) => typeof v === 'string' && v.length > 0 && v.length <= max;

  const subs: Subscription[] = [
    nc.subscribe(subject('up'), {
      callback(err, msg) {
        if (err) return onError(err);
        const w = parse<UpWire>(msg.data);
        if (!w || !str(w.i, 200) || w.i === instance || !Array.isArray(w.up)) return;
        for (const item of w.up.slice(0, CHUNK)) {
          const [s, p] = Array.isArray(item) ? item : [];
          if (!str(s, 128) || !p || typeof p !== 'object' || !str(p.ocppVersion, 16) || !str(p.connectedSince, 64) || !str(p.node, 200)) continue;
          remote.set(s as string, { instance: w.i, ocppVersion: p.ocppVersion, connectedSince: p.connectedSince, node: p.node, remoteAddress: str(p.remoteAddress, 64) ? p.remoteAddress : undefined });
        }
      },
    }),
    nc.subscribe(subject('down'), {
      callback(err, msg) {
        if (err) return onError(err);
        const w = parse<DownWire>(msg.data);
        if (!w || !str(w.i, 200) || w.i === instance || !str(w.s, 128)) return;
        if (remote.get(w.s)?.instance === w.i) remote.delete(w.s);
      },
    }),
    nc.subscribe(subject('hello'), {
      callback(err, msg) {
        if (err) return onError(err);
        const w = parse<{ i: string }>(msg.data);
        if (!w || w.i === instance) return;
        announce([...deps.local()]);
      },
    }),
    // Liveness: answered as long as this instance's NATS connection lives.
    nc.subscribe(nodeSubject(instance), { callback: (_err, msg) => void msg.respond('1') }),
  ];

  async function sweep() {
    const instances = new Set([...remote.values()].map((e) => e.instance));
    await Promise.all([...instances].map(async (i) => {
      try {
        await nc.request(nodeSubject(i), '', { timeout: 2_000 });
      } catch (err: any) {
        const gone = err?.isNoResponders?.() || err?.name === 'NoRespondersError' || err?.cause?.name === 'NoRespondersError';
        // A slow answer is not a dead node; only "nobody is subscribed" is.
        if (!gone) return;
        for (const [s, e] of remote) if (e.instance === i) remote.delete(s);
      }
    }));
  }
  const timer = setInterval(() => void sweep().catch(onError), deps.sweepMs ?? 1_000);
  timer.unref();

  // Ask the nodes already running for what they hold (again after a NATS reconnect: announcements may have been missed).
  send('hello', { i: instance });
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'reconnect') send('hello', { i: instance });
  })().catch(() => undefined);

  return {
    up(stationId, p) {
      remote.delete(stationId);
      announce([[stationId, p]]);
    },
    down(stationId) {
      send('down', { i: instance, s: stationId } satisfies DownWire);
    },
    get(stationId) {
      const e = remote.get(stationId);
      if (!e) return undefined;
      const { instance: _i, ...p } = e;
      return p;
    },
    sweep,
    close() {
      clearInterval(timer);
      for (const s of subs) s.unsubscribe();
      remote.clear();
    },
  };
}
