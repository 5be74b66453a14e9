/**
 * TLS session tickets outlive a restart and are shared by the nodes of a
 * cluster: a station that reconnects resumes its session instead of a full
 * handshake.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { startTestNode, createPgDatabase, testDatabases, type TestNode } from '../support/node.js';

/** A TLS connection that asks for /healthz and resolves with the session ticket and whether the handshake resumed. */
function connect(port: number, session?: Buffer): Promise<{ reused: boolean; session?: Buffer }> {
  return new Promise((resolve, reject) => {
    let ticket: Buffer | undefined;
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, session, minVersion: 'TLSv1.3' });
    socket.on('session', (s) => (ticket = s));
    socket.on('error', reject);
    socket.once('secureConnect', () => socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'));
    socket.on('data', () => undefined);
    socket.once('end', () => resolve({ reused: socket.isSessionReused(), session: ticket }));
  });
}

const https = (node: TestNode) => node.app.ports.https!;

test('a TLS session resumes after the node restarts', async () => {
  const first = await startTestNode({ db: 'sqlite' });
  const { reused, session } = await connect(https(first));
  assert.equal(reused, false);
  assert.ok(session, 'the node issued a session ticket');
  await first.stop({ keepData: true });
  const second = await startTestNode({ db: 'sqlite', dataDir: first.dataDir });
  try {
    assert.equal((await connect(https(second), session)).reused, true, 'the restarted node resumes the session');
    assert.equal((await connect(https(second))).reused, false);
    // Operators see the resumption share in /metrics.
    const metrics = await (await fetch(`${second.http}/metrics`, { headers: { authorization: `Bearer ${second.adminToken}` } })).text();
    assert.match(metrics, /^evguard_tls_handshakes_total\{resumed="true"\} 1$/m);
    assert.match(metrics, /^evguard_tls_handshakes_total\{resumed="false"\} 1$/m);
  } finally {
    await second.stop();
  }
});

test('a TLS session from one node resumes on another node of the cluster', { skip: !testDatabases().includes('postgres') && 'PostgreSQL excluded by EVGUARD_TEST_DBS' }, async () => {
  const pg = await createPgDatabase();
  const config = { keyPassphrase: 'a-cluster-wide-key-passphrase-0123' };
  const a = await startTestNode({ databaseUrl: pg.url, config });
  // The nodes of a cluster share their key store (docs/cluster.md).
  const b = await startTestNode({ databaseUrl: pg.url, config, dataDir: a.dataDir });
  try {
    const { session } = await connect(https(a));
    assert.equal((await connect(https(b), session)).reused, true);
  } finally {
    await b.stop();
    await a.stop();
    await pg.drop();
  }
});
