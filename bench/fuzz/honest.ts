/**
 * The honest station: boots, starts a transaction, and then sends one CALL at
 * a time — Heartbeats, and every fifth call the transaction's meter values —
 * timing each round trip. It runs in its own process (forked by the soak and
 * the fairness bench) so that the load generators' CPU does not sit in the
 * event loop that timestamps its answers. It reconnects if the node drops it
 * or restarts, and carries on with the same transaction.
 */
import WebSocket from 'ws';
import { BOOT, type Version } from './hostile.js';
import { SUBPROTOCOL } from './hostile-worker.js';

export interface HonestJob {
  url: string;
  stationId: string;
  password: string;
  version: Version;
  idToken: string;
  /** Pause between the end of one call and the start of the next, ms. */
  intervalMs: number;
  /** Only Heartbeats (the fairness bench); else a transaction with meter values too. */
  heartbeatsOnly?: boolean;
  callTimeoutMs?: number;
  /**
   * Also GET this URL (the node's /healthz) once a second with a 2 s timeout,
   * from this process: a second prober, apart from the supervisor's, so that a
   * starved prober can be told from a starved node.
   */
  healthzUrl?: string;
}

export interface Sample {
  /** Date.now() when the call was sent. */
  at: number;
  action: string;
  /** Round trip in ms; undefined when unanswered within the timeout. */
  ms: number | undefined;
  /** The node answered with a CALLERROR. */
  error?: string;
}

