/**
 * A call from the CSMS to a station (POST /api/v1/stations/:id/calls), over
 * real sockets: each way it can end has its own answer, so an operator can
 * tell a station that is slow from one that refused or one that went away.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { startTestNode, type TestNode } from '../support/node.js';
import { boot, connectRaw, type RawClient } from '../support/raw-client.js';

const PASSWORD = 'correct-horse-battery-1';
const TRIGGER = { action: 'TriggerMessage', payload: { requestedMessage: 'Heartbeat' } };
let node: TestNode;

before(async () => {
  node = await startTestNode({ db: 'sqlite' });
});
after(() => node.stop());

/** A 2.0.1 station, booted, that answers the CSMS's CALLs with `answer`. */
async function station(id: string, answer: (call: any[]) => string | undefined): Promise<RawClient> {
  const r = await node.api('POST', '/api/v1/stations', { id, securityProfile: 1, password: PASSWORD });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const c = await connectRaw(`${node.ws}/${id}`, { user: id, password: PASSWORD, answer });
  const res = await c.call('BootNotification', boot['2.0.1']);
  assert.equal(res[2].status, 'Accepted');
  return c;
}

test('a station that answers: 200 with its answer', async () => {
  const c = await station('CALL-OK', (call) => JSON.stringify([3, call[1], { status: 'Accepted' }]));
  const r = await node.api('POST', '/api/v1/stations/CALL-OK/calls', TRIGGER);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body, { status: 'Accepted' });
  await c.close();
});

test('a station that says nothing: 504 once the call times out, and its late answer harms nothing', async () => {
  const c = await station('CALL-SILENT', () => undefined);
  const started = performance.now();
  const r = await node.api('POST', '/api/v1/stations/CALL-SILENT/calls', { ...TRIGGER, timeoutMs: 300 });
  assert.equal(r.status, 504, JSON.stringify(r.body));
  assert.equal((r.body as { error: { code: string } }).error.code, 'STATION_CALL_TIMEOUT');
  assert.ok(performance.now() - started >= 290, 'answered before the timeout');
  // The answer arrives after the node gave up on it: the connection goes on.
  const [, id] = c.incoming[0]!;
  c.ws.send(JSON.stringify([3, id, { status: 'Accepted' }]));
  const hb = await c.call('Heartbeat', {});
  assert.equal(hb[0], 3);
  await c.close();
});

test('a station that refuses: 502 with its error code', async () => {
  const c = await station('CALL-REFUSE', (call) => JSON.stringify([4, call[1], 'NotSupported', 'not here', {}]));
  const r = await node.api('POST', '/api/v1/stations/CALL-REFUSE/calls', TRIGGER);
  assert.equal(r.status, 502, JSON.stringify(r.body));
  assert.equal((r.body as { error: { code: string } }).error.code, 'STATION_CALL_REJECTED');
  await c.close();
});

test('a station that refuses with an error code every object has: 502 all the same', async () => {
  for (const code of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    const id = `CALL-ODD-${code.replace(/_/g, '')}`;
    const c = await station(id, (call) => JSON.stringify([4, call[1], code, 'odd', {}]));
    const r = await node.api('POST', `/api/v1/stations/${id}/calls`, { ...TRIGGER, timeoutMs: 5_000 });
    assert.equal(r.status, 502, `${code}: ${JSON.stringify(r.body)}`);
    assert.equal((r.body as { error: { code: string } }).error.code, 'STATION_CALL_REJECTED');
    await c.close();
  }
});

test('a station that goes away during the call: 409, not connected', async () => {
  const c = await station('CALL-GONE', () => {
    setImmediate(() => c.ws.terminate());
    return undefined;
  });
  const r = await node.api('POST', '/api/v1/stations/CALL-GONE/calls', { ...TRIGGER, timeoutMs: 10_000 });
  assert.equal(r.status, 409, JSON.stringify(r.body));
  assert.equal((r.body as { error: { code: string } }).error.code, 'STATION_OFFLINE');
  if (c.ws.readyState !== c.ws.CLOSED) await once(c.ws, 'close');
});
