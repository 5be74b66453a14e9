/**
 * PostgreSQL terminating the node's connections (a restart, a failover, an
 * administrator) must not crash the node: the pool reopens and the API works.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PG_URL, eventually, startTestNode, testDatabases } from '../support/node.js';

test('the node survives PostgreSQL terminating its connections', { skip: !testDatabases().includes('postgres') && 'PostgreSQL excluded by EVGUARD_TEST_DBS' }, async () => {
  const node = await startTestNode({ db: 'postgres' });
  try {
    assert.equal((await node.api('POST', '/api/v1/stations', { id: 'PGR-1', securityProfile: 1 })).status, 201);
    const database = new URL(node.app.config.databaseUrl!).pathname.slice(1);
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    const killed = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
    await admin.end();
    assert.ok(killed.rowCount! > 0, 'the node had connections to terminate');
    // The next queries may meet a dead connection once; the node must stay up and recover.
    const station = await eventually('the API answering from PostgreSQL again', async () => {
      const r = await node.api('GET', '/api/v1/stations/PGR-1');
      return r.status === 200 && r.body;
    });
    assert.equal(station.id, 'PGR-1');
    assert.equal((await node.api('POST', '/api/v1/stations', { id: 'PGR-2', securityProfile: 1 })).status, 201);
  } finally {
    await node.stop();
  }
});
