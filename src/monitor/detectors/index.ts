/** The detector table: one entry per detector, keyed by name, with its default thresholds. */
import { bruteForceDefaults, createBruteForceDetector } from './brute-force.js';
import { clockSkewDefaults, createClockSkewDetector } from './clock-skew.js';
import { createCriticalEventDetector, criticalEventDefaults } from './critical-event.js';
import { certificateExpiryDefaults, createCertificateExpiryDetector, createThreatIndicatorDetector, threatIndicatorDefaults } from './csms-findings.js';
import { createDowngradeDetector, downgradeDefaults } from './downgrade.js';
import { createDuplicateIdentityDetector, duplicateIdentityDefaults } from './duplicate-identity.js';
import { createFirmwareCertificateDetector, firmwareCertificateDefaults } from './firmware-certificate.js';
import { createFlappingDetector, flappingDefaults } from './flapping.js';
import { createInvalidFloodDetector, invalidFloodDefaults } from './invalid-flood.js';
import { createLoadSwingDetector, loadSwingDefaults } from './load-swing.js';
import { createMeterPlausibilityDetector, meterPlausibilityDefaults, type ConnectorPowerLookup } from './meter-plausibility.js';
import { createRebootStormDetector, rebootStormDefaults } from './reboot-storm.js';
import { createReplayDetector, replayDefaults } from './replay.js';
import { createSignedMeterDetector, signedMeterDefaults, type MeterKeyLookup } from './signed-meter.js';
import { createStrandedTransactionsDetector, strandedTransactionsDefaults } from './stranded-transactions.js';
import { createTamperDetector, tamperDefaults } from './tamper.js';
import type { Detector, DetectorName, Thresholds } from './types.js';

export interface DetectorLookups { connectorMaxPowerW?: ConnectorPowerLookup; meterPublicKey?: MeterKeyLookup }

export const DETECTORS: Record<DetectorName, { defaults: Thresholds; create(t: Thresholds | undefined, l: DetectorLookups): Detector }> = {
  bruteForce: { defaults: bruteForceDefaults, create: (t) => createBruteForceDetector(t) },
  duplicateIdentity: { defaults: duplicateIdentityDefaults, create: (t) => createDuplicateIdentityDetector(t) },
  downgrade: { defaults: downgradeDefaults, create: (t) => createDowngradeDetector(t) },
  invalidFlood: { defaults: invalidFloodDefaults, create: (t) => createInvalidFloodDetector(t) },
  replay: { defaults: replayDefaults, create: (t) => createReplayDetector(t) },
  clockSkew: { defaults: clockSkewDefaults, create: (t) => createClockSkewDetector(t) },
  meterPlausibility: { defaults: meterPlausibilityDefaults, create: (t, l) => createMeterPlausibilityDetector(t, l.connectorMaxPowerW) },
  signedMeter: { defaults: signedMeterDefaults, create: (t, l) => createSignedMeterDetector(t, l.meterPublicKey) },
  strandedTransactions: { defaults: strandedTransactionsDefaults, create: (t) => createStrandedTransactionsDetector(t) },
  tamper: { defaults: tamperDefaults, create: (t) => createTamperDetector(t) },
  rebootStorm: { defaults: rebootStormDefaults, create: (t) => createRebootStormDetector(t) },
  flapping: { defaults: flappingDefaults, create: (t) => createFlappingDetector(t) },
  firmwareCertificate: { defaults: firmwareCertificateDefaults, create: (t) => createFirmwareCertificateDetector(t) },
  criticalEvent: { defaults: criticalEventDefaults, create: (t) => createCriticalEventDetector(t) },
  loadSwing: { defaults: loadSwingDefaults, create: (t) => createLoadSwingDetector(t) },
  certificateExpiry: { defaults: certificateExpiryDefaults, create: (t) => createCertificateExpiryDetector(t) },
  threatIndicator: { defaults: threatIndicatorDefaults, create: (t) => createThreatIndicatorDetector(t) },
};

export { DETECTOR_NAMES, type Detector, type DetectorName, type Finding, type Severity, type Thresholds } from './types.js';
export type { ConnectorPowerLookup, MeterKeyLookup };
