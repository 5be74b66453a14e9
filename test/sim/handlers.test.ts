import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSimStation, runFleet, versionPlan } from '../../src/sim/index.js';
import { startCsms, type TestCsms } from './csms.js';
import { createCa } from './pki.js';

describe('CSMS → station calls and fleets', () => {
  let csms: TestCsms;
  before(async () => { csms = await startCsms(); });
  after(() => csms.close());

  it('OCPP 2.0.1: device model, remote start/stop, charging limit, root certificates', { timeout: 20_000 }, async () => {
    const id = 'H-201';
    const station = createSimStation({ url: csms.url, id, ocppVersion: '2.0.1', securityProfile: 1, connectors: 2 });
    try {
      await station.connect();
      const server = csms.clients.get(id);
      const got: any = await server.call('GetVariables', { getVariableData: [
        { component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } },
        { component: { name: 'SecurityCtrlr' }, variable: { name: 'BasicAuthPassword' } },
        { component: { name: 'Nope' }, variable: { name: 'X' } },
      ] });
      assert.deepEqual(got.getVariableResult.map((r: any) => [r.attributeStatus, r.attributeValue]),
        [['Accepted', '300'], ['Rejected', undefined], ['UnknownComponent', undefined]]);
      const set: any = await server.call('SetVariables', { setVariableData: [
        { component: { name: 'SecurityCtrlr' }, variable: { name: 'BasicAuthPassword' }, attributeValue: 'short' },
        { component: { name: 'SecurityCtrlr' }, variable: { name: 'BasicAuthPassword' }, attributeValue: 'a-new-password-of-20+' },
      ] });
      assert.deepEqual(set.setVariableResult.map((r: any) => r.attributeStatus), ['Rejected', 'Accepted']);
      assert.deepEqual(await server.call('GetBaseReport', { requestId: 7, reportBase: 'FullInventory' }), { status: 'Accepted' });
      const report = await csms.waitFor((r) => r.identity === id && r.method === 'NotifyReport');
      assert.equal(report.params.requestId, 7);
      assert.ok(!JSON.stringify(report.params).includes('a-new-password'));

      assert.deepEqual(await server.call('RequestStartTransaction', { evseId: 2, remoteStartId: 42, idToken: { idToken: 'REMOTE', type: 'Central' } }), { status: 'Accepted' });
      const started = await csms.waitFor((r) => r.identity === id && r.method === 'TransactionEvent' && r.params.eventType === 'Started');
      assert.equal(started.params.triggerReason, 'RemoteStart');
      assert.equal(started.params.transactionInfo.remoteStartId, 42);
      assert.deepEqual(started.params.evse, { id: 2, connectorId: 1 });
      const limit: any = await server.call('SetChargingProfile', { evseId: 2, chargingProfile: {
        id: 1, stackLevel: 0, chargingProfilePurpose: 'TxDefaultProfile', chargingProfileKind: 'Absolute',
        chargingSchedule: [{ id: 1, chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 16, numberPhases: 1 }] }],
      } });
      assert.equal(limit.status, 'Accepted');
      assert.deepEqual(await server.call('TriggerMessage', { requestedMessage: 'TransactionEvent', evse: { id: 2 } }), { status: 'Accepted' });
      const triggered = await csms.waitFor((r) => r.identity === id && r.method === 'TransactionEvent' && r.params.triggerReason === 'Trigger');
      assert.equal(triggered.params.meterValue[0].sampledValue[1].value, 16 * 230);
      const txId = started.params.transactionInfo.transactionId;
      assert.deepEqual(await server.call('RequestStopTransaction', { transactionId: txId }), { status: 'Accepted' });
      const ended = await csms.waitFor((r) => r.identity === id && r.method === 'TransactionEvent' && r.params.eventType === 'Ended');
      assert.equal(ended.params.triggerReason, 'RemoteStop');
      assert.deepEqual(await server.call('RequestStopTransaction', { transactionId: 'unknown' }), { status: 'Rejected' });

      const root = (await createCa('CSMS root')).certPem;
      assert.deepEqual(await server.call('InstallCertificate', { certificateType: 'CSMSRootCertificate', certificate: root }), { status: 'Accepted' });
      assert.deepEqual(await server.call('InstallCertificate', { certificateType: 'CSMSRootCertificate', certificate: 'not a certificate' }), { status: 'Rejected' });
      const ids: any = await server.call('GetInstalledCertificateIds', { certificateType: ['CSMSRootCertificate'] });
      assert.equal(ids.status, 'Accepted');
      const hash = ids.certificateHashDataChain[0].certificateHashData;
      assert.match(hash.issuerNameHash, /^[0-9a-f]{64}$/);
      assert.deepEqual(await server.call('DeleteCertificate', { certificateHashData: hash }), { status: 'Accepted' });
      assert.deepEqual(await server.call('GetInstalledCertificateIds', {}), { status: 'NotFound' });
      await assert.rejects(server.call('CostUpdated', { totalCost: 1, transactionId: 'x' }), (err: any) => err.rpcErrorCode === 'NotImplemented');
      assert.deepEqual(csms.violations, []);
    } finally {
      await station.close();
    }
  });

  it('OCPP 1.6: configuration keys, remote start/stop, availability, overriding a handler', { timeout: 20_000 }, async () => {
    const id = 'H-16';
    const station = createSimStation({ url: csms.url, id, ocppVersion: '1.6', securityProfile: 1 });
    try {
      await station.connect();
      const server = csms.clients.get(id);
      const config: any = await server.call('GetConfiguration', { key: ['HeartbeatInterval', 'AuthorizationKey', 'Bogus'] });
      assert.deepEqual(config.configurationKey, [{ key: 'HeartbeatInterval', readonly: false, value: '300' }]);
      assert.deepEqual(config.unknownKey, ['AuthorizationKey', 'Bogus']);
      assert.deepEqual(await server.call('ChangeConfiguration', { key: 'NumberOfConnectors', value: '4' }), { status: 'Rejected' });
      assert.deepEqual(await server.call('ChangeConfiguration', { key: 'Bogus', value: '1' }), { status: 'NotSupported' });

      assert.deepEqual(await server.call('RemoteStartTransaction', { idTag: 'REMOTE16' }), { status: 'Accepted' });
      const start = await csms.waitFor((r) => r.identity === id && r.method === 'StartTransaction');
      await csms.waitFor((r) => r.identity === id && r.method === 'StatusNotification' && r.params.status === 'Charging');
      const txId = Number(station.transactionId(1));
      assert.ok(Number.isInteger(txId) && start.params.idTag === 'REMOTE16');
      assert.deepEqual(await server.call('RemoteStopTransaction', { transactionId: txId }), { status: 'Accepted' });
      const stop = await csms.waitFor((r) => r.identity === id && r.method === 'StopTransaction');
      assert.equal(stop.params.reason, 'Remote');

      assert.deepEqual(await server.call('ChangeAvailability', { connectorId: 1, type: 'Inoperative' }), { status: 'Accepted' });
      await csms.waitFor((r) => r.identity === id && r.method === 'StatusNotification' && r.params.status === 'Unavailable');
      await assert.rejects(station.startCharging({ connectorId: 1, idToken: 'T' }), { code: 'SIM_CONNECTOR_BUSY' });

      station.handle('DataTransfer', () => ({ status: 'Accepted', data: 'hello' }));
      assert.deepEqual(await server.call('DataTransfer', { vendorId: 'evguard' }), { status: 'Accepted', data: 'hello' });
      // An override that answers with an invalid payload is caught by strict mode, never sent as is.
      station.handle('DataTransfer', () => ({ status: 'Maybe' }));
      await assert.rejects(server.call('DataTransfer', { vendorId: 'evguard' }), (err: any) => err.rpcErrorCode === 'InternalError');
      assert.deepEqual(csms.violations, []);
    } finally {
      await station.close();
    }
  });

  it('versionPlan spreads the mix in proportion', () => {
    const plan = versionPlan(10, { '1.6': 1, '2.0.1': 3, '2.1': 1 });
    assert.deepEqual({ v16: plan.filter((v) => v === '1.6').length, v201: plan.filter((v) => v === '2.0.1').length, v21: plan.filter((v) => v === '2.1').length }, { v16: 2, v201: 6, v21: 2 });
    assert.throws(() => versionPlan(3, {}), { code: 'SIM_BAD_OPTIONS' });
  });

  it('runFleet connects a mixed fleet, charges a share of it and stops cleanly', { timeout: 30_000 }, async () => {
    const progress: number[] = [];
    const fleet = await runFleet({
      url: csms.url, count: 6, mix: { '1.6': 1, '2.0.1': 1, '2.1': 1 }, securityProfile: 1, idPrefix: 'FLEET',
      chargingShare: 0.5, concurrency: 3, onProgress: (p) => progress.push(p.connected),
    });
    assert.equal(fleet.stations.length, 6);
    assert.deepEqual(fleet.stations.map((s) => s.ocppVersion), ['1.6', '2.0.1', '2.1', '1.6', '2.0.1', '2.1']);
    const running = fleet.stats();
    assert.equal(running.connected, 6);
    assert.equal(running.open, 6);
    assert.equal(running.transactionsStarted, 3);
    assert.equal(running.callFailures, 0);
    assert.ok(running.latencyMs.max >= running.latencyMs.p50);
    assert.equal(progress.length, 6);
    const final = await fleet.stop();
    assert.equal(final.open, 0);
    assert.deepEqual(await fleet.done, final);
    assert.equal(csms.received.filter((r) => r.identity.startsWith('FLEET') && r.method === 'BootNotification').length, 6);
    assert.deepEqual(csms.violations, []);
  });
});
