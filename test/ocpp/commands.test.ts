/**
 * The outgoing version adapters (src/ocpp/commands): for each OCPP version,
 * the exact payload each command sends, checked against that version's OCA
 * request schema (the validators the gateway uses), and how each answer is
 * read back into the internal model.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createValidator } from '../../src/ocpp/validator.js';
import { OCPP_VERSIONS, type OcppVersion } from '../../src/model/ocpp-version.js';
import type { ChargingProfileSpec, SignedFirmwareRequest } from '../../src/model/commands.js';
import { recordingCommands, type SentCall } from '../support/commands.js';

const NOW = '2026-01-01T00:00:00.000Z';
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const HASH = { hashAlgorithm: 'SHA256', issuerNameHash: 'aa11', issuerKeyHash: 'bb22', serialNumber: '0c' };
const FIRMWARE: SignedFirmwareRequest = {
  requestId: 7, retries: 3, retryInterval: 60, location: 'https://node.example/firmware/d/t/image/a.bin',
  retrieveDateTime: NOW, installDateTime: '2026-01-01T01:00:00.000Z', signingCertificate: PEM, signature: 'c2ln',
};
const PROFILE: ChargingProfileSpec = {
  id: 990_001, purpose: 'TxDefaultProfile', kind: 'Absolute', stackLevel: 9,
  schedule: { startSchedule: NOW, duration: 602, randomizedDelay: 600, periods: [{ startPeriod: 0, limit: 0 }, { startPeriod: 1, limit: 11_000 }] },
};
const VARIABLES = [{ component: 'SecurityCtrlr', variable: 'SecurityProfile' }, { component: 'ClockCtrlr', variable: 'TimeSource' }];

/** Runs one command on a version's adapter; returns the one call it made, after checking it against the schema. */
async function sentBy(version: OcppVersion, run: (c: ReturnType<ReturnType<typeof recordingCommands>['commands']>) => Promise<unknown>): Promise<SentCall> {
  const { commands, sent } = recordingCommands();
  await run(commands(version));
  assert.equal(sent.length, 1, `${version}: one call`);
  createValidator(version).validate(`urn:${sent[0]!.action}.req`, sent[0]!.payload);
  return sent[0]!;
}

/** Expected calls per command and version: [action, payload]. */
const EXPECTED: Record<string, Record<OcppVersion, [string, Record<string, unknown>]>> = {
  'setAvailability Inoperative': {
    '1.6': ['ChangeAvailability', { connectorId: 0, type: 'Inoperative' }],
    '2.0.1': ['ChangeAvailability', { operationalStatus: 'Inoperative' }],
    '2.1': ['ChangeAvailability', { operationalStatus: 'Inoperative' }],
  },
  'requestCsr ChargingStationCertificate': {
    '1.6': ['ExtendedTriggerMessage', { requestedMessage: 'SignChargePointCertificate' }],
    '2.0.1': ['TriggerMessage', { requestedMessage: 'SignChargingStationCertificate' }],
    '2.1': ['TriggerMessage', { requestedMessage: 'SignChargingStationCertificate' }],
  },
  'certificateSigned': {
    '1.6': ['CertificateSigned', { certificateChain: PEM }],
    '2.0.1': ['CertificateSigned', { certificateChain: PEM, certificateType: 'ChargingStationCertificate' }],
    '2.1': ['CertificateSigned', { certificateChain: PEM, certificateType: 'ChargingStationCertificate' }],
  },
  'installCertificate CSMSRootCertificate': {
    '1.6': ['InstallCertificate', { certificateType: 'CentralSystemRootCertificate', certificate: PEM }],
    '2.0.1': ['InstallCertificate', { certificateType: 'CSMSRootCertificate', certificate: PEM }],
    '2.1': ['InstallCertificate', { certificateType: 'CSMSRootCertificate', certificate: PEM }],
  },
  'deleteCertificate': {
    '1.6': ['DeleteCertificate', { certificateHashData: HASH }],
    '2.0.1': ['DeleteCertificate', { certificateHashData: HASH }],
    '2.1': ['DeleteCertificate', { certificateHashData: HASH }],
  },
  'updateFirmware': {
    '1.6': ['SignedUpdateFirmware', { requestId: 7, retries: 3, retryInterval: 60, firmware: { location: FIRMWARE.location, retrieveDateTime: NOW, installDateTime: FIRMWARE.installDateTime, signingCertificate: PEM, signature: 'c2ln' } }],
    '2.0.1': ['UpdateFirmware', { requestId: 7, retries: 3, retryInterval: 60, firmware: { location: FIRMWARE.location, retrieveDateTime: NOW, installDateTime: FIRMWARE.installDateTime, signingCertificate: PEM, signature: 'c2ln' } }],
    '2.1': ['UpdateFirmware', { requestId: 7, retries: 3, retryInterval: 60, firmware: { location: FIRMWARE.location, retrieveDateTime: NOW, installDateTime: FIRMWARE.installDateTime, signingCertificate: PEM, signature: 'c2ln' } }],
  },
  'setChargingProfile': {
    // 1.6 and 2.0.1 have no randomizedDelay (a caller checks features.randomizedDelay first); it is not sent.
    '1.6': ['SetChargingProfile', { connectorId: 0, csChargingProfiles: { chargingProfileId: 990_001, chargingProfilePurpose: 'TxDefaultProfile', chargingProfileKind: 'Absolute', stackLevel: 9, chargingSchedule: { startSchedule: NOW, duration: 602, chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 0 }, { startPeriod: 1, limit: 11_000 }] } } }],
    '2.0.1': ['SetChargingProfile', { evseId: 0, chargingProfile: { id: 990_001, chargingProfilePurpose: 'TxDefaultProfile', chargingProfileKind: 'Absolute', stackLevel: 9, chargingSchedule: [{ id: 1, startSchedule: NOW, duration: 602, chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 0 }, { startPeriod: 1, limit: 11_000 }] }] } }],
    '2.1': ['SetChargingProfile', { evseId: 0, chargingProfile: { id: 990_001, chargingProfilePurpose: 'TxDefaultProfile', chargingProfileKind: 'Absolute', stackLevel: 9, chargingSchedule: [{ id: 1, startSchedule: NOW, duration: 602, chargingRateUnit: 'W', randomizedDelay: 600, chargingSchedulePeriod: [{ startPeriod: 0, limit: 0 }, { startPeriod: 1, limit: 11_000 }] }] } }],
  },
  'readConfiguration': {
    '1.6': ['GetConfiguration', {}],
    '2.0.1': ['GetVariables', { getVariableData: [{ component: { name: 'SecurityCtrlr' }, variable: { name: 'SecurityProfile' } }, { component: { name: 'ClockCtrlr' }, variable: { name: 'TimeSource' } }] }],
    '2.1': ['GetVariables', { getVariableData: [{ component: { name: 'SecurityCtrlr' }, variable: { name: 'SecurityProfile' } }, { component: { name: 'ClockCtrlr' }, variable: { name: 'TimeSource' } }] }],
  },
};

