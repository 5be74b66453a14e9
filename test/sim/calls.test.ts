/**
 * A simulated station's CALLs (src/ocpp/lean-call.ts on its ocpp-rpc
 * client): one in flight at a time, a timeout that names itself, a late
 * answer that harms nothing, and a lost link told apart from both.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createSimStation } from '../../src/sim/index.js';
import { startCsms, type TestCsms } from './csms.js';

describe('simulated station CALLs', () => {
  let csms: TestCsms;
  before(async () => { csms = await startCsms(); });
  after(() => csms.close());

  it('sends one CALL at a time, in order, each with its own answer', async () => {
    const station = createSimStation({ url: csms.url, id: 'CALLS-ORDER', ocppVersion: '2.0.1', securityProfile: 1 });
    try {
      await station.connect();
      let inFlight = 0;
      let most = 0;
      csms.answer('DataTransfer', async (params) => {
        most = Math.max(most, ++inFlight);
        await sleep(20);
        inFlight--;
        return { status: 'Accepted', data: params.messageId };
      });
      const answers = await Promise.all([1, 2, 3, 4, 5].map((n) => station.call('DataTransfer', { vendorId: 'evguard', messageId: `m${n}` })));
      assert.deepEqual(answers.map((a: any) => a.data), ['m1', 'm2', 'm3', 'm4', 'm5']);
      assert.equal(most, 1, 'the CSMS saw more than one CALL in flight');
    } finally {
      await station.close();
    }
  });

  it('a CALL the CSMS does not answer in time fails as a timeout, and its late answer is ignored', async () => {
    const station = createSimStation({ url: csms.url, id: 'CALLS-SLOW', ocppVersion: '2.0.1', securityProfile: 1, callTimeoutMs: 200 });
    try {
      await station.connect();
      let slow = true;
      csms.answer('Heartbeat', async () => {
        if (slow) await sleep(600);
        return { currentTime: new Date().toISOString() };
      });
      await assert.rejects(station.heartbeat(), (err: any) => err.code === 'SIM_CALL_FAILED' && err.details?.rpcErrorCode === 'Timeout');
      slow = false;
      await sleep(500);
      await station.heartbeat();
      assert.equal(station.state, 'open');
    } finally {
      await station.close();
    }
  });

  it('a CALL in flight when the link drops fails as offline, at once', async () => {
    const station = createSimStation({ url: csms.url, id: 'CALLS-DROP', ocppVersion: '2.0.1', securityProfile: 1, callTimeoutMs: 30_000 });
    try {
      await station.connect();
      csms.answer('Heartbeat', async (_p, { client }) => {
        client.close({ code: 1001, force: true });
        // Unref'd: the test process need not wait out this answer that never comes.
        await sleep(60_000, undefined, { ref: false });
      });
      const started = performance.now();
      await assert.rejects(station.heartbeat(), { code: 'SIM_OFFLINE' });
      assert.ok(performance.now() - started < 5_000, 'waited for the timeout instead');
    } finally {
      await station.close();
    }
  });
});
