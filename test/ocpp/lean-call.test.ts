/**
 * src/ocpp/lean-call.ts on a real ocpp-rpc client, against a peer that
 * sends whatever it likes: every way a CALL can end leaves nothing behind
 * (no pending call, no timer), and a CALL the caller gave up on, or one
 * that cannot be put into a frame, never reaches the wire.
 */
import assert from 'node:assert/strict';
import { getEventListeners, once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, it } from 'node:test';
import ocppRpc from 'ocpp-rpc';
import { WebSocketServer, type WebSocket } from 'ws';
import { isCallTimeout, leanCalls } from '../../src/ocpp/lean-call.js';

const { RPCClient } = ocppRpc as any;

interface Peer {
  ws: WebSocket;
  frames: any[];
  next(): Promise<any>;
}

const opened: { client: any; wss: WebSocketServer }[] = [];

/** A client with the lean CALL, connected to a peer that answers nothing unless told to. */
async function connect(clientOptions: Record<string, unknown> = {}): Promise<{ client: any; peer: Peer }> {
  const wss = new WebSocketServer({ port: 0, handleProtocols: () => 'ocpp2.0.1' });
  await once(wss, 'listening');
  const frames: any[] = [];
  const waiters: ((frame: any) => void)[] = [];
  let read = 0;
  const connected = once(wss, 'connection');
  const client = new RPCClient({
    endpoint: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`,
    identity: 'LEAN-1',
    protocols: ['ocpp2.0.1'],
    strictMode: true,
    reconnect: false,
    pingIntervalMs: 0,
    callTimeoutMs: 5_000,
    ...clientOptions,
  });
  leanCalls(client);
  opened.push({ client, wss });
  await client.connect();
  const [ws] = (await connected) as [WebSocket];
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data));
    frames.push(frame);
    waiters.shift()?.(frame);
  });
  const next = () => (read < frames.length ? Promise.resolve(frames[read++]) : new Promise((resolve) => waiters.push((f) => (read++, resolve(f)))));
  return { client, peer: { ws, frames, next } };
}

/** Timeouts in this process that are not a test's own. */
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

afterEach(async () => {
  for (const { client, wss } of opened.splice(0)) {
    await client.close({ force: true }).catch(() => undefined);
    wss.close();
  }
});

describe('lean CALL', () => {
  it('an answer settles the call and leaves no timer or pending call', async () => {
    const { client, peer } = await connect();
    const before = timers();
    const call = client.call('Heartbeat', {});
    const [, id] = await peer.next();
    assert.equal(timers(), before + 1);
    peer.ws.send(JSON.stringify([3, id, { currentTime: new Date().toISOString() }]));
    assert.ok((await call).currentTime);
    assert.equal(client._pendingCalls.size, 0);
    assert.equal(timers(), before);
  });

  it('no answer in time: a TimeoutError; the late answer, twice, is a bad message and the link goes on', async () => {
    const { client, peer } = await connect();
    const bad: unknown[] = [];
    client.on('badMessage', (e: unknown) => bad.push(e));
    const call = client.call('Heartbeat', {}, { callTimeoutMs: 100 });
    const [, id] = await peer.next();
    await assert.rejects(call, (err) => isCallTimeout(err));
    assert.equal(client._pendingCalls.size, 0);
    peer.ws.send(JSON.stringify([3, id, { currentTime: new Date().toISOString() }]));
    peer.ws.send(JSON.stringify([3, id, { currentTime: new Date().toISOString() }]));
    peer.ws.send(JSON.stringify([4, id, 'InternalError', 'late', {}]));
    const next = client.call('Heartbeat', {});
    const [, id2] = await peer.next();
    peer.ws.send(JSON.stringify([3, id2, { currentTime: new Date().toISOString() }]));
    await next;
    assert.equal(bad.length, 3);
    assert.equal(client._pendingCalls.size, 0);
  });

  it('a CALLERROR rejects with its code; one for an unknown id changes nothing', async () => {
    const { client, peer } = await connect();
    const call = client.call('Heartbeat', {});
    const [, id] = await peer.next();
    peer.ws.send(JSON.stringify([4, 'not-a-call', 'InternalError', 'who?', {}]));
    peer.ws.send(JSON.stringify([4, id, 'NotSupported', 'no', {}]));
    await assert.rejects(call, (err: any) => err.rpcErrorCode === 'NotSupported' && !isCallTimeout(err));
    assert.equal(client._pendingCalls.size, 0);
  });

  it('an answer that fails strict validation rejects the call', async () => {
    const { client, peer } = await connect();
    const call = client.call('Heartbeat', {});
    const [, id] = await peer.next();
    peer.ws.send(JSON.stringify([3, id, { currentTime: 42 }]));
    await assert.rejects(call, (err: any) => err.rpcErrorCode === 'TypeConstraintViolation');
    assert.equal(client._pendingCalls.size, 0);
  });

  it('a request that fails strict validation is not sent', async () => {
    const { client, peer } = await connect();
    const failures: unknown[] = [];
    client.on('strictValidationFailure', (e: unknown) => failures.push(e));
    await assert.rejects(client.call('Heartbeat', { extra: 1 }), (err: any) => typeof err.rpcErrorCode === 'string');
    assert.equal(failures.length, 1);
    const call = client.call('Heartbeat', {});
    const [method, , action, params] = await peer.next();
    assert.deepEqual([method, action, params], [2, 'Heartbeat', {}]);
    client.close({ force: true });
    await assert.rejects(call, { name: 'AbortError' });
  });

  it('a graceful close waits for the call in flight; the calls queued behind it are refused', async () => {
    const { client, peer } = await connect();
    const first = client.call('Heartbeat', {});
    const second = client.call('Heartbeat', {});
    const [, id] = await peer.next();
    const closed = client.close({ awaitPending: true });
    await sleep(20);
    peer.ws.send(JSON.stringify([3, id, { currentTime: new Date().toISOString() }]));
    assert.ok((await first).currentTime);
    await assert.rejects(second, /Cannot make call while socket not open/);
    assert.equal((await closed).code, 1000);
    assert.equal(peer.frames.length, 1);
    assert.equal(client._pendingCalls.size, 0);
  });

  it('a close, forced or not, and a peer that terminates reject the call in flight at once', async () => {
    for (const end of ['close', 'force', 'terminate'] as const) {
      const { client, peer } = await connect();
      const call = client.call('Heartbeat', {});
      await peer.next();
      if (end === 'terminate') peer.ws.terminate();
      else client.close({ force: end === 'force' });
      await assert.rejects(call, (err: any) => err.name === 'AbortError' && !isCallTimeout(err), end);
      assert.equal(client._pendingCalls.size, 0, end);
    }
  });

  it('an abort while the call is in flight rejects it and takes its listener off the signal', async () => {
    const { client, peer } = await connect();
    const ac = new AbortController();
    for (let i = 0; i < 20; i++) {
      const call = client.call('Heartbeat', {}, { signal: ac.signal });
      const [, id] = await peer.next();
      peer.ws.send(JSON.stringify([3, id, { currentTime: new Date().toISOString() }]));
      await call;
    }
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
    const call = client.call('Heartbeat', {}, { signal: ac.signal });
    await peer.next();
    ac.abort('enough');
    await assert.rejects(call, { name: 'AbortError', message: 'enough' });
    assert.equal(client._pendingCalls.size, 0);
  });

  it('a signal aborted before the CALL leaves the queue: rejected, and never sent', async () => {
    const { client, peer } = await connect();
    const transfer = (data: string) => ['DataTransfer', { vendorId: 'evguard', data }] as const;
    const already = new AbortController();
    already.abort();
    await assert.rejects(client.call(...transfer('already'), { signal: already.signal }), { name: 'AbortError' });
    await assert.rejects(client.call(...transfer('already, no reply'), { signal: already.signal, noReply: true }), { name: 'AbortError' });

    const queued = new AbortController();
    const first = client.call(...transfer('first'));
    const second = client.call(...transfer('queued'), { signal: queued.signal });
    const [, id] = await peer.next();
    queued.abort();
    peer.ws.send(JSON.stringify([3, id, { status: 'Accepted' }]));
    await first;
    await assert.rejects(second, { name: 'AbortError' });
    const third = client.call(...transfer('third'));
    const [, id3] = await peer.next();
    peer.ws.send(JSON.stringify([3, id3, { status: 'Accepted' }]));
    await third;
    assert.deepEqual(peer.frames.map((f) => f[3].data), ['first', 'third']);
    assert.equal(client._pendingCalls.size, 0);
  });

  it('params that cannot be put into a frame: rejected, with nothing left pending to time out later', async () => {
    const { client, peer } = await connect({ callTimeoutMs: 50 });
    const before = timers();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    // DataTransfer's data is of any type, so both pass strict validation.
    await assert.rejects(client.call('DataTransfer', { vendorId: 'evguard', data: circular }), TypeError);
    await assert.rejects(client.call('DataTransfer', { vendorId: 'evguard', data: 1n }), TypeError);
    assert.equal(client._pendingCalls.size, 0);
    assert.equal(timers(), before);
    // Had a timer been left, its rejection would be unhandled once it fired.
    await sleep(100);
    assert.equal(peer.frames.length, 0);
    // A listener that throws while the frame is sent: the call fails with its error, nothing is left.
    const boom = new Error('listener failed');
    client.on('message', ({ outbound }: { outbound: boolean }) => {
      if (outbound) throw boom;
    });
    await assert.rejects(client.call('Heartbeat', {}), boom);
    assert.equal(client._pendingCalls.size, 0);
    assert.equal(timers(), before);
    await sleep(100);
  });

  it('noReply sends and returns at once; a timeout of 0 or Infinity arms no timer', async () => {
    const { client, peer } = await connect();
    const before = timers();
    assert.equal(await client.call('Heartbeat', {}, { noReply: true }), undefined);
    await peer.next();
    assert.equal(client._pendingCalls.size, 0);
    for (const callTimeoutMs of [0, Infinity]) {
      const call = client.call('Heartbeat', {}, { callTimeoutMs });
      const [, id] = await peer.next();
      assert.equal(timers(), before, String(callTimeoutMs));
      peer.ws.send(JSON.stringify([3, id, { currentTime: new Date().toISOString() }]));
      await call;
    }
  });

  it('many calls at once each get their own outcome, and nothing is left', async () => {
    const { client, peer } = await connect({ callConcurrency: 200, callTimeoutMs: 300 });
    peer.ws.on('message', (data) => {
      const [, id, , params] = JSON.parse(String(data));
      const n = Number(params.data);
      if (n % 3 === 0) peer.ws.send(JSON.stringify([3, id, { status: 'Accepted', data: n }]));
      else if (n % 3 === 1) peer.ws.send(JSON.stringify([4, id, 'InternalError', String(n), {}]));
    });
    const before = timers();
    const outcomes = await Promise.allSettled(Array.from({ length: 600 }, (_, n) => client.call('DataTransfer', { vendorId: 'evguard', data: n })));
    outcomes.forEach((o, n) => {
      if (n % 3 === 0) assert.deepEqual(o, { status: 'fulfilled', value: { status: 'Accepted', data: n } });
      else if (n % 3 === 1) assert.ok(o.status === 'rejected' && o.reason.rpcErrorCode === 'InternalError' && o.reason.message === String(n));
      else assert.ok(o.status === 'rejected' && isCallTimeout(o.reason));
    });
    assert.equal(client._pendingCalls.size, 0);
    assert.equal(timers(), before);
  });
});
