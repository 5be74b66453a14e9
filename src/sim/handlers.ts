/**
 * How the simulated station answers CSMS→station calls, per OCPP version.
 * Each handler answers first and acts after the answer has gone out
 * (afterReply), as a real station does: a RemoteStart is Accepted, then the
 * transaction starts. Tests and the probe replace any of these with
 * station.handle(action, fn).
 */
import { certificateHashData, isCertificate, type CertificateHashData } from './certificates.js';
import type { BootResult, IncomingHandler, OcppVersion, StartChargingOptions } from './types.js';
import type { DeviceModel, SimVariable } from './variables.js';
import { installFirmwareHandlers, type FirmwareHost } from './firmware.js';

export interface InstalledCertificate {
  certificateType: string;
  pem: string;
  hash: CertificateHashData;
}

/** What the handlers may do to the station. */
export interface StationControl extends FirmwareHost {
  readonly id: string;
  readonly ocppVersion: OcppVersion;
  readonly connectorCount: number;
  readonly variables: DeviceModel;
  afterReply(task: () => Promise<unknown>): void;
  hasTransaction(connectorId: number): boolean;
  isOperative(connectorId: number): boolean;
  connectorOfTransaction(transactionId: string): number | undefined;
  freeConnector(): number | undefined;
  startCharging(opts: StartChargingOptions): Promise<unknown>;
  stopCharging(connectorId: number, reason?: string): Promise<void>;
  setOperative(connectorId: number, operative: boolean): Promise<void>;
  setChargingLimit(connectorId: number, limitW: number | undefined): void;
  reset(hard: boolean, whenIdle?: boolean): Promise<void>;
  boot(reason?: string): Promise<BootResult>;
  heartbeat(): Promise<void>;
  reportStatus(connectorId: number): Promise<void>;
  sendMeterValues(connectorId: number, trigger?: 'Trigger'): Promise<void>;
  requestCertificate(): Promise<void>;
  acceptCertificateChain(chain: string): 'Accepted' | 'Rejected';
  installedCertificates(): InstalledCertificate[];
  call(action: string, payload: unknown): Promise<unknown>;
}

type Table = Map<string, IncomingHandler>;

export function installDefaultHandlers(station: StationControl, table: Table): void {
  common(station, table);
  if (station.ocppVersion === '1.6') ocpp16(station, table);
  else ocpp2x(station, table);
  installFirmwareHandlers(station, table);
}

function connectorIds(station: StationControl, connectorId: number | undefined): number[] {
  if (!connectorId) return Array.from({ length: station.connectorCount }, (_, i) => i + 1);
  return connectorId <= station.connectorCount ? [connectorId] : [];
}

/** First period's limit of a charging schedule in W; amperes at 230 V per phase (3 phases unless stated). */
function limitOf(schedule: any): number | undefined {
  const period = schedule?.chargingSchedulePeriod?.[0];
  if (!period || typeof period.limit !== 'number') return undefined;
  return schedule.chargingRateUnit === 'A' ? period.limit * 230 * (period.numberPhases ?? 3) : period.limit;
}

const scheduleTimers = new WeakMap<StationControl, Map<number, NodeJS.Timeout[]>>();

/**
 * Follows a charging schedule over time: the period in force now, then each
 * later period and the end of `duration` on timers. With 2.1 randomizedDelay
 * the station delays every period after the first by its own random 0..delay s
 * (the first, a hold, starts at once). One schedule per connector; a newer one replaces it.
 */
