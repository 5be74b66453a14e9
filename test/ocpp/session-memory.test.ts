/**
 * What one connected station can make the node hold. Message ids are the
 * station's to choose, up to the frame limit each; the replay window must
 * not keep them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startTestNode } from '../support/node.js';
import { connectRaw } from '../support/raw-client.js';

setFlagsFromString('--expose-gc');
setFlagsFromString('--allow-natives-syntax');
const gc: () => void = runInNewContext('gc');
/** Whether V8 keeps the object's properties in a hidden class (fast) rather than a hash table. */
const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;

async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}

test('1,024 CALLs with 64 KiB message ids do not make the node hold the ids, and a reused one is still refused', async (t) => {
  const node = await startTestNode({ config: { ocpp: { ratePerSecond: 100_000, rateBurst: 100_000 } } });
  t.after(() => node.stop());
  await node.api('POST', '/api/v1/stations', { id: 'LONGIDS1', securityProfile: 1, password: 'long-ids-password-0001' });
  const c = await connectRaw(`${node.ws}/LONGIDS1`, { protocol: 'ocpp1.6', user: 'LONGIDS1', password: 'long-ids-password-0001' });
  t.after(() => c.close());
  const id = (i: number) => `${String(i).padStart(6, '0')}${'k'.repeat(64 * 1024 - 6)}`;
  assert.equal((await c.call('Heartbeat', {}, id(0)))[0], 3);
  const before = await heapAfterGc();
  for (let i = 1; i <= 1024; i++) assert.equal((await c.call('Heartbeat', {}, id(i)))[0], 3);
  const grown = (await heapAfterGc()) - before;
  // The ids sent add up to 64 MiB; the window keeps 8 bytes of each.
  assert.ok(grown < 16 * 2 ** 20, `the node's heap grew by ${(grown / 2 ** 20).toFixed(1)} MiB`);
  const replay = await c.call('Heartbeat', {}, id(1000));
  assert.equal(replay[0], 4, 'a reused id within the window is refused');
  assert.equal(replay[1], id(1000));
});

test('a live session keeps neither the upgrade request nor the password, and its socket carries no upgrade listeners', async (t) => {
  const node = await startTestNode();
  t.after(() => node.stop());
  const password = 'kept-password-0123456789';
  await node.api('POST', '/api/v1/stations', { id: 'NOREQUEST1', securityProfile: 1, password });
  const c = await connectRaw(`${node.ws}/NOREQUEST1`, { protocol: 'ocpp2.0.1', user: 'NOREQUEST1', password });
  t.after(() => c.close());
  assert.equal((await c.call('Heartbeat', {}))[0], 3);
  const session = node.app.gateway.session('NOREQUEST1')!;
  assert.deepEqual(Object.keys(session.client.handshake).sort(), ['identity', 'remoteAddress']);
  assert.equal(session.remoteAddress, '127.0.0.1');
  const socket = session.client._ws._socket;
  // What is left on the socket for these events is Node's and ws's own: the in-flight handshake bound released its slot.
  for (const event of ['end', 'close', 'error']) {
    for (const l of socket.listeners(event)) assert.doesNotMatch(String(l), /abortUpgrade|before upgrade complete|release\(socket\)/, `an upgrade listener for '${event}' is left on the socket`);
  }
  // The session's listener tables are fast objects, not hash tables (slim-client.ts: compactListeners).
  for (const [name, emitter] of [['client', session.client], ['WebSocket', session.client._ws], ['socket', socket]] as const) {
    assert.ok(hasFastProperties(emitter._events), `the ${name}'s listener table is in dictionary mode`);
  }
  // ocpp-rpc's per-client state that a session never uses is let go (slim-client.ts: slimClient).
  assert.equal(session.client._nextPingTimeout, undefined);
  assert.equal(session.client._backoffStrategy, undefined);
  // The session still works both ways after the trim.
  const answer = node.app.gateway.call('NOREQUEST1', 'TriggerMessage', { requestedMessage: 'Heartbeat' });
  await c.waitForCall('TriggerMessage');
  await answer;
  assert.equal((await c.call('Heartbeat', {}))[0], 3);
});

test('a TLS session lets go of the spent handshake timer and keeps working', async (t) => {
  const node = await startTestNode();
  t.after(() => node.stop());
  const password = 'tls-session-password-0123';
  await node.api('POST', '/api/v1/stations', { id: 'TLSMEM1', securityProfile: 2, password });
  const ca = node.app.trust.listCas().map((c: { pem: string }) => c.pem);
  const c = await connectRaw(`${node.wss}/TLSMEM1`, { protocol: 'ocpp2.0.1', user: 'TLSMEM1', password, ca });
  t.after(() => c.close());
  assert.equal((await c.call('Heartbeat', {}))[0], 3);
  const socket = node.app.gateway.session('TLSMEM1')!.client._ws._socket;
  assert.equal(socket.encrypted, true);
  const kTimeout = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'timeout')!;
  assert.equal(socket[kTimeout], null, 'the cleared handshake Timeout is still held by the socket');
  assert.ok(hasFastProperties(socket._events), "the TLS socket's listener table is in dictionary mode");
  // Reads and writes refresh a socket's timer: with none left, traffic flows as before.
  for (let i = 0; i < 5; i++) assert.equal((await c.call('Heartbeat', {}))[0], 3);
});
