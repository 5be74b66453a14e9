/**
 * A live session is judged against the state its own handshake was admitted
 * under (src/stations/sessions.ts), on one real node. Another handshake for
 * the same station that the policy accepted meanwhile, and that the gateway
 * then refused as a duplicate, must not lend the session its newer state: a
 * connection that authenticated with a password rotated away before its
 * session started is closed by the next re-check like any other.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { connectRaw } from '../support/raw-client.js';
import { openRawSocket } from '../support/raw-socket.js';
import { eventually, startTestNode, testDatabases, upgradeStatus } from '../support/node.js';

const OLD = 'admission-old-password-0123456789';
const NEW = 'admission-new-password-0123456789';

for (const db of testDatabases()) {
  test(`a session opened with a password rotated during its handshake is closed, whatever other handshakes were accepted meanwhile (${db})`, { timeout: 60_000 }, async (t) => {
    // The newcomer's handshake waits this long for the old session's pong before it may take its place.
    const node = await startTestNode({ db, config: { ocpp: { duplicateProbeMs: 3000 } } });
    t.after(() => node.stop());
    const port = Number(new URL(node.http).port);
    const id = 'ADM-RACE';
    assert.equal((await node.api('POST', '/api/v1/stations', { id, securityProfile: 1, password: OLD })).status, 201);

    // A session that answers no ping.
    const silent = await openRawSocket(`${node.ws}/${id}`, { user: id, password: OLD });
    t.after(() => void silent.socket.destroy());

    // X authenticates with the old password, then waits out the probe of the silent session.
    const x = connectRaw(`${node.ws}/${id}`, { protocol: 'ocpp1.6', user: id, password: OLD });
    await new Promise((r) => setTimeout(r, 1000));

    // Meanwhile the password is rotated (the silent session is revoked), and the station
    // tries the new one: the policy accepts it, the gateway refuses it as a duplicate of X.
    const rotated = await node.api('POST', `/api/v1/stations/${id}/password`, { password: NEW });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    assert.equal(await upgradeStatus(port, id, NEW, { subprotocol: 'ocpp1.6' }), 409);

    // X's session starts: admitted under the old password, which no longer holds.
    const client = await x;
    t.after(() => client.ws.terminate());
    await eventually('the session opened with the rotated-away password is closed', () => client.ws.readyState !== WebSocket.OPEN, 9000);
    const revoked = async () => ((await node.api('GET', `/api/v1/security-events?stationId=${id}`)).body as any[]).filter((e) => e.type === 'SessionRevoked');
    const events = await eventually('both sessions recorded as revoked', async () => {
      const found = await revoked();
      return found.length >= 2 && found;
    });
    assert.equal(events.length, 2, JSON.stringify(events));
    for (const e of events) assert.match(e.techInfo, /password rotated/);
  });
}
