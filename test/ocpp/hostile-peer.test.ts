/**
 * Hostile peers against a real node process: what one station sends must
 * never end the process that serves every other station.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { NodeProcess } from '../cluster/processes.js';
import { registerStation, startScratchNode } from '../support/scratch-node.js';
import { openRawSocket, OP } from '../support/raw-socket.js';
import { connectRaw, boot } from '../support/raw-client.js';

const ADMIN = 'hostile-admin-token-0123456789abcdef';
const PASSWORD = 'hostile-password-0123456789';

const startNode = (t: { after(fn: () => unknown): void }) => startScratchNode(t, 'hostile', ADMIN);
const register = (node: NodeProcess, id: string) => registerStation(node, id, PASSWORD);

/** The node still serves: its process is up, /healthz answers and an honest station gets a BootNotification answer. */
async function assertServing(node: NodeProcess, honestId: string): Promise<void> {
  const exitedEarly = await Promise.race([node.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 300))]);
  assert.equal(exitedEarly, false, 'the node process exited');
  const health = await fetch(`http://127.0.0.1:${node.port}/healthz`);
  assert.equal(health.status, 200);
  const honest = await connectRaw(`ws://127.0.0.1:${node.port}/ocpp/${honestId}`, { protocol: 'ocpp1.6', user: honestId, password: PASSWORD });
  const [type, , result] = await honest.call('BootNotification', boot['1.6']);
  assert.equal(type, 3);
  assert.equal(result.status, 'Accepted');
  await honest.close();
}

for (const [name, lastFrame] of [
  ['a frame with invalid UTF-8', (s: Awaited<ReturnType<typeof openRawSocket>>) => s.writeFrame(OP.text, Buffer.from([0x5b, 0xff, 0xfe, 0x5d]))],
  ['a frame header declaring more than the frame limit', (s: Awaited<ReturnType<typeof openRawSocket>>) => s.writeFrame(OP.text, Buffer.from('[2,"x"'), { declaredLength: 64 * 1024 * 1024 })],
] as const) {
  test(`bad frames until the node closes, then ${name} before the Close is answered: the node keeps serving`, async (t) => {
    const node = await startNode(t);
    await register(node, 'HOSTILE1');
    await register(node, 'HONEST1');
    const s = await openRawSocket(`ws://127.0.0.1:${node.port}/ocpp/HOSTILE1`, { protocol: 'ocpp1.6', user: 'HOSTILE1', password: PASSWORD });
    for (let i = 0; i < 12; i++) s.sendText('this is not json');
    const close = await s.nextFrame(OP.close);
    assert.ok(close.payload.readUInt16BE(0) >= 1000, 'the node starts a close handshake');
    lastFrame(s);
    await s.closed;
    await assertServing(node, 'HONEST1');
  });
}

/** Frames a flooder sends, and the close codes that end it: 1008 from the budget, or 1002 once ocpp-rpc's run of consecutive bad frames is over `maxBadMessages`. */
for (const [name, frame, codes] of [
  ['schema-invalid CALLs', (i: number) => JSON.stringify([2, `f${i}`, 'Heartbeat', { unexpected: i }]), [1008]],
  ['answers to calls never made', (i: number) => JSON.stringify([3, `r${i}`, {}]), [1008, 1002]],
  ['valid CALLs', (i: number) => JSON.stringify([2, `v${i}`, 'Heartbeat', {}]), [1008]],
] as const) {
  test(`a station flooding ${name} is slowed, then closed, and an honest station is still answered`, async (t) => {
    const node = await startNode(t);
    await register(node, 'FLOOD1');
    await register(node, 'HONEST2');
    const flooder = await connectRaw(`ws://127.0.0.1:${node.port}/ocpp/FLOOD1`, { protocol: 'ocpp1.6', user: 'FLOOD1', password: PASSWORD });
    const closed = new Promise<number>((resolve) => flooder.ws.once('close', (code) => resolve(code)));
    const honest = await connectRaw(`ws://127.0.0.1:${node.port}/ocpp/HONEST2`, { protocol: 'ocpp1.6', user: 'HONEST2', password: PASSWORD });
    let sent = 0;
    let open = true;
    void closed.then(() => (open = false));
    // As fast as the socket takes them, until the node closes it or 50,000 frames went out.
    const flood = (async () => {
      while (open && sent < 50_000) {
        for (let i = 0; i < 500 && flooder.ws.readyState === 1; i++) flooder.ws.send(frame(sent++));
        await new Promise((r) => setImmediate(r));
      }
    })();
    // Meanwhile the honest station sends a Heartbeat every 200 ms, well inside its own budget.
    let answered = 0;
    while (open) {
      const [type] = await honest.call('Heartbeat', {});
      assert.equal(type, 3, 'the honest station is answered during the flood');
      answered++;
      await new Promise((r) => setTimeout(r, 200));
    }
    await flood;
    assert.ok((codes as readonly number[]).includes(await closed), `the flooder is closed with ${codes.join(' or ')} (sent ${sent} frames, got ${await closed})`);
    const events = await node.api('GET', '/api/v1/security-events?stationId=FLOOD1');
    assert.ok(events.body.some((e: any) => e.type === 'RateLimited' || e.type === 'InvalidMessage'), JSON.stringify(events.body.map((e: any) => e.type)));
    assert.ok(events.body.length < 50, `security events are throttled (${events.body.length} stored)`);
    await honest.close();
    await assertServing(node, 'HONEST2');
  });
}

/** One WebSocket upgrade request; resolves with the HTTP status and the Retry-After header (101 when accepted). */
function upgrade(port: number, id: string, password: string): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port, path: `/ocpp/${id}`,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), 'Sec-WebSocket-Protocol': 'ocpp1.6', Authorization: 'Basic ' + Buffer.from(`${id}:${password}`).toString('base64') },
    });
    req.on('upgrade', (_res, socket) => (socket.destroy(), resolve({ status: 101 })));
    req.on('response', (res) => (res.resume(), resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined })));
    req.on('error', reject);
    req.end();
  });
}

test('a storm of upgrades past the handshake bound is shed with 503 and Retry-After, and the shed stations get in when they retry', async (t) => {
  const node = await startScratchNode(t, 'storm', ADMIN, { ocpp: { maxHandshakes: 2, shedRetryAfterS: 2 } });
  // Operator-chosen passwords: the expensive scrypt cost, so handshakes overlap.
  const ids = Array.from({ length: 24 }, (_, i) => `STORM${i}`);
  for (const id of ids) await register(node, id);
  const first = await Promise.all(ids.map((id) => upgrade(node.port, id, PASSWORD)));
  const shed = first.filter((r) => r.status === 503);
  assert.ok(shed.length > 0, `some upgrades are shed (${JSON.stringify(first.map((r) => r.status))})`);
  assert.deepEqual([...new Set(first.map((r) => r.status))].sort(), [101, 503]);
  for (const r of shed) assert.ok(Number(r.retryAfter) >= 1 && Number(r.retryAfter) <= 2, `Retry-After ${r.retryAfter}`);
  // Each shed station comes back one at a time and is let in.
  for (const [i, r] of first.entries()) if (r.status === 503) assert.equal((await upgrade(node.port, ids[i]!, PASSWORD)).status, 101);
});
