/**
 * What each OCPP version puts on the wire for the same station behaviour.
 * 1.6 has StartTransaction/StopTransaction/MeterValues with an integer
 * transaction id that the CSMS assigns; 2.0.1 and 2.1 have TransactionEvent
 * with a station-generated id, a per-transaction seqNo, and EVSE/connector
 * addressing. Each connector of the simulator is EVSE n, connector 1.
 */
import type { MeterReading } from './meter.js';
import type { BootResult, ConnectorStatus, OcppVersion } from './types.js';

export interface Outgoing {
  action: string;
  payload: Record<string, unknown>;
}

export interface StationInfo {
  vendor: string;
  model: string;
  firmwareVersion: string;
  serialNumber: string;
}

/** A transaction as the dialects see it; `csmsId` is only known in 1.6 after StartTransaction. */
export interface TxRecord {
  localId: string;
  csmsId?: number;
  connectorId: number;
  idToken: string;
  idTokenType: string;
  remoteStartId?: number;
}

export interface TxEventContext {
  at: Date;
  reading: MeterReading;
  seqNo: number;
  offline: boolean;
}

export interface Dialect {
  bootNotification(info: StationInfo, reason: string): Outgoing;
  bootResult(res: any): BootResult;
  statusNotification(connectorId: number, status: ConnectorStatus, charging: boolean, at: Date): Outgoing;
  authorize(idToken: string, type: string): Outgoing;
  authorizeStatus(res: any): string;
  transactionStarted(tx: TxRecord, ctx: TxEventContext, remote: boolean): Outgoing;
  startResult(res: any): { csmsId?: number; status: string };
  transactionUpdated(tx: TxRecord, ctx: TxEventContext, trigger: 'MeterValuePeriodic' | 'Trigger' | 'ChargingRateChanged'): Outgoing;
  /** Meter values outside a transaction. */
  meterValues(connectorId: number, reading: MeterReading, at: Date): Outgoing;
  transactionEnded(tx: TxRecord, ctx: TxEventContext, reason: string): Outgoing;
  securityEvent(type: string, techInfo: string | undefined, at: Date): Outgoing;
  signCertificate(csr: string): Outgoing;
}

const REASONS_16 = new Set(['EmergencyStop', 'EVDisconnected', 'HardReset', 'Local', 'Other', 'PowerLoss', 'Reboot', 'Remote', 'SoftReset', 'UnlockCommand', 'DeAuthorized']);
const REASONS_2X = new Set([
  'DeAuthorized', 'EmergencyStop', 'EnergyLimitReached', 'EVDisconnected', 'GroundFault', 'ImmediateReset', 'Local',
  'LocalOutOfCredit', 'MasterPass', 'Other', 'OvercurrentFault', 'PowerLoss', 'PowerQuality', 'Reboot', 'Remote',
  'SOCLimitReached', 'StoppedByEV', 'TimeLimitReached', 'Timeout',
]);
const REASON_16_TO_2X: Record<string, string> = { HardReset: 'ImmediateReset', SoftReset: 'Reboot', UnlockCommand: 'Other' };
const REASON_2X_TO_16: Record<string, string> = { ImmediateReset: 'HardReset' };
const ENDED_TRIGGER: Record<string, string> = {
  Remote: 'RemoteStop',
  DeAuthorized: 'Deauthorized',
  EVDisconnected: 'EVDeparted',
  ImmediateReset: 'ResetCommand',
  Reboot: 'ResetCommand',
  EnergyLimitReached: 'EnergyLimitReached',
  TimeLimitReached: 'TimeLimitReached',
};

/** 2.x knows only five connector statuses; the 1.6 ones between plug-in and unplug are all Occupied. */
function status2x(status: ConnectorStatus): string {
  return ['Available', 'Reserved', 'Unavailable', 'Faulted'].includes(status) ? status : 'Occupied';
}

function status16(status: ConnectorStatus, charging: boolean): string {
  if (status === 'Occupied') return charging ? 'Charging' : 'Preparing';
  return status;
}

