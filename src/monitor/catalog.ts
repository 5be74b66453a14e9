/**
 * The OCPP security event catalogue: which event types each OCPP version
 * defines and which of them the specification marks critical (critical events
 * are the ones a station must push to the CSMS instead of only logging them).
 *
 * Sources: OCPP 1.6 Security Whitepaper (edition 3), appendix "Security events";
 * OCPP 2.0.1 Part 2 Appendices v1.4 (edition 3), appendix 1; OCPP 2.1
 * appendices, which add DiscardedRenewedClientCertificate. Types outside these
 * lists (vendor events) are valid and kept; they are simply not critical.
 */
import type { OcppVersion } from '../model/ocpp-version.js';

const V16: Record<string, boolean> = {
  FirmwareUpdated: true,
  FailedToAuthenticateAtCentralSystem: false,
  CentralSystemFailedToAuthenticate: false,
  SettingSystemTime: true,
  StartupOfTheDevice: true,
  ResetOrReboot: true,
  SecurityLogWasCleared: true,
  ReconfigurationOfSecurityParameters: false,
  MemoryExhaustion: true,
  InvalidMessages: false,
  AttemptedReplayAttacks: false,
  TamperDetectionActivated: true,
  InvalidFirmwareSignature: false,
  InvalidFirmwareSigningCertificate: false,
  InvalidCentralSystemCertificate: false,
  InvalidChargePointCertificate: false,
  InvalidTLSVersion: false,
  InvalidTLSCipherSuite: false,
};

// 2.0.1 edition 3 (appendix v1.3 onwards) marks the certificate and TLS events
// critical as well, and adds the maintenance-interface logins.
const V201: Record<string, boolean> = {
  FirmwareUpdated: true,
  FailedToAuthenticateAtCsms: false,
  CsmsFailedToAuthenticate: false,
  SettingSystemTime: true,
  StartupOfTheDevice: true,
  ResetOrReboot: true,
  SecurityLogWasCleared: true,
  ReconfigurationOfSecurityParameters: false,
  MemoryExhaustion: true,
  InvalidMessages: false,
  AttemptedReplayAttacks: false,
  TamperDetectionActivated: true,
  InvalidFirmwareSignature: true,
  InvalidFirmwareSigningCertificate: true,
  InvalidCsmsCertificate: true,
  InvalidChargingStationCertificate: true,
  InvalidTLSVersion: true,
  InvalidTLSCipherSuite: true,
  MaintenanceLoginAccepted: true,
  MaintenanceLoginFailed: true,
};

const V21: Record<string, boolean> = { ...V201, DiscardedRenewedClientCertificate: true };

const CATALOGUE: Record<OcppVersion, Readonly<Record<string, boolean>>> = {
  '1.6': Object.freeze(V16),
  '2.0.1': Object.freeze(V201),
  '2.1': Object.freeze(V21),
};

/**
 * 1.6 and 2.x name the same events differently; detectors match on the 2.x
 * name so they never branch on version.
 */
const CANONICAL: Readonly<Record<string, string>> = Object.freeze({
  FailedToAuthenticateAtCentralSystem: 'FailedToAuthenticateAtCsms',
  CentralSystemFailedToAuthenticate: 'CsmsFailedToAuthenticate',
  InvalidCentralSystemCertificate: 'InvalidCsmsCertificate',
  InvalidChargePointCertificate: 'InvalidChargingStationCertificate',
});

/** Event types the CSMS itself records (`source: 'csms'`). */
export const CSMS_EVENT_TYPES = Object.freeze([
  'InvalidStationCredentials',
  'UnknownStation',
  'SecurityProfileDowngrade',
  'DuplicateIdentity',
  'InvalidMessage',
  'ReplayedMessageId',
  'ClientCertificateRejected',
  'RateLimited',
  'StaleTimestamp',
  'GridCommandRefused',
  'CsrRejected',
  'CertificateExpiring',
  'IndicatorSighted',
  'BlockedByIndicator',
  'SessionRevoked',
] as const);

/** Critical CSMS-observed events, by our own policy (the specification covers only station events). */
const CSMS_CRITICAL: ReadonlySet<string> = new Set(['SecurityProfileDowngrade', 'DuplicateIdentity']);

export function isCritical(type: string, ocppVersion: OcppVersion): boolean {
  const table = CATALOGUE[ocppVersion];
  return table !== undefined && Object.hasOwn(table, type) && table[type] === true;
}

export function isCsmsCritical(type: string): boolean {
  return CSMS_CRITICAL.has(type);
}

/** Whether `type` is one of the events the given version's specification lists. */
export function isStandardEvent(type: string, ocppVersion: OcppVersion): boolean {
  const table = CATALOGUE[ocppVersion];
  return table !== undefined && Object.hasOwn(table, type);
}

export function canonicalEventType(type: string): string {
  return Object.hasOwn(CANONICAL, type) ? CANONICAL[type]! : type;
}

export function standardEventTypes(ocppVersion: OcppVersion): string[] {
  return Object.keys(CATALOGUE[ocppVersion] ?? {});
}
