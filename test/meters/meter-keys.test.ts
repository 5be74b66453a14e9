/**
 * The meter public key registry on a real node: roles and validation of
 * PUT/GET/DELETE /api/v1/stations/:id/meter-keys, and the signedMeter detector
 * using it — an OCMF dataset signed with the registered key raises nothing; one
 * signed with another key (a station forging readings with a key of its own,
 * and sending that key along) raises the critical verification alert, where
 * without the registry the forged key would simply have been pinned.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { signOcmf } from '../../src/monitor/index.js';
import { createSimStation, type SimStation } from '../../src/sim/index.js';
import { startTestNode, testDatabases, type TestNode } from '../support/node.js';

const PASSWORD = 'meter-keys-password-00001';

function ecKeys() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    publicB64: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
  };
}

/** A 2.0.1 TransactionEvent Started carrying one OCMF dataset, signed with `signer`, which the station claims is its key. */
async function signedStart(serial: string, signer: ReturnType<typeof ecKeys>) {
  const payload = {
    FV: '1.0', GI: 'TEST', GS: '1', GV: '1.0', PG: 'T1', MV: 'Test', MM: 'M1', MS: serial, IS: true, IL: 'VERIFIED', IF: ['OCPP_RS_TLS'], IT: 'ISO14443', ID: '04A1B2C3',
    RD: [{ TM: '2026-01-01T08:00:00,000+0000 S', TX: 'B', RV: 10, RI: '01-00:B2.08.00*FF', RU: 'kWh', ST: 'G' }],
  };
  const signed = await signOcmf(payload, signer.privatePem);
  const at = new Date().toISOString();
  return {
    eventType: 'Started', timestamp: at, triggerReason: 'Authorized', seqNo: 0,
    transactionInfo: { transactionId: `MK-${randomUUID().slice(0, 8)}` }, evse: { id: 1, connectorId: 1 },
    meterValue: [{ timestamp: at, sampledValue: [{ value: 10_000, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' }, signedMeterValue: { signedMeterData: Buffer.from(signed).toString('base64'), signingMethod: 'ECDSA-secp256r1-SHA256', encodingMethod: 'OCMF', publicKey: signer.publicB64 } }] }],
  };
}

for (const db of testDatabases()) {
  describe(`meter public key registry (${db})`, () => {
    let node: TestNode;
    let station: SimStation;
    const id = `MK-${db}`;
    const meterKey = ecKeys();
    const forgerKey = ecKeys();

    before(async () => {
      node = await startTestNode({ db });
      assert.equal((await node.api('POST', '/api/v1/stations', { id, securityProfile: 1, password: PASSWORD })).status, 201);
      station = createSimStation({ url: node.ws, id, ocppVersion: '2.0.1', securityProfile: 1, password: PASSWORD, pingIntervalMs: 0 });
      await station.connect();
    });
    after(async () => {
      await station?.close();
      await node?.stop();
    });

    test('keys: operator writes, auditor reads, only real EC public keys are accepted', async () => {
      const auditor = (await node.api('POST', '/api/v1/tokens', { name: 'mk-auditor', role: 'auditor' })).body.token;
      const operator = (await node.api('POST', '/api/v1/tokens', { name: 'mk-operator', role: 'operator' })).body.token;
      const path = `/api/v1/stations/${id}/meter-keys`;
      assert.equal((await node.api('PUT', path, { publicKey: meterKey.publicPem, meterSerial: 'MTR-GOOD' }, auditor)).status, 403);
      const put = await node.api('PUT', path, { publicKey: meterKey.publicPem, meterSerial: 'MTR-GOOD' }, operator);
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.equal(put.body.publicKey, meterKey.publicB64);
      assert.equal(put.body.keyType, 'ec/prime256v1');
      // Hex DER is read too; the registry stores one form.
      const hex = Buffer.from(meterKey.publicB64, 'base64').toString('hex');
      assert.equal((await node.api('PUT', path, { publicKey: hex, meterSerial: 'MTR-FORGED' }, operator)).body.publicKey, meterKey.publicB64);
      const list = await node.api('GET', path, undefined, auditor);
      assert.equal(list.status, 200);
      assert.deepEqual(list.body.map((k: any) => k.meterSerial).sort(), ['MTR-FORGED', 'MTR-GOOD']);

      const bad = async (publicKey: unknown) => (await node.api('PUT', path, { publicKey }, operator)).body.error?.code;
      assert.equal(await bad(meterKey.privatePem), 'METER_KEY_INVALID', 'a private key is refused');
      assert.equal(await bad('not a key at all'), 'METER_KEY_INVALID');
      assert.equal(await bad('AAAA'), 'METER_KEY_INVALID');
      const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
      assert.equal(await bad(rsa), 'METER_KEY_INVALID', 'an RSA key cannot verify OCMF ECDSA');
      assert.equal((await node.api('PUT', path, { publicKey: { pem: 1 } }, operator)).status, 400);
      assert.equal((await node.api('PUT', path, { publicKey: meterKey.publicPem, extra: 1 }, operator)).status, 400);
      assert.equal((await node.api('PUT', '/api/v1/stations/NO-SUCH/meter-keys', { publicKey: meterKey.publicPem }, operator)).body.error.code, 'METER_KEY_NOT_FOUND');
      assert.equal((await node.api('DELETE', `${path}?meterSerial=NOPE`, undefined, operator)).status, 404);
      // A key for any meter of the station, added and removed again.
      assert.equal((await node.api('PUT', path, { publicKey: meterKey.publicB64 }, operator)).body.meterSerial, '*');
      assert.equal((await node.api('DELETE', `${path}?meterSerial=*`, undefined, auditor)).status, 403);
      assert.equal((await node.api('DELETE', `${path}?meterSerial=*`, undefined, operator)).status, 204);
      assert.equal((await node.api('GET', path, undefined, auditor)).body.length, 2);
    });

    test('data signed with the registered key raises nothing; data signed with another key raises the signedMeter alert', async () => {
      const alerts = async () => {
        await node.app.monitor.settled();
        return (await node.api('GET', '/api/v1/alerts')).body.filter((a: any) => a.detector === 'signedMeter');
      };
      await station.call('TransactionEvent', await signedStart('MTR-GOOD', meterKey));
      assert.deepEqual(await alerts(), [], 'the registered key verifies');
      // The station signs with a key of its own and sends that key along: it verifies against itself, not against the registry.
      await station.call('TransactionEvent', await signedStart('MTR-FORGED', forgerKey));
      const found = await alerts();
      assert.equal(found.length, 1, JSON.stringify(found));
      assert.equal(found[0].title, 'Signed meter data failed verification');
      assert.equal(found[0].severity, 'critical');
      assert.equal(found[0].stationId, id);
      assert.match(JSON.stringify(found[0]), /MTR-FORGED/);
    });
  });
}