function sampled16(reading: MeterReading, context: string) {
  return [
    { value: String(reading.energyWh), context, measurand: 'Energy.Active.Import.Register', location: 'Outlet', unit: 'Wh' },
    { value: String(reading.powerW), context, measurand: 'Power.Active.Import', location: 'Outlet', unit: 'W' },
  ];
}

function sampled2x(reading: MeterReading, context: string) {
  return [
    { value: reading.energyWh, context, measurand: 'Energy.Active.Import.Register', location: 'Outlet', unitOfMeasure: { unit: 'Wh' } },
    { value: reading.powerW, context, measurand: 'Power.Active.Import', location: 'Outlet', unitOfMeasure: { unit: 'W' } },
  ];
}

const ocpp16: Dialect = {
  bootNotification: (info) => ({
    action: 'BootNotification',
    payload: {
      chargePointVendor: info.vendor,
      chargePointModel: info.model,
      chargePointSerialNumber: info.serialNumber,
      firmwareVersion: info.firmwareVersion,
    },
  }),
  bootResult: (res) => ({ status: res.status, interval: res.interval }),
  statusNotification: (connectorId, status, charging, at) => ({
    action: 'StatusNotification',
    payload: {
      connectorId,
      errorCode: status === 'Faulted' ? 'OtherError' : 'NoError',
      status: status16(status, charging),
      timestamp: at.toISOString(),
    },
  }),
  authorize: (idToken) => ({ action: 'Authorize', payload: { idTag: idToken } }),
  authorizeStatus: (res) => res.idTagInfo.status,
  transactionStarted: (tx, ctx) => ({
    action: 'StartTransaction',
    payload: { connectorId: tx.connectorId, idTag: tx.idToken, meterStart: ctx.reading.energyWh, timestamp: ctx.at.toISOString() },
  }),
  startResult: (res) => ({ csmsId: res.transactionId, status: res.idTagInfo.status }),
  transactionUpdated: (tx, ctx) => ({
    action: 'MeterValues',
    payload: {
      connectorId: tx.connectorId,
      transactionId: csmsId(tx),
      meterValue: [{ timestamp: ctx.at.toISOString(), sampledValue: sampled16(ctx.reading, 'Sample.Periodic') }],
    },
  }),
  meterValues: (connectorId, reading, at) => ({
    action: 'MeterValues',
    payload: { connectorId, meterValue: [{ timestamp: at.toISOString(), sampledValue: sampled16(reading, 'Sample.Periodic') }] },
  }),
  transactionEnded: (tx, ctx, reason) => {
    const mapped = REASON_2X_TO_16[reason] ?? (REASONS_16.has(reason) ? reason : 'Other');
    return {
      action: 'StopTransaction',
      payload: {
        transactionId: csmsId(tx),
        idTag: tx.idToken,
        meterStop: ctx.reading.energyWh,
        timestamp: ctx.at.toISOString(),
        // 1.6 §6.47: reason Local is the default and may be omitted.
        ...(mapped === 'Local' ? {} : { reason: mapped }),
        transactionData: [{ timestamp: ctx.at.toISOString(), sampledValue: sampled16(ctx.reading, 'Transaction.End').slice(0, 1) }],
      },
    };
  },
  securityEvent: (type, techInfo, at) => ({
    action: 'SecurityEventNotification',
    payload: { type, timestamp: at.toISOString(), ...(techInfo === undefined ? {} : { techInfo }) },
  }),
  signCertificate: (csr) => ({ action: 'SignCertificate', payload: { csr } }),
};

