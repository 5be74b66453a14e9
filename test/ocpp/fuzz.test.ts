/**
 * A short run of the hostile-input soak (`npm run fuzz`, bench/fuzz/): tens of
 * thousands of hostile frames from stations of all three OCPP versions, over
 * ws:// and TLS, against the real CLI node as a child process, while an
 * honest station charges. The node must not exit, /healthz must answer
 * afterwards, and the honest station must keep getting answers. No timing is
 * asserted; the full soak writes its figures to bench/results/fuzz.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSoak } from '../../bench/fuzz/soak.js';
import { startSupervisedNode } from '../../bench/fuzz/node-process.js';
import { connectWire, encodeFrame, OP } from '../../bench/fuzz/wire.js';
import { createPgDatabase, testDatabases } from '../support/node.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const closePayload = (code: number, reason: Buffer = Buffer.alloc(0)) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, reason]);
};

// Found by the soak: while a burst of messages is being handed out one per
// event-loop turn, later socket chunks wait in the WebSocket receiver's stream
// buffer; a frame that fails after its payload was read (invalid UTF-8, a bad
// Close) must not leave the receiver parsing the next buffered chunk from a
// stale state, which threw an uncaught TypeError and ended the process.
test('a frame the WebSocket layer rejects, right behind a burst, does not end the process', { timeout: 120_000 }, async () => {
  const node = await startSupervisedNode({ restart: false });
  try {
    const password = 'burst-station-password-01';
    assert.equal((await node.api('POST', '/api/v1/stations', { id: 'BURST-1', securityProfile: 1, password })).status, 201);
    const rejected = [
      encodeFrame({ opcode: OP.text, payload: Buffer.from([0x5b, 0xff, 0x5d]) }),
      encodeFrame({ opcode: OP.close, payload: closePayload(999) }),
      encodeFrame({ opcode: OP.close, payload: closePayload(1000, Buffer.from([0xed, 0xa0, 0x80])) }),
    ];
    for (const [i, bad] of rejected.entries()) {
      for (let attempt = 0; attempt < 3; attempt++) {
        const c = await connectWire({ host: '127.0.0.1', port: node.httpPort, tls: false, stationId: 'BURST-1', password, subprotocol: 'ocpp2.0.1' }).catch(async (err) => {
          await pause(1000); // the exit event may trail the refused connection
          throw new Error(node.crashes.length ? `the node exited:\n${node.crashes[0]!.stderrTail}` : `connect failed: ${err.message}`);
        });
        await c.write(Buffer.concat(Array.from({ length: 30 }, (_, k) => encodeFrame({ opcode: OP.text, payload: `[2,"b${i}-${attempt}-${k}","Heartbeat",{}]` }))));
        await pause(2);
        await c.write(bad);
        await pause(2);
        await c.write(encodeFrame({ opcode: OP.text, payload: '[2,"after","Heartbeat",{}]' }));
        await c.closed(3000);
        c.destroy();
        assert.equal(node.crashes.length, 0, `the node exited:\n${node.crashes[0]?.stderrTail}`);
      }
    }
    await pause(500);
    assert.equal(node.crashes.length, 0, `the node exited:\n${node.crashes[0]?.stderrTail}`);
    assert.ok((await node.health()) !== undefined, '/healthz did not answer');
  } finally {
    await node.stop();
  }
});

for (const db of testDatabases()) {
  test(`hostile frames do not take the node down (${db})`, { timeout: 240_000 }, async () => {
    const pg = db === 'postgres' ? await createPgDatabase() : undefined;
    try {
      const r = await runSoak({ frames: 20_000, seconds: 30, stations: 12, workers: 1, baselineSeconds: 2, seed: 13, databaseUrl: pg?.url });
      const stacks = r.node.crashDetails.map((c) => c.stderrTail).join('\n----\n');
      assert.equal(r.node.crashes, 0, `the node exited ${r.node.crashes} time(s):\n${stacks}`);
      assert.ok(r.frames.sent > 1000, `only ${r.frames.sent} hostile frames were sent`);
      // Every attack in the catalogue was tried at least once.
      assert.ok(Object.keys(r.frames.byAttack).length >= 15, `attacks tried: ${Object.keys(r.frames.byAttack).join(', ')}`);
      assert.ok(r.healthz.answeredAfterSoak, '/healthz did not answer after the soak');
      assert.ok(r.honest.soak.answered > 0, 'the honest station got no answer during the soak');
      assert.ok(r.honest.after.answered > 0, 'the honest station got no answer after the soak');
    } finally {
      await pg?.drop();
    }
  });
}