function applySchedule(station: StationControl, connectorId: number, schedule: any): void {
  let timers = scheduleTimers.get(station);
  if (!timers) scheduleTimers.set(station, (timers = new Map()));
  for (const t of timers.get(connectorId) ?? []) clearTimeout(t);
  timers.set(connectorId, []);
  const periods: any[] = Array.isArray(schedule?.chargingSchedulePeriod) ? schedule.chargingSchedulePeriod.slice(0, 64) : [];
  const nowMs = Date.now();
  const startMs = Date.parse(schedule?.startSchedule) || nowMs;
  const delayMs = Number(schedule?.randomizedDelay) > 0 ? Number(schedule.randomizedDelay) * 1000 : 0;
  const steps = periods.map((p, i) => ({
    atMs: startMs + (Number(p?.startPeriod) || 0) * 1000 + (i > 0 ? Math.random() * delayMs : 0),
    limitW: limitOf({ chargingRateUnit: schedule.chargingRateUnit, chargingSchedulePeriod: [p] }),
  }));
  if (typeof schedule?.duration === 'number') steps.push({ atMs: startMs + schedule.duration * 1000, limitW: undefined });
  steps.sort((a, b) => a.atMs - b.atMs);
  const current = steps.filter((s) => s.atMs <= nowMs).pop() ?? steps[0];
  station.setChargingLimit(connectorId, current?.limitW);
  for (const step of steps) {
    if (step.atMs <= nowMs || step.atMs - nowMs > 86_400_000) continue;
    const t = setTimeout(() => station.setChargingLimit(connectorId, step.limitW), step.atMs - nowMs);
    t.unref();
    timers.get(connectorId)!.push(t);
  }
}

function sameHash(a: CertificateHashData, b: any): boolean {
  return a.hashAlgorithm === b?.hashAlgorithm && a.issuerNameHash === String(b?.issuerNameHash).toLowerCase()
    && a.issuerKeyHash === String(b?.issuerKeyHash).toLowerCase()
    && a.serialNumber === String(b?.serialNumber).toLowerCase().replace(/^0+(?=.)/, '');
}

function common(station: StationControl, table: Table): void {
  const v16 = station.ocppVersion === '1.6';

  table.set('Reset', ({ type }) => {
    const hard = type === 'Hard' || type === 'Immediate' || type === 'ImmediateAndResume';
    const busy = connectorIds(station, undefined).some((c) => station.hasTransaction(c));
    const whenIdle = type === 'OnIdle';
    station.afterReply(() => station.reset(hard, whenIdle));
    return { status: whenIdle && busy ? 'Scheduled' : 'Accepted' };
  });

  table.set('ChangeAvailability', (params) => {
    const connectorId: number = v16 ? params.connectorId : (params.evse?.id ?? 0);
    const operative = (v16 ? params.type : params.operationalStatus) === 'Operative';
    if (connectorId > station.connectorCount) return { status: 'Rejected' };
    const ids = connectorIds(station, connectorId);
    const scheduled = !operative && ids.some((c) => station.hasTransaction(c));
    station.afterReply(() => station.setOperative(connectorId, operative));
    return { status: scheduled ? 'Scheduled' : 'Accepted' };
  });

  table.set('UnlockConnector', (params) => {
    const connectorId: number = v16 ? params.connectorId : params.evseId;
    if (connectorId < 1 || connectorId > station.connectorCount) return { status: v16 ? 'NotSupported' : 'UnknownConnector' };
    if (station.hasTransaction(connectorId)) {
      station.afterReply(() => station.stopCharging(connectorId, 'UnlockCommand'));
    }
    return { status: 'Unlocked' };
  });

  table.set('CertificateSigned', (params) => {
    if (params.certificateType !== undefined && params.certificateType !== 'ChargingStationCertificate') return { status: 'Rejected' };
    return { status: station.acceptCertificateChain(params.certificateChain) };
  });

  table.set('InstallCertificate', ({ certificateType, certificate }) => {
    if (!isCertificate(certificate)) return { status: 'Rejected' };
    const hash = certificateHashData(certificate);
    const list = station.installedCertificates();
    if (!list.some((c) => sameHash(c.hash, hash))) list.push({ certificateType, pem: certificate, hash });
    return { status: 'Accepted' };
  });

  table.set('DeleteCertificate', ({ certificateHashData: wanted }) => {
    const list = station.installedCertificates();
    const at = list.findIndex((c) => sameHash(c.hash, wanted));
    if (at < 0) return { status: 'NotFound' };
    list.splice(at, 1);
    return { status: 'Accepted' };
  });

  table.set('DataTransfer', () => ({ status: 'UnknownVendorId' }));
  table.set('ClearChargingProfile', () => {
    for (const list of scheduleTimers.get(station)?.values() ?? []) for (const t of list) clearTimeout(t);
    station.setChargingLimit(0, undefined);
    return { status: 'Accepted' };
  });
}