const RUN: Record<string, (c: ReturnType<ReturnType<typeof recordingCommands>['commands']>) => Promise<unknown>> = {
  'setAvailability Inoperative': (c) => c.setAvailability('S', 'Inoperative'),
  'requestCsr ChargingStationCertificate': (c) => c.requestCsr('S', 'ChargingStationCertificate'),
  'certificateSigned': (c) => c.certificateSigned('S', PEM, 'ChargingStationCertificate'),
  'installCertificate CSMSRootCertificate': (c) => c.installCertificate('S', 'CSMSRootCertificate', PEM),
  'deleteCertificate': (c) => c.deleteCertificate('S', HASH),
  'updateFirmware': (c) => c.updateFirmware('S', FIRMWARE),
  'setChargingProfile': (c) => c.setChargingProfile('S', PROFILE),
  'readConfiguration': (c) => c.readConfiguration('S', VARIABLES, { timeoutMs: 15_000 }),
};

for (const version of OCPP_VERSIONS) {
  describe(`OCPP ${version} command adapter`, () => {
    for (const [name, byVersion] of Object.entries(EXPECTED)) {
      test(`${name}: exact payload, valid under the ${version} schema`, async () => {
        const call = await sentBy(version, RUN[name]!);
        assert.deepEqual([call.action, call.payload], byVersion[version]);
        assert.equal(call.stationId, 'S');
      });
    }

    test('V2G renewal trigger where the version has one', async () => {
      const { commands, sent } = recordingCommands();
      const c = commands(version);
      if (!c.features.v2gCertificates) return assert.equal(version, '1.6');
      await c.requestCsr('S', 'V2GCertificate');
      assert.deepEqual(sent[0]!.payload, { requestedMessage: 'SignV2GCertificate' });
      createValidator(version).validate(`urn:${sent[0]!.action}.req`, sent[0]!.payload);
    });

    test('every installable type it lists is valid under its schema; the others are refused before sending', async () => {
      const { commands, sent } = recordingCommands();
      const c = commands(version);
      for (const type of ['CSMSRootCertificate', 'ManufacturerRootCertificate', 'V2GRootCertificate', 'MORootCertificate', 'OEMRootCertificate'] as const) {
        if (c.installableTypes.includes(type)) {
          await c.installCertificate('S', type, PEM);
          createValidator(version).validate('urn:InstallCertificate.req', sent.at(-1)!.payload);
        } else {
          const before = sent.length;
          await assert.rejects(c.installCertificate('S', type, PEM), new RegExp(`OCPP ${version.replace(/\./g, '\\.')} has no ${type}`));
          assert.equal(sent.length, before);
        }
      }
    });

    test('onPayload sees the very object that is sent', async () => {
      const { commands, sent } = recordingCommands();
      let seen: object | undefined;
      await commands(version).setChargingProfile('S', PROFILE, { onPayload: (p) => (seen = p) });
      assert.equal(seen, sent[0]!.payload);
    });

    test('readConfiguration passes the timeout on', async () => {
      const call = await sentBy(version, RUN.readConfiguration!);
      assert.deepEqual(call.opts, { timeoutMs: 15_000 });
    });
  });
}

