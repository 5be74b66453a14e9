/**
 * Outgoing commands for OCPP 2.0.1 and 2.1. They share the messages the
 * domain sends; 2.1 adds OEMRootCertificate to the trust store and
 * randomizedDelay to charging schedules.
 */
import type { InstallableType, StationCommands, SendCall } from '../../model/commands.js';
import { answerOf, firmwareOf, hashDataOf } from './shared.js';

const INSTALLABLE: Record<'2.0.1' | '2.1', readonly InstallableType[]> = {
  '2.0.1': ['CSMSRootCertificate', 'ManufacturerRootCertificate', 'V2GRootCertificate', 'MORootCertificate'],
  '2.1': ['CSMSRootCertificate', 'ManufacturerRootCertificate', 'V2GRootCertificate', 'MORootCertificate', 'OEMRootCertificate'],
};

export function v2Commands(version: '2.0.1' | '2.1', send: SendCall): StationCommands {
  const randomizedDelay = version === '2.1';
  return {
    version,
    features: { securityBuiltIn: true, bootReason: true, v2gCertificates: true, timeSourceReported: true, randomizedDelay },
    installableTypes: INSTALLABLE[version],

    // Without an evse the whole station changes.
    setAvailability: async (id, status) => answerOf(await send(id, 'ChangeAvailability', { operationalStatus: status })),
    requestCsr: async (id, type) => answerOf(await send(id, 'TriggerMessage', { requestedMessage: type === 'V2GCertificate' ? 'SignV2GCertificate' : 'SignChargingStationCertificate' })),
    certificateSigned: async (id, chain, type) => answerOf(await send(id, 'CertificateSigned', { certificateChain: chain, certificateType: type })),
    async installCertificate(id, type, pem) {
      if (!INSTALLABLE[version].includes(type)) throw new Error(`OCPP ${version} has no ${type}`);
      return answerOf(await send(id, 'InstallCertificate', { certificateType: type, certificate: pem }));
    },
    // One call for every type; a chain's children are listed after it as `<type>Child`.
    async installedCertificates(id) {
      const res = answerOf(await send(id, 'GetInstalledCertificateIds', {}));
      const entries = [];
      for (const c of res.status === 'Accepted' && Array.isArray(res.certificateHashDataChain) ? res.certificateHashDataChain : []) {
        entries.push({ ...c.certificateHashData, certificateType: c.certificateType });
        for (const child of Array.isArray(c.childCertificateHashData) ? c.childCertificateHashData : []) entries.push({ ...child, certificateType: `${c.certificateType}Child` });
      }
      return entries;
    },
    deleteCertificate: async (id, h) => answerOf(await send(id, 'DeleteCertificate', { certificateHashData: hashDataOf(h) })),
    updateFirmware: async (id, r) => answerOf(await send(id, 'UpdateFirmware', { requestId: r.requestId, retries: r.retries, retryInterval: r.retryInterval, firmware: firmwareOf(r) })),
    async setChargingProfile(id, p, opts) {
      const s = p.schedule;
      const payload = {
        evseId: 0,
        chargingProfile: {
          id: p.id, chargingProfilePurpose: p.purpose, chargingProfileKind: p.kind, stackLevel: p.stackLevel,
          chargingSchedule: [{
            id: 1, startSchedule: s.startSchedule, duration: s.duration, chargingRateUnit: 'W',
            ...(randomizedDelay && s.randomizedDelay !== undefined ? { randomizedDelay: s.randomizedDelay } : {}),
            chargingSchedulePeriod: s.periods.map((x) => ({ ...x })),
          }],
        },
      };
      opts?.onPayload?.(payload);
      return answerOf(await send(id, 'SetChargingProfile', payload));
    },
    async readConfiguration(id, variables, opts) {
      const getVariableData = variables.map((v) => ({ component: { name: v.component }, variable: { name: v.variable } }));
      const res = answerOf(await send(id, 'GetVariables', { getVariableData }, opts));
      const values: Record<string, string> = {};
      for (const r of Array.isArray(res.getVariableResult) ? res.getVariableResult : []) {
        if (r?.attributeStatus === 'Accepted' && typeof r.component?.name === 'string' && typeof r.variable?.name === 'string') {
          values[`${r.component.name}.${r.variable.name}`] = String(r.attributeValue ?? '');
        }
      }
      return { values, via: 'GetVariables' };
    },
  };
}