const ocpp2x: Dialect = {
  bootNotification: (info, reason) => ({
    action: 'BootNotification',
    payload: {
      reason,
      chargingStation: {
        model: info.model,
        vendorName: info.vendor,
        firmwareVersion: info.firmwareVersion,
        serialNumber: info.serialNumber,
      },
    },
  }),
  bootResult: (res) => ({ status: res.status, interval: res.interval }),
  statusNotification: (connectorId, status, _charging, at) => ({
    action: 'StatusNotification',
    payload: { timestamp: at.toISOString(), connectorStatus: status2x(status), evseId: connectorId, connectorId: 1 },
  }),
  authorize: (idToken, type) => ({ action: 'Authorize', payload: { idToken: { idToken, type } } }),
  authorizeStatus: (res) => res.idTokenInfo.status,
  transactionStarted: (tx, ctx, remote) => ({
    action: 'TransactionEvent',
    payload: {
      eventType: 'Started',
      timestamp: ctx.at.toISOString(),
      triggerReason: remote ? 'RemoteStart' : 'Authorized',
      seqNo: ctx.seqNo,
      ...(ctx.offline ? { offline: true } : {}),
      transactionInfo: {
        transactionId: tx.localId,
        chargingState: 'Charging',
        ...(tx.remoteStartId === undefined ? {} : { remoteStartId: tx.remoteStartId }),
      },
      evse: { id: tx.connectorId, connectorId: 1 },
      idToken: { idToken: tx.idToken, type: tx.idTokenType },
      meterValue: [{ timestamp: ctx.at.toISOString(), sampledValue: sampled2x(ctx.reading, 'Transaction.Begin') }],
    },
  }),
  // A TransactionEventResponse without idTokenInfo leaves the token's status as it was.
  startResult: (res) => ({ status: res.idTokenInfo?.status ?? 'Accepted' }),
  transactionUpdated: (tx, ctx, trigger) => ({
    action: 'TransactionEvent',
    payload: {
      eventType: 'Updated',
      timestamp: ctx.at.toISOString(),
      triggerReason: trigger,
      seqNo: ctx.seqNo,
      ...(ctx.offline ? { offline: true } : {}),
      transactionInfo: { transactionId: tx.localId, chargingState: 'Charging' },
      meterValue: [{ timestamp: ctx.at.toISOString(), sampledValue: sampled2x(ctx.reading, trigger === 'Trigger' ? 'Trigger' : 'Sample.Periodic') }],
    },
  }),
  meterValues: (connectorId, reading, at) => ({
    action: 'MeterValues',
    payload: { evseId: connectorId, meterValue: [{ timestamp: at.toISOString(), sampledValue: sampled2x(reading, 'Sample.Periodic') }] },
  }),
  transactionEnded: (tx, ctx, reason) => {
    const mapped = REASON_16_TO_2X[reason] ?? (REASONS_2X.has(reason) ? reason : 'Other');
    return {
      action: 'TransactionEvent',
      payload: {
        eventType: 'Ended',
        timestamp: ctx.at.toISOString(),
        triggerReason: ENDED_TRIGGER[mapped] ?? (reason === 'UnlockCommand' ? 'UnlockCommand' : 'StopAuthorized'),
        seqNo: ctx.seqNo,
        ...(ctx.offline ? { offline: true } : {}),
        transactionInfo: { transactionId: tx.localId, chargingState: 'Idle', stoppedReason: mapped },
        meterValue: [{ timestamp: ctx.at.toISOString(), sampledValue: sampled2x(ctx.reading, 'Transaction.End').slice(0, 1) }],
      },
    };
  },
  securityEvent: (type, techInfo, at) => ({
    action: 'SecurityEventNotification',
    payload: { type, timestamp: at.toISOString(), ...(techInfo === undefined ? {} : { techInfo }) },
  }),
  signCertificate: (csr) => ({ action: 'SignCertificate', payload: { csr, certificateType: 'ChargingStationCertificate' } }),
};

function csmsId(tx: TxRecord): number {
  // A 1.6 MeterValues/StopTransaction needs the id from StartTransaction; if
  // that was lost there is nothing valid to send.
  if (tx.csmsId === undefined) throw new Error(`transaction ${tx.localId} has no CSMS transaction id`);
  return tx.csmsId;
}

export function dialectFor(version: OcppVersion): Dialect {
  return version === '1.6' ? ocpp16 : ocpp2x;
}
