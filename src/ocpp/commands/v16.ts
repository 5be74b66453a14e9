/**
 * Outgoing commands for OCPP 1.6J with the security extension (the OCA
 * "Improved security for OCPP 1.6-J" whitepaper): the certificate and signed
 * firmware messages come from the extension, which a station may lack.
 */
import type { InstallableType, StationCommands, SendCall } from '../../model/commands.js';
import { answerOf, firmwareOf, hashDataOf } from './shared.js';

/** 1.6 certificate type names of the roots it knows (2.x name → 1.6 name). */
const V16_TYPE: Partial<Record<InstallableType, string>> = { CSMSRootCertificate: 'CentralSystemRootCertificate', ManufacturerRootCertificate: 'ManufacturerRootCertificate' };
const FROM_V16: Record<string, InstallableType> = { CentralSystemRootCertificate: 'CSMSRootCertificate', ManufacturerRootCertificate: 'ManufacturerRootCertificate' };
const PURPOSE: Record<string, string> = { TxDefaultProfile: 'TxDefaultProfile', ChargingStationMaxProfile: 'ChargePointMaxProfile' };

export function v16Commands(send: SendCall): StationCommands {
  return {
    version: '1.6',
    features: { securityBuiltIn: false, bootReason: false, v2gCertificates: false, timeSourceReported: false, randomizedDelay: false },
    installableTypes: ['CSMSRootCertificate', 'ManufacturerRootCertificate'],

    // Connector 0 is the whole charge point.
    setAvailability: async (id, status) => answerOf(await send(id, 'ChangeAvailability', { connectorId: 0, type: status })),
    // The extension has one station certificate; V2G certificates are not requested over 1.6 (features.v2gCertificates).
    requestCsr: async (id) => answerOf(await send(id, 'ExtendedTriggerMessage', { requestedMessage: 'SignChargePointCertificate' })),
    certificateSigned: async (id, chain) => answerOf(await send(id, 'CertificateSigned', { certificateChain: chain })),
    async installCertificate(id, type, pem) {
      const wire = V16_TYPE[type];
      if (!wire) throw new Error(`OCPP 1.6 has no ${type}`);
      return answerOf(await send(id, 'InstallCertificate', { certificateType: wire, certificate: pem }));
    },
    // 1.6 asks for one type at a time.
    async installedCertificates(id) {
      const entries = [];
      for (const type of Object.keys(FROM_V16)) {
        const res = answerOf(await send(id, 'GetInstalledCertificateIds', { certificateType: type }));
        for (const h of res.status === 'Accepted' && Array.isArray(res.certificateHashData) ? res.certificateHashData : []) entries.push({ ...h, certificateType: FROM_V16[type]! });
      }
      return entries;
    },
    deleteCertificate: async (id, h) => answerOf(await send(id, 'DeleteCertificate', { certificateHashData: hashDataOf(h) })),
    async updateFirmware(id, r) {
      try {
        return answerOf(await send(id, 'SignedUpdateFirmware', { requestId: r.requestId, retries: r.retries, retryInterval: r.retryInterval, firmware: firmwareOf(r) }));
      } catch (err) {
        // A station without the security extension answers the unknown action with NotImplemented (or NotSupported).
        const code = (err as { details?: { rpcErrorCode?: string } } | undefined)?.details?.rpcErrorCode;
        if (code !== 'NotImplemented' && code !== 'NotSupported') throw err;
        return { status: code, signedUnsupported: true };
      }
    },
    // UpdateFirmware.conf is empty in 1.6: the station took the request.
    async updateFirmwareUnsigned(id, r) {
      await send(id, 'UpdateFirmware', { location: r.location, retrieveDate: r.retrieveDate, retries: r.retries, retryInterval: r.retryInterval });
      return { status: 'Accepted' };
    },
    async setChargingProfile(id, p, opts) {
      const payload = {
        connectorId: 0,
        csChargingProfiles: {
          chargingProfileId: p.id, chargingProfilePurpose: PURPOSE[p.purpose], chargingProfileKind: p.kind, stackLevel: p.stackLevel,
          chargingSchedule: { startSchedule: p.schedule.startSchedule, duration: p.schedule.duration, chargingRateUnit: 'W', chargingSchedulePeriod: p.schedule.periods.map((x) => ({ ...x })) },
        },
      };
      opts?.onPayload?.(payload);
      return answerOf(await send(id, 'SetChargingProfile', payload));
    },
    async readConfiguration(id, _variables, opts) {
      // 1.6 keys are flat names; GetConfiguration without keys returns every one.
      const res = answerOf(await send(id, 'GetConfiguration', {}, opts));
      const values: Record<string, string> = {};
      for (const k of Array.isArray(res.configurationKey) ? res.configurationKey : []) {
        if (typeof k?.key === 'string') values[k.key] = typeof k.value === 'string' ? k.value : '';
      }
      return { values, via: 'GetConfiguration' };
    },
  };
}
