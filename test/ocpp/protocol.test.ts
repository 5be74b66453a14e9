/**
 * OCPP-J framing and validation over real sockets: every CALLERROR code, in
 * the spelling each version uses.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import type { OcppVersion } from '../../src/model/ocpp-version.js';
import { eventually, startTestNode, type TestNode } from '../support/node.js';
import { boot, connectRaw, type RawClient } from '../support/raw-client.js';

const PASSWORD = 'correct-horse-battery-1';
let node: TestNode;

before(async () => {
  node = await startTestNode({ db: 'sqlite', config: { ocpp: { ratePerSecond: 5, rateBurst: 30 } } });
});
after(() => node.stop());

type V = OcppVersion;
const SUB: Record<V, string> = { '1.6': 'ocpp1.6', '2.0.1': 'ocpp2.0.1', '2.1': 'ocpp2.1' };

async function station(id: string, v: V): Promise<RawClient> {
  const r = await node.api('POST', '/api/v1/stations', { id, securityProfile: 1, password: PASSWORD });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const c = await connectRaw(`${node.ws}/${id}`, { protocol: SUB[v], user: id, password: PASSWORD });
  assert.equal(c.protocol, SUB[v]);
  const res = await c.call('BootNotification', boot[v]);
  assert.equal(res[0], 3);
  assert.equal(res[2].status, 'Accepted');
  return c;
}

const expected: Record<V, Record<string, string>> = {
  '1.6': { format: 'FormationViolation', frame: 'ProtocolError', type: 'NotSupported', occurrence: 'OccurrenceConstraintViolation' },
  '2.0.1': { format: 'FormatViolation', frame: 'RpcFrameworkError', type: 'MessageTypeNotSupported', occurrence: 'OccurrenceConstraintViolation' },
  '2.1': { format: 'FormatViolation', frame: 'RpcFrameworkError', type: 'MessageTypeNotSupported', occurrence: 'OccurrenceConstraintViolation' },
};

for (const v of ['1.6', '2.0.1', '2.1'] as V[]) {
  describe(`OCPP ${v} error codes`, () => {
    let c: RawClient;
    before(async () => {
      c = await station(`ERR-${v.replace(/\./g, '')}`, v);
    });
    after(() => c.close());

    test('an unknown action is NotImplemented', async () => {
      const r = await c.call('SelfDestruct', {});
      assert.equal(r[0], 4);
      assert.equal(r[2], 'NotImplemented');
    });
    test('a known action the CSMS does not take from stations is NotSupported', async () => {
      const r = await c.call('Reset', v === '1.6' ? { type: 'Soft' } : { type: 'Immediate' });
      assert.deepEqual([r[0], r[2]], [4, 'NotSupported']);
    });
    test('a missing required field is an occurrence violation', async () => {
      const r = await c.call('Heartbeat', {});
      assert.equal(r[0], 3, 'Heartbeat with {} is valid');
      const bad = await c.call('StatusNotification', {});
      assert.deepEqual([bad[0], bad[2]], [4, expected[v].occurrence]);
    });
    test('a wrong type is TypeConstraintViolation', async () => {
      const payload = v === '1.6' ? { ...boot[v], chargePointModel: 42 } : { reason: 'PowerUp', chargingStation: { vendorName: 'Acme', model: 42 } };
      const r = await c.call('BootNotification', payload);
      assert.deepEqual([r[0], r[2]], [4, 'TypeConstraintViolation']);
    });
    test('an extra field or out-of-range value is PropertyConstraintViolation', async () => {
      const r = await c.call('Heartbeat', { extra: true });
      assert.deepEqual([r[0], r[2]], [4, 'PropertyConstraintViolation']);
      const long = v === '1.6' ? { ...boot[v], chargePointModel: 'x'.repeat(100) } : { reason: 'PowerUp', chargingStation: { vendorName: 'Acme', model: 'x'.repeat(100) } };
      const r2 = await c.call('BootNotification', long);
      assert.deepEqual([r2[0], r2[2]], [4, 'PropertyConstraintViolation']);
    });
    test('a malformed date-time is a format violation in the version\'s spelling', async () => {
      const payload = v === '1.6' ? { type: 'FirmwareUpdated', timestamp: 'yesterday' } : { type: 'FirmwareUpdated', timestamp: 'yesterday' };
      const r = await c.call('SecurityEventNotification', payload);
      assert.deepEqual([r[0], r[2]], [4, expected[v].format]);
    });
    test('broken JSON gets a frame-level error with id "-1"', async () => {
      const r = await c.send('[2, "abc", "Heartbeat", {');
      assert.equal(r[0], 4);
      assert.equal(r[1], '-1');
      assert.equal(r[2], expected[v].frame);
    });
    test('an unknown message type id is refused', async () => {
      const r = await c.send('[7, "m1", "Heartbeat", {}]');
      assert.deepEqual([r[0], r[1], r[2]], [4, 'm1', expected[v].type]);
    });
    test('a reused message id is refused as a replay', async () => {
      const ok = await c.call('Heartbeat', {}, 'same-id-1');
      assert.equal(ok[0], 3);
      const again = await c.call('Heartbeat', {}, 'same-id-1');
      assert.deepEqual([again[0], again[2]], [4, expected[v].frame]);
    });
    test('the node is still alive and answering', async () => {
      const r = await c.call('Heartbeat', {});
      assert.equal(r[0], 3);
      assert.match(r[2].currentTime, /^\d{4}-\d\d-\d\dT/);
    });
  });
}

test('a flood over the message rate gets SecurityError and is recorded', async () => {
  const c = await station('FLOOD-1', '2.0.1');
  const answers: any[][] = [];
  for (let i = 0; i < 40; i++) answers.push(await c.call('Heartbeat', {}));
  assert.ok(answers.some((a) => a[0] === 4 && a[2] === 'SecurityError'), 'some calls are refused');
  await c.close();
  await eventually('a RateLimited event', async () => (await node.api('GET', '/api/v1/security-events?stationId=FLOOD-1')).body.some((e: any) => e.type === 'RateLimited'));
});

test('an oversized frame closes the connection and the node survives', async () => {
  const c = await station('BIG-1', '2.0.1');
  const closed = new Promise<number>((r) => c.ws.once('close', (code) => r(code)));
  c.ws.send(JSON.stringify([2, 'big', 'DataTransfer', { vendorId: 'x', data: 'A'.repeat(300 * 1024) }]));
  assert.equal(await closed, 1009);
  const again = await connectRaw(`${node.ws}/BIG-1`, { protocol: 'ocpp2.0.1', user: 'BIG-1', password: PASSWORD });
  assert.equal((await again.call('Heartbeat', {}))[0], 3);
  await again.close();
});

test('a handshake offering no supported OCPP subprotocol completes without one and is closed at once (OCPP-J §3.1.2)', async () => {
  await node.api('POST', '/api/v1/stations', { id: 'NOPROTO', securityProfile: 1, password: PASSWORD });
  const authorization = 'Basic ' + Buffer.from(`NOPROTO:${PASSWORD}`).toString('base64');
  // Offered as a plain header, so the client library does not itself refuse a 101 without a subprotocol.
  for (const offered of [{ 'Sec-WebSocket-Protocol': 'ocpp1.5' }, {}]) {
    const ws = new WebSocket(`${node.ws}/NOPROTO`, { headers: { authorization, ...offered } });
    const opened = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => resolve(ws.protocol));
      ws.once('error', reject);
    });
    assert.equal(opened, '', 'no subprotocol in the 101 answer');
    const [code] = (await once(ws, 'close')) as [number];
    assert.equal(code, 1002, JSON.stringify(offered));
  }
  // No session was started for it: the station is not connected.
  assert.equal(node.app.gateway.session('NOPROTO'), undefined);
});

test('a station far over the rate limit gets its refusals, then a 1008 close handshake', async () => {
  const c = await station('FLOOD-2', '2.0.1');
  const closed = new Promise<number>((r) => c.ws.once('close', (code) => r(code)));
  const answers: unknown[][] = [];
  c.ws.on('message', (m) => answers.push(JSON.parse(String(m))));
  for (let i = 0; i < 300; i++) c.ws.send(JSON.stringify([2, `burst-${i}`, 'Heartbeat', {}]));
  assert.equal(await closed, 1008);
  assert.ok(answers.some((a) => a[0] === 4 && a[2] === 'SecurityError'), `answers before the close: ${answers.length}`);
});

test('a connection that never finishes its upgrade request is dropped', async () => {
  const { connect } = await import('node:net');
  const socket = connect(Number(new URL(node.http).port), '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.write('GET /ocpp/SLOW-1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
  const ended = await new Promise<boolean>((resolve) => {
    const guard = setTimeout(() => resolve(false), 60_000);
    socket.once('close', () => {
      clearTimeout(guard);
      resolve(true);
    });
    socket.resume();
  });
  socket.destroy();
  assert.ok(ended, 'the server still holds the half-sent request after 60 s');
});
