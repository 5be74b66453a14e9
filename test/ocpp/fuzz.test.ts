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
import { createPgDatabase, testDatabases } from '../support/node.js';

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
