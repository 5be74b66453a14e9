/** Shared set-up for monitor tests: a real SQLite database, a real bus, an injected clock. */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalBus, type Bus } from '../../src/bus/index.js';
import { Topics } from '../../src/bus/events.js';
import { migrate, openDatabase, type Database } from '../../src/store/index.js';
import { createMonitor, monitorMigrations, signOcmf, type Monitor, type MonitorConfig, type RecordedAction, type ResponseActions } from '../../src/monitor/index.js';

export class Clock {
  t: number;
  constructor(iso = '2025-03-01T08:00:00.000Z') {
    this.t = Date.parse(iso);
  }
  now = () => new Date(this.t);
  iso = () => new Date(this.t).toISOString();
  advance(seconds: number) {
    this.t += seconds * 1000;
  }
}

export interface Call { kind: string; args: unknown[] }

export interface Harness {
  monitor: Monitor;
  bus: Bus;
  clock: Clock;
  database: Database;
  calls: Call[];
  dir: string;
  close(): Promise<void>;
}

export function recordingActions(calls: Call[], failing: string[] = []): ResponseActions {
  const act = (kind: string) => async (...args: unknown[]) => {
    calls.push({ kind, args });
    if (failing.includes(kind)) throw new Error(`${kind} failed on purpose`);
  };
  return {
    lockOut: act('lockOut'), quarantine: act('quarantine'), setUnavailable: act('setUnavailable'),
    revokeCertificate: act('revokeCertificate'), disconnect: act('disconnect'),
    undo: async (a: RecordedAction, by: string) => void calls.push({ kind: 'undo', args: [a, by] }),
  };
}

