/**
 * A station's frame budget must hold for every frame it can make the node
 * read: WebSocket pings and pongs as well as messages, frames it goes on
 * sending after the node has sent its Close, and frames on a new connection
 * it opened to start again with a full budget.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeProcess } from '../cluster/processes.js';
import { registerStation, startScratchNode } from '../support/scratch-node.js';
import { encodeFrame, openRawSocket, OP, type RawSocket } from '../support/raw-socket.js';
import { connectRaw } from '../support/raw-client.js';

const ADMIN = 'budget-admin-token-0123456789abcdef';
const PASSWORD = 'budget-password-0123456789';

const startNode = (t: { after(fn: () => unknown): void }, config?: object) => startScratchNode(t, 'budget', ADMIN, config);

async function station(node: NodeProcess, id: string): Promise<RawSocket> {
  await registerStation(node, id, PASSWORD);
  return openRawSocket(`ws://127.0.0.1:${node.port}/ocpp/${id}`, { protocol: 'ocpp1.6', user: id, password: PASSWORD });
}

/** Writes `batch` until `limit` bytes went out or the connection ended; resolves with the bytes the node's side accepted. */
async function push(s: RawSocket, batch: Buffer, limit: number): Promise<number> {
  let written = 0;
  let ended = false;
  void s.closed.then(() => (ended = true));
  while (!ended && written < limit) {
    written += batch.length;
    // Waits while the node does not read (a hang guard of 1 s per batch keeps the loop bounded).
    if (!s.socket.write(batch)) await new Promise((r) => (s.socket.once('drain', r), setTimeout(r, 1000)));
    else await new Promise((r) => setImmediate(r));
  }
  return written - s.socket.writableLength;
}

test('a station flooding pings is slowed, then closed with 1008, like any other flooder', async (t) => {
  const node = await startNode(t);
  const s = await station(node, 'PINGER1');
  // The flooder reads every pong, so nothing piles up on the node's side; 100,000 pings at most.
  const ping = encodeFrame(OP.ping, Buffer.from('12345678'));
  await push(s, Buffer.concat(Array(500).fill(ping)), 100_000 * ping.length);
  const close = s.frames.find((f) => f.opcode === OP.close) ?? (await s.nextFrame(OP.close, 5000));
  assert.equal(close.payload.readUInt16BE(0), 1008);
  await s.closed;
  const events = await node.api('GET', '/api/v1/security-events?stationId=PINGER1');
  assert.ok(events.body.some((e: any) => e.type === 'RateLimited'), JSON.stringify(events.body.map((e: any) => e.type)));
});

test('frames a station sends after the node closed it for its budget are not read, and its connection ends', async (t) => {
  const node = await startNode(t);
  const s = await station(node, 'AFTER1');
  // Schema-invalid CALLs until the invalid budget runs out and the node sends its Close.
  for (let i = 0; i < 40; i++) s.sendText(JSON.stringify([2, `bad${i}`, 'Heartbeat', { unexpected: i }]));
  const close = await s.nextFrame(OP.close, 10_000);
  assert.equal(close.payload.readUInt16BE(0), 1008);
  // Then 200 KiB frames without end, instead of answering the Close: at most 128 MiB.
  const big = encodeFrame(OP.text, Buffer.alloc(200 * 1024, 0x78));
  const accepted = await push(s, Buffer.concat(Array(8).fill(big)), 128 * 1024 * 1024);
  await s.closed;
  // Without a cut-off the node reads on until ws's 30 s close timeout; with it, only what the kernel's socket buffers hold gets in.
  assert.ok(accepted < 32 * 1024 * 1024, `the node accepted ${(accepted / 1048576).toFixed(1)} MiB after its Close`);
});

test('a station that reconnects to start over keeps the budget it spent', async (t) => {
  // One frame a second, a burst of 20: the budget a second connection starts with cannot have refilled.
  const node = await startNode(t, { ocpp: { ratePerSecond: 1, rateBurst: 20 } });
  await station(node, 'AGAIN1').then((s) => s.socket.destroy());
  const heartbeats = async (round: number): Promise<string[]> => {
    const c = await connectRaw(`ws://127.0.0.1:${node.port}/ocpp/AGAIN1`, { protocol: 'ocpp1.6', user: 'AGAIN1', password: PASSWORD });
    const answers: string[] = [];
    const done = new Promise<void>((resolve) => {
      c.ws.on('message', (d) => {
        const frame = JSON.parse(String(d));
        answers.push(frame[0] === 3 ? 'ok' : frame[2]);
        if (answers.length === 20) resolve();
      });
      c.ws.once('close', () => resolve());
    });
    for (let i = 0; i < 20; i++) c.ws.send(JSON.stringify([2, `r${round}-${i}`, 'Heartbeat', {}]));
    await done;
    c.ws.terminate();
    return answers;
  };
  assert.deepEqual(await heartbeats(1), Array(20).fill('ok'));
  const second = await heartbeats(2);
  assert.ok(second.filter((a) => a === 'ok').length < 10, `a new connection got a new budget: ${JSON.stringify(second)}`);
});