describe('answers read back into the model', () => {
  test('1.6 GetInstalledCertificateIds: one call per type, 1.6 type names mapped to 2.x', async () => {
    const { commands, sent } = recordingCommands((_action, p) => (p.certificateType === 'CentralSystemRootCertificate' ? { status: 'Accepted', certificateHashData: [HASH] } : { status: 'NotFound' }));
    const entries = await commands('1.6').installedCertificates('S');
    assert.deepEqual(sent.map((s) => s.payload), [{ certificateType: 'CentralSystemRootCertificate' }, { certificateType: 'ManufacturerRootCertificate' }]);
    for (const s of sent) createValidator('1.6').validate('urn:GetInstalledCertificateIds.req', s.payload);
    assert.deepEqual(entries, [{ ...HASH, certificateType: 'CSMSRootCertificate' }]);
  });

  for (const version of ['2.0.1', '2.1'] as const) {
    test(`${version} GetInstalledCertificateIds: one call, chains flattened with their children`, async () => {
      const child = { ...HASH, serialNumber: '0d' };
      const { commands, sent } = recordingCommands(() => ({ status: 'Accepted', certificateHashDataChain: [{ certificateType: 'V2GRootCertificate', certificateHashData: HASH, childCertificateHashData: [child] }] }));
      const entries = await commands(version).installedCertificates('S');
      assert.deepEqual(sent.map((s) => [s.action, s.payload]), [['GetInstalledCertificateIds', {}]]);
      createValidator(version).validate('urn:GetInstalledCertificateIds.req', sent[0]!.payload);
      assert.deepEqual(entries, [{ ...HASH, certificateType: 'V2GRootCertificate' }, { ...child, certificateType: 'V2GRootCertificateChild' }]);
    });
  }

  test('configuration: 1.6 keys as they are, 2.x accepted variables as Component.Variable', async () => {
    const v16 = recordingCommands(() => ({ configurationKey: [{ key: 'SecurityProfile', readonly: true, value: '2' }, { key: 'NoValue', readonly: false }] }));
    assert.deepEqual(await v16.commands('1.6').readConfiguration('S', VARIABLES), { values: { SecurityProfile: '2', NoValue: '' }, via: 'GetConfiguration' });
    const v2 = recordingCommands(() => ({ getVariableResult: [
      { attributeStatus: 'Accepted', component: { name: 'SecurityCtrlr' }, variable: { name: 'SecurityProfile' }, attributeValue: '3' },
      { attributeStatus: 'UnknownVariable', component: { name: 'ClockCtrlr' }, variable: { name: 'TimeSource' } },
    ] }));
    assert.deepEqual(await v2.commands('2.0.1').readConfiguration('S', VARIABLES), { values: { 'SecurityCtrlr.SecurityProfile': '3' }, via: 'GetVariables' });
  });

  test('1.6 without the security extension: signed update reported unsupported, the plain one sent only on request', async () => {
    const notImplemented = Object.assign(new Error('NotImplemented'), { details: { rpcErrorCode: 'NotImplemented' } });
    const { commands, sent } = recordingCommands((action) => (action === 'SignedUpdateFirmware' ? notImplemented : {}));
    const c = commands('1.6');
    assert.deepEqual(await c.updateFirmware('S', FIRMWARE), { status: 'NotImplemented', signedUnsupported: true });
    assert.deepEqual(await c.updateFirmwareUnsigned!('S', { location: FIRMWARE.location, retrieveDate: NOW, retries: 3, retryInterval: 60 }), { status: 'Accepted' });
    assert.deepEqual(sent.at(-1), { stationId: 'S', action: 'UpdateFirmware', payload: { location: FIRMWARE.location, retrieveDate: NOW, retries: 3, retryInterval: 60 } });
    createValidator('1.6').validate('urn:UpdateFirmware.req', sent.at(-1)!.payload);
    // Any other failure is the caller's to handle.
    const timeout = recordingCommands(() => Object.assign(new Error('timeout'), { code: 'STATION_CALL_TIMEOUT' }));
    await assert.rejects(timeout.commands('1.6').updateFirmware('S', FIRMWARE), /timeout/);
    // 2.x has signed updates only.
    assert.equal(recordingCommands().commands('2.0.1').updateFirmwareUnsigned, undefined);
  });

  test('features per version', () => {
    const { commands } = recordingCommands();
    assert.deepEqual(OCPP_VERSIONS.map((v) => commands(v).features), [
      { securityBuiltIn: false, bootReason: false, v2gCertificates: false, timeSourceReported: false, randomizedDelay: false },
      { securityBuiltIn: true, bootReason: true, v2gCertificates: true, timeSourceReported: true, randomizedDelay: false },
      { securityBuiltIn: true, bootReason: true, v2gCertificates: true, timeSourceReported: true, randomizedDelay: true },
    ]);
  });
});