export async function openHarness(config: Omit<MonitorConfig, 'now'> = {}, opts: { dir?: string; clock?: Clock; failing?: string[] } = {}): Promise<Harness> {
  const dir = opts.dir ?? mkdtempSync(path.join(tmpdir(), 'evg-monitor-'));
  const database = await openDatabase({ dataDir: dir });
  await migrate(database, monitorMigrations);
  const bus = createLocalBus();
  const clock = opts.clock ?? new Clock();
  const calls: Call[] = [];
  const monitor = await createMonitor({ db: database, bus, actions: recordingActions(calls, opts.failing) }, { ...config, now: clock.now });
  return {
    monitor, bus, clock, database, calls, dir,
    async close() {
      await monitor.close();
      await bus.close();
      await database.close();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Publishes what the transport and domain would publish. */
export function station(h: Pick<Harness, 'bus' | 'clock'>, stationId: string) {
  const { bus, clock } = h;
  return {
    connect: (remoteAddress = '10.0.0.1', securityProfile: 1 | 2 | 3 = 2) => bus.publish(Topics.stationConnected, { stationId, ocppVersion: '2.0.1', securityProfile, remoteAddress, nodeId: 'n1' }, stationId),
    disconnect: () => bus.publish(Topics.stationDisconnected, { stationId, code: 1000, reason: 'bye' }, stationId),
    boot: (firmwareVersion = '1.0.0') => bus.publish(Topics.stationBooted, { stationId, vendor: 'V', model: 'M', firmwareVersion, status: 'Accepted', reason: 'PowerUp' }, stationId),
    status: (status = 'Available', timestamp = clock.iso()) => bus.publish(Topics.connectorStatus, { stationId, evseId: 1, connectorId: 1, status, timestamp }, stationId),
    event: (type: string, techInfo?: string, timestamp = clock.iso()) => bus.publish(Topics.securityEvent, { id: 0, stationId, type, source: 'station', critical: false, techInfo, timestamp }, stationId),
    csms: (type: string, remoteAddress = '10.0.0.1', techInfo?: string) => bus.publish(Topics.securityEvent, { id: 0, stationId, type, source: 'csms', critical: false, techInfo, remoteAddress, timestamp: clock.iso() }, stationId),
    firmware: (status: string) => bus.publish(Topics.firmwareStatus, { stationId, status, requestId: 1, signed: false }, stationId),
    tx: (transactionId: string, eventType: 'Started' | 'Updated' | 'Ended', seqNo: number, extra: Record<string, unknown> = {}) =>
      bus.publish(Topics.transactionChanged, { stationId, transactionId, eventType, seqNo, timestamp: clock.iso(), evseId: 1, connectorId: 1, ...extra }, stationId),
  };
}

/** A meter that signs OCMF datasets with its own key, counting pages as a real one does. */
export function ocmfMeter(serial: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const publicKeyB64 = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  let page = 0;
  return {
    serial,
    publicKeyB64,
    async sign(rvKwh: number, reason: 'B' | 'E' | 'T', over: Record<string, unknown> = {}, reading: Record<string, unknown> = {}) {
      page++;
      const payload = {
        FV: '1.0', GI: 'SIM', GS: '1', GV: '1.0', PG: `T${page}`, MV: 'Sim', MM: 'M1', MS: serial, IS: true, IL: 'VERIFIED', IF: ['OCPP_RS_TLS'], IT: 'ISO14443', ID: '04A1B2C3',
        RD: [{ TM: '2025-03-01T08:00:00,000+0000 S', TX: reason, RV: rvKwh, RI: '01-00:B2.08.00*FF', RU: 'kWh', ST: 'G', ...reading }],
        ...over,
      };
      const raw = await signOcmf(payload, pem);
      return { raw, entry: { signedMeterData: Buffer.from(raw).toString('base64'), signingMethod: 'ECDSA-secp256r1-SHA256', encodingMethod: 'OCMF', publicKey: publicKeyB64 } };
    },
  };
}

/**
 * A normal day for a fleet: connections, boots, status, transactions with
 * plausible and signed meter values, a firmware update, a reconnection, an
 * exact retransmission, and the odd single failed login or invalid frame.
 */
export async function normalFleet(h: Harness, stations = 12): Promise<void> {
  const ids = Array.from({ length: stations }, (_, i) => `CS-${String(i + 1).padStart(3, '0')}`);
  const meters = new Map(ids.map((id) => [id, ocmfMeter(`MTR-${id}`)]));
  ids.forEach((id, i) => {
    const s = station(h, id);
    s.connect(`10.1.0.${i + 1}`, 2);
    s.boot('1.0.0');
    s.event('StartupOfTheDevice');
    s.status('Available');
    h.clock.advance(2);
  });
  let tx = 0;
  for (let round = 0; round < 3; round++) {
    for (const [i, id] of ids.entries()) {
      const s = station(h, id);
      const meter = meters.get(id)!;
      const transactionId = `TX-${++tx}`;
      let wh = 10_000 * (round + 1) + i * 100;
      s.status('Occupied');
      s.tx(transactionId, 'Started', 0, { energyWh: wh, powerW: 0, signedMeterValues: [(await meter.sign(wh / 1000, 'B')).entry] });
      for (let seq = 1; seq <= 4; seq++) {
        h.clock.advance(900);
        wh += 2_750; // 11 kW for 15 minutes
        s.tx(transactionId, 'Updated', seq, { energyWh: wh, powerW: 11_000 });
        if (seq === 2) s.tx(transactionId, 'Updated', seq, { energyWh: wh, powerW: 11_000 }); // answer lost, station resends
      }
      h.clock.advance(60);
      s.tx(transactionId, 'Ended', 5, { energyWh: wh, powerW: 0, signedMeterValues: [(await meter.sign(wh / 1000, 'E')).entry] });
      s.status('Available');
      if (round === 1 && i % 4 === 0) s.csms('InvalidStationCredentials', `10.1.0.${i + 1}`);
      if (round === 2 && i % 5 === 0) s.csms('InvalidMessage', `10.1.0.${i + 1}`, 'schema: missing idToken');
    }
  }
  // A planned firmware update on one station, and a reconnection on another.
  const updated = station(h, ids[0]!);
  for (const status of ['Downloading', 'Downloaded', 'SignatureVerified', 'Installing', 'InstallRebooting']) updated.firmware(status);
  updated.disconnect();
  h.clock.advance(120);
  updated.connect('10.1.0.1', 2);
  updated.boot('1.1.0');
  updated.event('FirmwareUpdated');
  updated.firmware('Installed');
  const roaming = station(h, ids[1]!);
  roaming.disconnect();
  h.clock.advance(3600);
  roaming.connect('10.1.0.2', 2);
  roaming.boot('1.0.0');
  await h.monitor.settled();
}
