/**
 * The session watch's re-checks read the store, then judge (src/stations/sessions.ts).
 * A session that started after the read began was admitted under a state at
 * least as new as what was read: judging it against that read closed a
 * session that nothing revoked. Here the station's password is rotated and
 * the station reconnects with the new one while a sweep's read (of the old
 * password) is in flight.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalBus } from '../../src/bus/index.js';
import { createSessionWatch, type LiveSession } from '../../src/stations/sessions.js';
import type { Registry, SecurityState, StationSecret } from '../../src/stations/registry.js';

const secret = (passwordHash: string): StationSecret => ({
  passwordHash,
  record: { id: 'RACE-1', securityProfile: 1, registration: 'Accepted', tags: [], quarantined: false, createdAt: '', updatedAt: '' },
});
const state = (passwordHash: string): SecurityState => ({ passwordHash, securityProfile: 1, registration: 'Accepted', quarantined: false });

test('a re-check does not judge a session that started after its read of the store', async () => {
  let stored = 'hash-1';
  let hold = true;
  let readStarted!: () => void;
  const reading = new Promise<void>((r) => (readStarted = r));
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const registry = {
    async securityStates(ids: readonly string[]) {
      const read = stored;
      if (hold) {
        hold = false;
        readStarted();
        await released;
      }
      return new Map(ids.map((id) => [id, state(read)]));
    },
    async fresh() {
      return secret(stored);
    },
  } as unknown as Registry;
  const live = new Map<string, LiveSession>();
  const closed: string[] = [];
  const watch = createSessionWatch({
    registry,
    bus: createLocalBus(),
    session: (id) => live.get(id),
    close: async (_id, reason) => void closed.push(reason),
    securityEvent: () => undefined,
    intervalMs: 20,
  });
  // The watch's timer does not hold the process open; this does, for the test's length.
  const awake = setInterval(() => undefined, 1000);
  try {
    const first: LiveSession = { stationId: 'RACE-1', securityProfile: 1, remoteAddress: '10.0.0.1', admission: watch.accepted(secret('hash-1')) };
    live.set('RACE-1', first);
    watch.started(first);
    await reading;
    // The sweep has read hash-1. The password is rotated, the first session ends,
    // and the station comes back with the new password.
    stored = 'hash-2';
    live.delete('RACE-1');
    watch.ended(first);
    const second: LiveSession = { stationId: 'RACE-1', securityProfile: 1, remoteAddress: '10.0.0.1', admission: watch.accepted(secret('hash-2')) };
    live.set('RACE-1', second);
    watch.started(second);
    release();
    // The held sweep ends, and a few more run against the store as it is now.
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(closed, [], 'the session admitted under the new password was closed');
  } finally {
    clearInterval(awake);
    watch.close();
  }
});
