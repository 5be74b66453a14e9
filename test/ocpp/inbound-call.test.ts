/**
 * How the gateway answers a station's CALL (answerCall, src/ocpp/connection.ts),
 * on a gateway of its own whose dispatch misbehaves on purpose: an answer
 * that fails its own schema, a handler that fails with a plain error, a
 * message id reused while its CALL is still in flight, and the events
 * ocpp-rpc's clients emit for whoever listens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGateway } from '../../src/ocpp/index.js';
import { loadConfig } from '../../src/config.js';
import { connectRaw } from '../support/raw-client.js';

test('answers: a schema-failing answer is an InternalError, a thrown error is generic, an id in flight is refused', async (t) => {
  const misbehaved: string[] = [];
  let releaseSlow!: () => void;
  const slow = new Promise<void>((r) => (releaseSlow = r));
  const gateway = createGateway(
    {
      authenticate: async () => ({ accept: true, securityProfile: 1 }),
      duplicateRefused: () => undefined,
      connected: () => undefined,
      disconnected: () => undefined,
      misbehaved: (_ctx, kind, detail) => void misbehaved.push(`${kind}: ${detail}`),
      async dispatch(_ctx, action, params: any) {
        if (action === 'Heartbeat') return { currentTime: 42 };
        if (action === 'StatusNotification') throw new Error('database on fire');
        if (action === 'DataTransfer') {
          if (params.messageId === 'slow') await slow;
          return { status: 'Accepted' };
        }
        throw new Error(`unexpected ${action}`);
      },
    },
    loadConfig({}, {}).ocpp,
  );
  const server = createServer();
  server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(async () => {
    await gateway.close();
    await new Promise((r) => server.close(r));
  });
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ocpp/CALLS-1`;
  const c = await connectRaw(url, { protocol: 'ocpp2.0.1', user: 'CALLS-1', password: 'whatever-it-is-0001' });
  t.after(() => c.close());

  const results: unknown[] = [];
  gateway.session('CALLS-1')!.client.on('callResult', (e: { result: unknown }) => results.push(e.result));

  // The CSMS's own answer breaks its schema: the station hears InternalError, and it is not the station's misbehaviour.
  const hb = await c.call('Heartbeat', {}, 'hb-1');
  assert.deepEqual([hb[0], hb[1], hb[2], hb[4]], [4, 'hb-1', 'InternalError', {}]);
  assert.match(hb[3], /^An internal error occurred/, 'the protocol\'s own wording, nothing of the answer');
  assert.deepEqual(misbehaved, []);
  // A handler's plain error is not echoed to the station.
  assert.deepEqual(await c.call('StatusNotification', { timestamp: new Date().toISOString(), connectorStatus: 'Available', evseId: 1, connectorId: 1 }, 'st-1'), [4, 'st-1', 'InternalError', 'The CSMS could not process this message', {}]);

  // The same id again while the first CALL is still being handled.
  c.ws.send(JSON.stringify([2, 'dup-1', 'DataTransfer', { vendorId: 'evguard', messageId: 'slow' }]));
  const second = await c.call('DataTransfer', { vendorId: 'evguard', messageId: 'fast' }, 'dup-1');
  assert.equal(second[0], 4);
  assert.equal(second[2], 'RpcFrameworkError');
  releaseSlow();
  assert.deepEqual(await c.next(), [3, 'dup-1', { status: 'Accepted' }]);

  // A listener hears every result it asked for.
  assert.deepEqual(results, [{ currentTime: 42 }, { status: 'Accepted' }]);
  // An invalid request is the station's: counted, and answered with the schema's code.
  const bad = await c.call('DataTransfer', { vendorId: 7 }, 'bad-1');
  assert.deepEqual([bad[0], bad[1], bad[2]], [4, 'bad-1', 'TypeConstraintViolation']);
  assert.equal(misbehaved.length, 1);
  assert.match(misbehaved[0]!, /^InvalidMessage: DataTransfer/);
});