export interface HonestReport {
  samples: Sample[];
  /** The /healthz probes, when `healthzUrl` was given (action 'healthz'). */
  health: Sample[];
  reconnects: number;
  connectFailures: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function startHonest(job: HonestJob): { stop(): Promise<HonestReport> } {
  const samples: Sample[] = [];
  const health: Sample[] = [];
  const healthProbe = job.healthzUrl
    ? setInterval(() => {
        const at = Date.now();
        const t0 = performance.now();
        fetch(job.healthzUrl!, { signal: AbortSignal.timeout(2000) })
          .then(async (res) => {
            await res.arrayBuffer();
            health.push({ at, action: 'healthz', ms: res.ok ? performance.now() - t0 : undefined, ...(res.ok ? {} : { error: String(res.status) }) });
          })
          .catch(() => health.push({ at, action: 'healthz', ms: undefined }));
      }, 1000)
    : undefined;
  let stopping = false;
  let reconnects = -1;
  let connectFailures = 0;
  let ws: WebSocket | undefined;
  let n = 0;
  const pending = new Map<string, (frame: any[]) => void>();
  const timeoutMs = job.callTimeoutMs ?? 10_000;
  const tx = { id: `honest-${Date.now().toString(36)}`, seqNo: 0, legacyId: undefined as number | undefined, energyWh: 0, started: false };

  function connect(): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const auth = 'Basic ' + Buffer.from(`${job.stationId}:${job.password}`).toString('base64');
      const s = new WebSocket(`${job.url}/${job.stationId}`, SUBPROTOCOL[job.version], { headers: { authorization: auth }, handshakeTimeout: 10_000, rejectUnauthorized: false });
      s.once('open', () => resolve(s));
      s.once('error', reject);
      s.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      s.on('message', (data) => {
        let frame: any[];
        try {
          frame = JSON.parse(String(data));
        } catch {
          return;
        }
        if (frame[0] === 2) {
          // The node's own CALLs (e.g. TriggerMessage) get an empty acceptance.
          s.send(JSON.stringify([3, frame[1], { status: 'Accepted' }]));
          return;
        }
        pending.get(frame[1])?.(frame);
      });
      s.on('error', () => undefined);
    });
  }

  async function call(action: string, payload: unknown): Promise<any[] | undefined> {
    const socket = ws;
    if (!socket || socket.readyState !== WebSocket.OPEN) return undefined;
    const id = `h${++n}`;
    const at = Date.now();
    const t0 = performance.now();
    const frame = await new Promise<any[] | undefined>((resolve) => {
      const timer = setTimeout(() => done(undefined), timeoutMs);
      const onClose = () => done(undefined);
      function done(f: any[] | undefined) {
        clearTimeout(timer);
        pending.delete(id);
        socket!.off('close', onClose);
        resolve(f);
      }
      pending.set(id, done);
      socket.once('close', onClose);
      socket.send(JSON.stringify([2, id, action, payload]));
    });
    samples.push({ at, action, ms: frame ? performance.now() - t0 : undefined, ...(frame?.[0] === 4 ? { error: String(frame[2]) } : {}) });
    return frame;
  }

  const now = () => new Date().toISOString();
  const meter = () => {
    tx.energyWh += 50;
    return [{ timestamp: now(), sampledValue: job.version === '1.6' ? [{ value: String(tx.energyWh), measurand: 'Energy.Active.Import.Register', unit: 'Wh' }] : [{ value: tx.energyWh, measurand: 'Energy.Active.Import.Register' }] }];
  };

  async function session() {
    await call('BootNotification', BOOT[job.version]);
    if (job.heartbeatsOnly || tx.started) return;
    if (job.version === '1.6') {
      await call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Preparing' });
      const r = await call('StartTransaction', { connectorId: 1, idTag: job.idToken, meterStart: 0, timestamp: now() });
      tx.legacyId = r?.[0] === 3 ? r[2]?.transactionId : undefined;
    } else {
      await call('StatusNotification', { timestamp: now(), connectorStatus: 'Occupied', evseId: 1, connectorId: 1 });
      await call('TransactionEvent', { eventType: 'Started', timestamp: now(), triggerReason: 'Authorized', seqNo: tx.seqNo++, transactionInfo: { transactionId: tx.id, chargingState: 'Charging' }, idToken: { idToken: job.idToken, type: 'ISO14443' }, evse: { id: 1, connectorId: 1 }, meterValue: meter() });
    }
    tx.started = true;
  }

  async function meterValues() {
    if (job.version === '1.6') await call('MeterValues', { connectorId: 1, ...(tx.legacyId !== undefined ? { transactionId: tx.legacyId } : {}), meterValue: meter() });
    else await call('TransactionEvent', { eventType: 'Updated', timestamp: now(), triggerReason: 'MeterValuePeriodic', seqNo: tx.seqNo++, transactionInfo: { transactionId: tx.id, chargingState: 'Charging' }, meterValue: meter() });
  }

  const loop = (async () => {
    let i = 0;
    while (!stopping) {
      if (!ws || ws.readyState !== WebSocket.OPEN) {
        try {
          ws = await connect();
          reconnects++;
          await session();
        } catch {
          connectFailures++;
          await sleep(500);
          continue;
        }
      }
      if (!job.heartbeatsOnly && ++i % 5 === 0) await meterValues();
      else await call('Heartbeat', {});
      await sleep(job.intervalMs);
    }
    if (!job.heartbeatsOnly && tx.started) {
      if (job.version === '1.6') await call('StopTransaction', { transactionId: tx.legacyId ?? 0, meterStop: tx.energyWh, timestamp: now(), reason: 'Local' });
      else await call('TransactionEvent', { eventType: 'Ended', timestamp: now(), triggerReason: 'StopAuthorized', seqNo: tx.seqNo++, transactionInfo: { transactionId: tx.id, stoppedReason: 'Local' }, meterValue: meter() });
    }
    ws?.close();
  })();

  return {
    async stop() {
      stopping = true;
      clearInterval(healthProbe);
      await loop;
      return { samples, health, reconnects: Math.max(0, reconnects), connectFailures };
    },
  };
}

// Forked: a job in; `stop` out of the parent answers with the report.
if (process.send && process.argv.includes('--honest')) {
  let running: ReturnType<typeof startHonest> | undefined;
  process.on('message', (m: { job?: HonestJob; stop?: boolean }) => {
    if (m.job) running = startHonest(m.job);
    if (m.stop && running) void running.stop().then((r) => process.send!({ report: r }, () => process.exit(0)));
  });
  process.send({ ready: true });
}
