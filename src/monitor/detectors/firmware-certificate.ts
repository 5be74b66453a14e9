/**
 * Firmware and certificate anomalies: the station rejecting a firmware image
 * or its signing certificate, the station rejecting the CSMS's TLS identity
 * (a man in the middle, or a rogue CSMS), failed certificate installs and
 * renewals, repeated client-certificate rejections at the handshake, firmware
 * status reports of bad signatures, and a firmware version that changed
 * across a reboot with no firmware update in between.
 */
import { Topics } from '../../bus/events.js';
import { record, securityEvent, text } from './fields.js';
import { BoundedMap, EventWindow } from './window.js';
import { withThresholds, type Detector, type Finding, type Severity, type Thresholds } from './types.js';

export const firmwareCertificateDefaults = { certificateRejections: 3, windowSeconds: 300 };

const STATION_EVENTS: Record<string, { severity: Severity; title: string; kind: string }> = {
  InvalidFirmwareSignature: { severity: 'high', title: 'Station rejected a firmware signature', kind: 'firmware' },
  InvalidFirmwareSigningCertificate: { severity: 'high', title: 'Station rejected a firmware signing certificate', kind: 'firmware' },
  InvalidCsmsCertificate: { severity: 'high', title: 'Station rejected the CSMS certificate', kind: 'tls' },
  InvalidTLSVersion: { severity: 'high', title: 'Station was offered an insecure TLS version', kind: 'tls' },
  InvalidTLSCipherSuite: { severity: 'high', title: 'Station was offered insecure TLS cipher suites', kind: 'tls' },
  InvalidChargingStationCertificate: { severity: 'medium', title: 'Station rejected its new certificate', kind: 'certificate' },
  DiscardedRenewedClientCertificate: { severity: 'medium', title: 'Station discarded its renewed certificate', kind: 'certificate' },
};
const BAD_FIRMWARE_STATUS = new Set(['InvalidSignature', 'InvalidCertificate', 'RevokedCertificate', 'SignatureError', 'InstallVerificationFailed']);
const UPDATE_IN_PROGRESS = new Set(['Downloaded', 'SignatureVerified', 'Installing', 'InstallRebooting', 'InstallScheduled', 'Installed']);

export function createFirmwareCertificateDetector(overrides?: Thresholds): Detector {
  const t = withThresholds(firmwareCertificateDefaults, overrides);
  const windows = new EventWindow();
  const firmware = new BoundedMap<{ version?: string; updating: boolean }>();
  const make = (stationId: string | undefined, kind: string, severity: Severity, title: string, description: string, evidence: Record<string, unknown>, target?: Finding['target']): Finding => ({
    detector: 'firmwareCertificate', severity, stationId, key: `firmwareCertificate:${kind}:${stationId ?? String(evidence.remoteAddress)}`,
    title, description, evidence, target,
  });
  return {
    name: 'firmwareCertificate',
    topics: [Topics.securityEvent, Topics.firmwareStatus, Topics.stationBooted],
    feed(event, now) {
      const d = record(event.data);
      if (event.topic === Topics.securityEvent) {
        const e = securityEvent(event.data);
        if (!e) return [];
        if (e.source === 'station' && Object.hasOwn(STATION_EVENTS, e.type)) {
          const s = STATION_EVENTS[e.type]!;
          return [make(e.stationId, s.kind, s.severity, s.title, `Station ${e.stationId ?? '?'} reported ${e.type}`, { type: e.type, techInfo: e.techInfo })];
        }
        if (e.source === 'csms' && e.type === 'ClientCertificateRejected') {
          const subject = e.remoteAddress ?? e.stationId;
          if (!subject) return [];
          const count = windows.hit(subject, now.getTime(), t.windowSeconds * 1000);
          if (count < t.certificateRejections) return [];
          windows.clear(subject);
          return [make(e.stationId, 'handshake', 'high', 'Repeated client certificate rejections', `${count} client certificates from ${subject} rejected within ${t.windowSeconds} s`, { rejections: count, remoteAddress: e.remoteAddress, lastTechInfo: e.techInfo }, e.remoteAddress ? { remoteAddress: e.remoteAddress } : undefined)];
        }
        return [];
      }
      const stationId = text(d, 'stationId', 128) ?? event.stationId;
      if (!stationId) return [];
      const known = firmware.get(stationId) ?? { updating: false };
      if (event.topic === Topics.firmwareStatus) {
        const status = text(d, 'status', 64) ?? '';
        if (UPDATE_IN_PROGRESS.has(status)) firmware.set(stationId, { ...known, updating: true });
        if (BAD_FIRMWARE_STATUS.has(status)) {
          return [make(stationId, 'firmware', 'high', 'Firmware signature check failed', `Station ${stationId} reported firmware status ${status}`, { status, requestId: d.requestId })];
        }
        return [];
      }
      const version = text(d, 'firmwareVersion', 64);
      if (!version) return [];
      firmware.set(stationId, { version, updating: false });
      if (known.version !== undefined && known.version !== version && !known.updating) {
        return [make(stationId, 'firmware', 'high', 'Firmware changed without an update', `Station ${stationId} booted with firmware ${version}, previously ${known.version}, with no firmware update in between`, { previousVersion: known.version, firmwareVersion: version })];
      }
      return [];
    },
  };
}