function ocpp16(station: StationControl, table: Table): void {
  const publicValue = (e: SimVariable) => ({ key: e.key16!, readonly: e.mutability === 'ReadOnly', value: e.value });

  table.set('GetConfiguration', ({ key }) => {
    const readable = station.variables.all().filter((e) => e.key16 && e.mutability !== 'WriteOnly');
    if (!key || key.length === 0) return { configurationKey: readable.map(publicValue) };
    const found = readable.filter((e) => key.includes(e.key16));
    const unknownKey = key.filter((k: string) => !found.some((e) => e.key16 === k));
    return { configurationKey: found.map(publicValue), ...(unknownKey.length ? { unknownKey } : {}) };
  });

  table.set('ChangeConfiguration', ({ key, value }) => {
    const entry = station.variables.byKey16(key);
    if (!entry) return { status: 'NotSupported' };
    return { status: station.variables.set(entry, value) };
  });

  table.set('RemoteStartTransaction', ({ connectorId, idTag }) => {
    const target = connectorId ?? station.freeConnector();
    if (!target || target > station.connectorCount || station.hasTransaction(target) || !station.isOperative(target)) return { status: 'Rejected' };
    station.afterReply(() => station.startCharging({ connectorId: target, idToken: idTag }));
    return { status: 'Accepted' };
  });

  table.set('RemoteStopTransaction', ({ transactionId }) => {
    const connectorId = station.connectorOfTransaction(String(transactionId));
    if (connectorId === undefined) return { status: 'Rejected' };
    station.afterReply(() => station.stopCharging(connectorId, 'Remote'));
    return { status: 'Accepted' };
  });

  table.set('SetChargingProfile', ({ connectorId, csChargingProfiles }) => {
    if (connectorId > station.connectorCount) return { status: 'Rejected' };
    applySchedule(station, connectorId, csChargingProfiles.chargingSchedule);
    return { status: 'Accepted' };
  });

  const trigger = (requestedMessage: string, connectorId: number | undefined): string => {
    const ids = connectorIds(station, connectorId);
    const send: Record<string, () => Promise<unknown>> = {
      BootNotification: () => station.boot(),
      Heartbeat: () => station.heartbeat(),
      StatusNotification: async () => { for (const c of ids) await station.reportStatus(c); },
      MeterValues: async () => { for (const c of ids) await station.sendMeterValues(c, 'Trigger'); },
      DiagnosticsStatusNotification: () => station.call('DiagnosticsStatusNotification', { status: 'Idle' }),
      FirmwareStatusNotification: () => station.call('FirmwareStatusNotification', { status: 'Idle' }),
      LogStatusNotification: () => station.call('LogStatusNotification', { status: 'Idle' }),
      SignChargePointCertificate: () => station.requestCertificate(),
    };
    const task = send[requestedMessage];
    if (!task || ids.length === 0) return ids.length === 0 ? 'Rejected' : 'NotImplemented';
    station.afterReply(task);
    return 'Accepted';
  };

  table.set('TriggerMessage', ({ requestedMessage, connectorId }) => {
    if (requestedMessage === 'LogStatusNotification' || requestedMessage === 'SignChargePointCertificate') return { status: 'NotImplemented' };
    return { status: trigger(requestedMessage, connectorId) };
  });
  table.set('ExtendedTriggerMessage', ({ requestedMessage, connectorId }) => ({ status: trigger(requestedMessage, connectorId) }));

  table.set('GetInstalledCertificateIds', ({ certificateType }) => {
    const found = station.installedCertificates().filter((c) => c.certificateType === certificateType);
    return found.length ? { status: 'Accepted', certificateHashData: found.map((c) => c.hash) } : { status: 'NotFound' };
  });
}

