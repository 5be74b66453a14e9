/**
 * The listeners and ocpp-rpc state every connection shares (connection.ts,
 * slim-client.ts): two stations of different versions interleave bad frames,
 * replayed ids and CSMS calls; each must be answered in its own vocabulary,
 * with its own replay window, and a reconnect must not be undone by the old
 * connection's close.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode } from '../support/node.js';
import { connectRaw } from '../support/raw-client.js';

test('two stations interleaving bad frames, replays and CSMS calls keep their own state', async (t) => {
  const node = await startTestNode({ config: { ocpp: { ratePerSecond: 100_000, rateBurst: 100_000 } } });
  t.after(() => node.stop());
  await node.api('POST', '/api/v1/stations', { id: 'SHAREA16', securityProfile: 1, password: 'shared-state-pass-0001' });
  await node.api('POST', '/api/v1/stations', { id: 'SHAREB201', securityProfile: 1, password: 'shared-state-pass-0002' });
  const a = await connectRaw(`${node.ws}/SHAREA16`, { protocol: 'ocpp1.6', user: 'SHAREA16', password: 'shared-state-pass-0001' });
  const b = await connectRaw(`${node.ws}/SHAREB201`, { protocol: 'ocpp2.0.1', user: 'SHAREB201', password: 'shared-state-pass-0002' });
  t.after(() => Promise.all([a.close(), b.close()]));

  // The same id on both stations: each connection has its own window.
  assert.equal((await a.call('Heartbeat', {}, 'same-id'))[0], 3);
  assert.equal((await b.call('Heartbeat', {}, 'same-id'))[0], 3);
  // Replays are refused on each.
  const [ra, rb] = await Promise.all([a.call('Heartbeat', {}, 'same-id'), b.call('Heartbeat', {}, 'same-id')]);
  assert.equal(ra[0], 4);
  assert.equal(rb[0], 4);
  // Bad JSON interleaved: each is answered in its own version's spelling, with "-1".
  const [ba, bb] = await Promise.all([a.send('[2, "x1", "Heartbeat", {'), b.send('[2, "x2", "Heartbeat", {')]);
  assert.equal(ba[1], '-1');
  assert.equal(bb[1], '-1');
  assert.notEqual(ba[2], 'RpcFrameworkError', `1.6 has no RpcFrameworkError: ${JSON.stringify(ba)}`);
  assert.equal(bb[2], 'RpcFrameworkError', JSON.stringify(bb));
  // An unknown message type keeps its readable id on each.
  const [ta, tb] = await Promise.all([a.send('[7, "typ-a", "Heartbeat", {}]'), b.send('[7, "typ-b", "Heartbeat", {}]')]);
  assert.equal(ta[1], 'typ-a');
  assert.equal(tb[1], 'typ-b');
  // Schema violations per version.
  const va = await a.call('BootNotification', { chargePointVendor: 1 });
  const vb = await b.call('BootNotification', { reason: 'Nope' });
  assert.equal(va[0], 4);
  assert.equal(vb[0], 4);
  // A CSMS call to B while A floods bad frames.
  const answer = node.app.gateway.call('SHAREB201', 'TriggerMessage', { requestedMessage: 'Heartbeat' });
  for (let i = 0; i < 3; i++) void a.send('nonsense');
  await b.waitForCall('TriggerMessage');
  assert.deepEqual(await answer, { status: 'Accepted' });
  assert.equal((await b.call('Heartbeat', {}))[0], 3);

  // Reconnect within milliseconds: the old close must not take the new session out of the live map.
  await b.close();
  const b2 = await connectRaw(`${node.ws}/SHAREB201`, { protocol: 'ocpp2.0.1', user: 'SHAREB201', password: 'shared-state-pass-0002' });
  t.after(() => b2.close());
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(node.app.gateway.session('SHAREB201'), 'the new session is live');
  assert.equal((await b2.call('Heartbeat', {}, 'same-id'))[0], 3, 'a new connection starts a new replay window');
  const again = node.app.gateway.call('SHAREB201', 'TriggerMessage', { requestedMessage: 'Heartbeat' });
  await b2.waitForCall('TriggerMessage');
  assert.deepEqual(await again, { status: 'Accepted' });
});
