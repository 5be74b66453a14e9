/**
 * The node's keep-alive over real sockets: a station that answers pings
 * stays, one that has gone silent (no pong, no message) is cut off within
 * two intervals, so its slot and memory are not held for a dead peer; and a
 * large fleet is pinged a few hundred connections per tick.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startTestNode } from '../support/node.js';
import { connectRaw } from '../support/raw-client.js';
import { openRawSocket, OP } from '../support/raw-socket.js';
import { createKeepAlive } from '../../src/ocpp/keep-alive.js';

const PASSWORD = 'keep-alive-password-0001';

test('a silent station is terminated within two ping intervals; one that answers pings stays connected', async (t) => {
  const node = await startTestNode({ config: { ocpp: { pingIntervalMs: 400 } } });
  t.after(() => node.stop());
  for (const id of ['SILENT1', 'ANSWERS1']) await node.api('POST', '/api/v1/stations', { id, securityProfile: 1, password: PASSWORD });
  // Hand-written frames: pings from the node are read and never answered.
  const silent = await openRawSocket(`${node.ws}/SILENT1`, { protocol: 'ocpp2.0.1', user: 'SILENT1', password: PASSWORD });
  // ws answers every ping with a pong by itself.
  const answers = await connectRaw(`${node.ws}/ANSWERS1`, { protocol: 'ocpp2.0.1', user: 'ANSWERS1', password: PASSWORD });
  t.after(() => answers.close());
  const ping = await silent.nextFrame(OP.ping, 2000);
  assert.equal(ping.opcode, OP.ping, 'the node pings');
  const t0 = Date.now();
  await silent.closed;
  assert.ok(Date.now() - t0 < 2000, `the silent station was cut off ${Date.now() - t0} ms after the first ping`);
  await eventually('the silent station to leave the live sessions', () => node.app.gateway.session('SILENT1') === undefined, 2000);
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(node.app.gateway.session('ANSWERS1'), 'the station that answers pings is still connected');
  assert.equal((await answers.call('Heartbeat', {}))[0], 3);
});

test('pingIntervalMs 0 turns keep-alive off', async (t) => {
  const node = await startTestNode({ config: { ocpp: { pingIntervalMs: 0 } } });
  t.after(() => node.stop());
  await node.api('POST', '/api/v1/stations', { id: 'NOPING1', securityProfile: 1, password: PASSWORD });
  const silent = await openRawSocket(`${node.ws}/NOPING1`, { protocol: 'ocpp2.0.1', user: 'NOPING1', password: PASSWORD });
  await assert.rejects(silent.nextFrame(OP.ping, 1500), 'no ping within 1.5 s');
  assert.ok(node.app.gateway.session('NOPING1'));
  silent.socket.destroy();
});

test('a station that half-closes its TCP connection without a Close, leaving what the node wrote unread, is terminated by the keep-alive', async (t) => {
  const node = await startTestNode({ config: { ocpp: { pingIntervalMs: 1500, ratePerSecond: 100_000, rateBurst: 100_000, maxFrameBytes: 1024 * 1024 } } });
  t.after(() => node.stop());
  await node.api('POST', '/api/v1/stations', { id: 'HALFOPEN1', securityProfile: 1, password: PASSWORD });
  const raw = await openRawSocket(`${node.ws}/HALFOPEN1`, { protocol: 'ocpp2.0.1', user: 'HALFOPEN1', password: PASSWORD });
  t.after(() => raw.socket.destroy());
  // The station reads nothing: the node's answers (each echoes its long message id) pile up in its write buffer.
  raw.socket.pause();
  const session = await eventually('the session', () => node.app.gateway.session('HALFOPEN1'));
  const serverSocket = session.client._ws._socket;
  const calls = 24;
  const idLength = 900_000;
  for (let i = 0; i < calls; i++) raw.sendText(JSON.stringify([2, `${String(i).padStart(4, '0')}${'h'.repeat(idLength - 4)}`, 'Heartbeat', {}]));
  await eventually('every CALL to be answered', () => serverSocket.bytesWritten >= calls * idLength, 10_000);
  assert.ok(serverSocket.writableLength > 4 * 2 ** 20, `the node holds ${serverSocket.writableLength} bytes the station has not read`);
  assert.ok(!serverSocket.destroyed && node.app.gateway.session('HALFOPEN1'), 'the station is connected before it half-closes');
  // FIN without a Close frame, and nothing more: the node's socket can never finish its end of the connection.
  raw.socket.end();
  await eventually('the half-closed station to be terminated', () => serverSocket.destroyed && node.app.gateway.session('HALFOPEN1') === undefined, 5000);
});

test('a station the node has paused for its rate (backpressure) is not cut off by the keep-alive while paused', async (t) => {
  // Seven frames at once against a burst of 4 at 5/s: most of a second of pauses, over two ping
  // intervals. The station's pongs count as frames too (3 a second at this ping interval): the rate
  // stays above them (at 2/s the pongs alone kept the budget at zero, and an idle station was refused),
  // and the burst leaves one frame of headroom before the close (-4), for a pong to a ping sent just before.
  const node = await startTestNode({ config: { ocpp: { pingIntervalMs: 320, ratePerSecond: 5, rateBurst: 4 } } });
  t.after(() => node.stop());
  await node.api('POST', '/api/v1/stations', { id: 'PAUSED1', securityProfile: 1, password: PASSWORD });
  const c = await connectRaw(`${node.ws}/PAUSED1`, { protocol: 'ocpp2.0.1', user: 'PAUSED1', password: PASSWORD });
  t.after(() => c.close());
  const closed = new Promise<number>((resolve) => c.ws.once('close', (code) => resolve(code)));
  for (let i = 0; i < 7; i++) c.ws.send(JSON.stringify([2, `burst-${i}`, 'Heartbeat', {}]));
  const answers: any[][] = [];
  for (let i = 0; i < 7; i++) answers.push(await c.next());
  assert.equal(answers.length, 7, 'every frame of the burst is answered, some with SecurityError');
  const early = await Promise.race([closed.then((code) => `closed with ${code}`), new Promise((r) => setTimeout(() => r('open'), 1500))]);
  assert.equal(early, 'open');
  assert.ok(node.app.gateway.session('PAUSED1'));
  // The burst can leave the budget in debt down to -4 (with a pong), read together and late on a
  // loaded machine: five tokens at 5/s less the pongs' 3/s is 2.5 s; 3.5 s have passed here.
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal((await c.call('Heartbeat', {}))[0], 3);
});

test('a large fleet is pinged a few hundred at a time, not a sixteenth of it at once', async (t) => {
  // Stand-ins for sockets: what is under test is when the shared timer pings whom.
  let pinged = 0;
  const fleet = Array.from({ length: 10_000 }, () => ({ readyState: 1, isPaused: false, ping: () => void pinged++, terminate: () => undefined }));
  const keepAlive = createKeepAlive(30_000);
  t.after(() => keepAlive.close());
  for (const ws of fleet) keepAlive.add(ws as any);
  // 30 s over 256 groups: a tick every 117 ms, each pinging 1/256 of the fleet.
  await new Promise((r) => setTimeout(r, 180));
  assert.ok(pinged > 0, 'the first tick came');
  assert.ok(pinged <= Math.ceil(10_000 / 256), `one tick pinged ${pinged} of 10,000`);
});