function ocpp2x(station: StationControl, table: Table): void {
  table.set('GetVariables', ({ getVariableData }) => ({
    getVariableResult: getVariableData.map((item: any) => {
      const base = { component: item.component, variable: item.variable, ...(item.attributeType ? { attributeType: item.attributeType } : {}) };
      if (!station.variables.hasComponent(item.component.name)) return { ...base, attributeStatus: 'UnknownComponent' };
      const entry = station.variables.byName(item.component.name, item.variable.name);
      if (!entry) return { ...base, attributeStatus: 'UnknownVariable' };
      if (item.attributeType && item.attributeType !== 'Actual') return { ...base, attributeStatus: 'NotSupportedAttributeType' };
      if (entry.mutability === 'WriteOnly') return { ...base, attributeStatus: 'Rejected' };
      return { ...base, attributeStatus: 'Accepted', attributeValue: entry.value };
    }),
  }));

  table.set('SetVariables', ({ setVariableData }) => ({
    setVariableResult: setVariableData.map((item: any) => {
      const base = { component: item.component, variable: item.variable, ...(item.attributeType ? { attributeType: item.attributeType } : {}) };
      if (!station.variables.hasComponent(item.component.name)) return { ...base, attributeStatus: 'UnknownComponent' };
      const entry = station.variables.byName(item.component.name, item.variable.name);
      if (!entry) return { ...base, attributeStatus: 'UnknownVariable' };
      if (item.attributeType && item.attributeType !== 'Actual') return { ...base, attributeStatus: 'NotSupportedAttributeType' };
      return { ...base, attributeStatus: station.variables.set(entry, item.attributeValue) };
    }),
  }));

  table.set('GetBaseReport', ({ requestId }) => {
    const reportData = station.variables.all().map((e) => ({
      component: { name: e.component! },
      variable: { name: e.variable! },
      variableAttribute: [{ type: 'Actual', mutability: e.mutability, ...(e.mutability === 'WriteOnly' ? {} : { value: e.value }) }],
      variableCharacteristics: { dataType: e.dataType, supportsMonitoring: false },
    }));
    station.afterReply(() => station.call('NotifyReport', { requestId, generatedAt: new Date().toISOString(), seqNo: 0, tbc: false, reportData }));
    return { status: 'Accepted' };
  });

  table.set('RequestStartTransaction', ({ evseId, idToken, remoteStartId }) => {
    const target = evseId ?? station.freeConnector();
    if (!target || target > station.connectorCount || station.hasTransaction(target) || !station.isOperative(target)) return { status: 'Rejected' };
    station.afterReply(() => station.startCharging({ connectorId: target, idToken: idToken.idToken, idTokenType: idToken.type, remoteStartId }));
    return { status: 'Accepted' };
  });

  table.set('RequestStopTransaction', ({ transactionId }) => {
    const connectorId = station.connectorOfTransaction(transactionId);
    if (connectorId === undefined) return { status: 'Rejected' };
    station.afterReply(() => station.stopCharging(connectorId, 'Remote'));
    return { status: 'Accepted' };
  });

  table.set('SetChargingProfile', ({ evseId, chargingProfile }) => {
    if (evseId > station.connectorCount) return { status: 'Rejected' };
    applySchedule(station, evseId, chargingProfile.chargingSchedule?.[0]);
    return { status: 'Accepted' };
  });

  table.set('TriggerMessage', ({ requestedMessage, evse }) => {
    const ids = connectorIds(station, evse?.id);
    if (ids.length === 0) return { status: 'Rejected' };
    const withTx = ids.filter((c) => station.hasTransaction(c));
    const send: Record<string, () => Promise<unknown>> = {
      BootNotification: () => station.boot('Triggered'),
      Heartbeat: () => station.heartbeat(),
      StatusNotification: async () => { for (const c of ids) await station.reportStatus(c); },
      MeterValues: async () => { for (const c of ids) await station.sendMeterValues(c, 'Trigger'); },
      TransactionEvent: async () => { for (const c of withTx) await station.sendMeterValues(c, 'Trigger'); },
      FirmwareStatusNotification: () => station.call('FirmwareStatusNotification', { status: 'Idle' }),
      LogStatusNotification: () => station.call('LogStatusNotification', { status: 'Idle' }),
      SignChargingStationCertificate: () => station.requestCertificate(),
    };
    const task = send[requestedMessage];
    if (!task) return { status: 'NotImplemented' };
    if (requestedMessage === 'TransactionEvent' && withTx.length === 0) return { status: 'Rejected' };
    station.afterReply(task);
    return { status: 'Accepted' };
  });

  table.set('GetInstalledCertificateIds', ({ certificateType }) => {
    const wanted: string[] | undefined = certificateType;
    const found = station.installedCertificates().filter((c) => !wanted || wanted.includes(c.certificateType));
    if (found.length === 0) return { status: 'NotFound' };
    return {
      status: 'Accepted',
      certificateHashDataChain: found.map((c) => ({ certificateType: c.certificateType, certificateHashData: c.hash })),
    };
  });
}
