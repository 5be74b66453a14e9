/**
 * Shutting the gateway down: when `close()` resolves, every session has
 * ended and its end was reported, so the node can close the modules, the bus
 * and the database behind it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode } from '../support/node.js';
import { connectRaw } from '../support/raw-client.js';
import { openRawSocket } from '../support/raw-socket.js';
import { Topics } from '../../src/bus/events.js';

const PASSWORD = 'gateway-close-password-01';

test('gateway.close() resolves once every session has ended and its disconnection was reported', async (t) => {
  const node = await startTestNode();
  t.after(() => node.stop());
  const ids = ['CLOSE1', 'CLOSE2', 'CLOSE3'];
  for (const id of ids) await node.api('POST', '/api/v1/stations', { id, securityProfile: 1, password: PASSWORD });
  const a = await connectRaw(`${node.ws}/CLOSE1`, { protocol: 'ocpp2.0.1', user: 'CLOSE1', password: PASSWORD });
  const b = await connectRaw(`${node.ws}/CLOSE2`, { protocol: 'ocpp1.6', user: 'CLOSE2', password: PASSWORD });
  // One that reads nothing and never answers a Close.
  const raw = await openRawSocket(`${node.ws}/CLOSE3`, { protocol: 'ocpp2.0.1', user: 'CLOSE3', password: PASSWORD });
  raw.socket.pause();
  t.after(() => raw.socket.destroy());
  assert.equal((await a.call('Heartbeat', {}))[0], 3);
  assert.equal((await b.call('Heartbeat', {}))[0], 3);
  assert.equal([...node.app.gateway.sessions()].length, 3);
  const disconnected: string[] = [];
  node.app.bus.subscribe(Topics.stationDisconnected, (e) => void disconnected.push(e.stationId!));
  await node.app.gateway.close();
  assert.deepEqual([...node.app.gateway.sessions()].map((s) => s.stationId), [], 'no session is live once close() resolved');
  assert.deepEqual(disconnected.sort(), ids, 'every session reported its end before close() resolved');
});
