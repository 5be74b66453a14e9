/**
 * Transactions stored before per-station identity migrate on SQLite and
 * PostgreSQL: their ids become `<stationId>:<transactionId>`, their events
 * follow, and the 1.6 id sequence continues after the highest id issued.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { migrate, openDatabase } from '../../src/store/index.js';
import { tablesOf } from '../../src/store/tables.js';
import { transactionsMigrations } from '../../src/transactions/index.js';
import { createPgDatabase, startTestNode, testDatabases } from '../support/node.js';
import { boot, connectRaw } from '../support/raw-client.js';

const PASSWORD = 'migration-password-0001';

/** The tables as transactions/001 created them, before per-station identity (rows written loosely: this is old data). */
interface TablesBefore002 {
  legacy_transaction_ids: { id: number; station_id: string; dedup_key: string };
  transactions: Record<string, unknown>;
  transaction_events: Record<string, unknown>;
}

for (const db of testDatabases()) {
  describe(`transactions written before per-station identity (${db})`, () => {
    test('migrate, keep their numbers, and 1.6 ids continue after the highest issued', async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'evguard-txmig-'));
      const pgdb = db === 'postgres' ? await createPgDatabase() : undefined;
      try {
        const old = await openDatabase({ dataDir, databaseUrl: pgdb?.url });
        await migrate(old, { 'transactions/001_init': transactionsMigrations['transactions/001_init']! });
        const before = tablesOf<TablesBefore002>(old);
        const row = (o: Record<string, unknown>) => ({ evse_id: 1, connector_id: 1, events: 1, seq_gaps: 0, offline_events: 0, updated_at: '2026-11-01T10:00:00.000Z', ...o });
        await before.insertInto('legacy_transaction_ids').values([{ id: 6, station_id: 'OLD16', dedup_key: 'start:a' }, { id: 7, station_id: 'OLD16', dedup_key: 'start:b' }]).execute();
        await before.insertInto('transactions').values([
          row({ id: '6', station_id: 'OLD16', state: 'Ended', started_at: '2026-11-01T09:00:00.000Z', ended_at: '2026-11-01T09:30:00.000Z', energy_start_wh: 100, energy_wh: 900, id_token: 'T' }),
          row({ id: '7', station_id: 'OLD16', state: 'Started', started_at: '2026-11-01T10:00:00.000Z', energy_start_wh: 900, id_token: 'T' }),
          row({ id: 'abc', station_id: 'OLD2X', state: 'Updated', started_at: '2026-11-01T10:00:00.000Z', energy_start_wh: 0, energy_wh: 50, max_seq_no: 1 }),
        ]).execute();
        await before.insertInto('transaction_events').values([
          { transaction_id: '6', dedup_key: 'start:a', station_id: 'OLD16', kind: 'Started', timestamp: '2026-11-01T09:00:00.000Z', payload: '{"meter":[]}', received_at: '2026-11-01T09:00:00.000Z' },
          { transaction_id: 'abc', dedup_key: 'seq:0', station_id: 'OLD2X', kind: 'Started', seq_no: 0, timestamp: '2026-11-01T10:00:00.000Z', payload: '{"meter":[]}', received_at: '2026-11-01T10:00:00.000Z' },
        ]).execute();
        await old.close();

        const node = await startTestNode({ db, dataDir, databaseUrl: pgdb?.url });
        try {
          const six = (await node.api('GET', '/api/v1/transactions/OLD16:6')).body;
          assert.deepEqual([six.stationId, six.transactionId, six.state, six.energyStopWh, six.energyDeliveredWh, six.eventLog.length], ['OLD16', '6', 'Ended', 900, 800, 1]);
          const abc = (await node.api('GET', '/api/v1/stations/OLD2X/transactions/abc')).body;
          assert.deepEqual([abc.id, abc.state, abc.energyDeliveredWh, abc.eventLog[0].flags], ['OLD2X:abc', 'Updated', 50, []]);
          assert.equal((await node.api('GET', '/api/v1/transactions/6')).body.error.code, 'TRANSACTION_UNKNOWN');

          await node.api('POST', '/api/v1/stations', { id: 'OLD16', securityProfile: 1, password: PASSWORD });
          const c = await connectRaw(`${node.ws}/OLD16`, { protocol: 'ocpp1.6', user: 'OLD16', password: PASSWORD });
          await c.call('BootNotification', boot['1.6']);
          const at = new Date(Date.now() - 60_000).toISOString();
          // Its open transaction from before the migration can still be stopped; a new start gets the next id.
          assert.equal((await c.call('StopTransaction', { transactionId: 7, meterStop: 1900, timestamp: at }))[0], 3);
          assert.equal((await node.api('GET', '/api/v1/transactions/OLD16:7')).body.energyDeliveredWh, 1000);
          const next = await c.call('StartTransaction', { connectorId: 1, idTag: 'T', meterStart: 0, timestamp: at });
          assert.equal(next[2].transactionId, 8);
          await c.close();
        } finally {
          await node.stop({ keepData: true });
        }
      } finally {
        await pgdb?.drop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}
