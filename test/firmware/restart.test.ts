/** Campaign state is persisted: a node restarted on the same data carries on where it stopped. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createPgDatabase, startTestNode, testDatabases } from '../support/node.js';
import { createSimStation } from '../../src/sim/index.js';
import { MODEL, VENDOR, stationFirmwareOptions, upload, waitCampaign } from './helpers.js';

for (const db of testDatabases()) {
  test(`a paused campaign survives a restart and completes after resume (${db})`, { timeout: 90_000 }, async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'fw-restart-'));
    const pgdb = db === 'postgres' ? await createPgDatabase() : undefined;
    let node = await startTestNode({ dataDir, databaseUrl: pgdb?.url });
    const r = await upload(node, { vendor: VENDOR, model: MODEL, version: '5.0.0' }, Buffer.from('restart image '.repeat(300)));
    await node.api('POST', '/api/v1/stations', { id: 'rs1', securityProfile: 1, password: 'pw-rs1-0123456789abcdef' });
    const c = (await node.api('POST', '/api/v1/campaigns', { firmwareId: r.body.id, stationIds: ['rs1'], paused: true })).body;
    await node.stop({ keepData: true });

    node = await startTestNode({ dataDir, databaseUrl: pgdb?.url });
    try {
      const again = (await node.api('GET', `/api/v1/campaigns/${c.id}`)).body;
      assert.equal(again.state, 'paused');
      assert.equal(again.stations[0].state, 'pending');
      // The station trusts the TUF roots and keys as they are after the restart.
      const fw = await stationFirmwareOptions(node);
      const sim = createSimStation({ url: node.ws, id: 'rs1', ocppVersion: '2.0.1', securityProfile: 1, password: 'pw-rs1-0123456789abcdef', vendor: VENDOR, model: MODEL, firmwareVersion: '4.0.0', firmware: fw, pingIntervalMs: 0 });
      await sim.connect();
      assert.equal((await node.api('POST', `/api/v1/campaigns/${c.id}/resume`)).status, 200);
      const done = await waitCampaign(node, c.id, ['completed', 'halted']);
      assert.equal(done.stations[0].state, 'succeeded', done.stations[0].detail);
      await sim.close();
    } finally {
      await node.stop();
      await pgdb?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}
