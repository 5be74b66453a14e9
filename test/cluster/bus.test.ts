/** The NATS bus on the machine's real NATS: fan-out between buses, no echo, local-only topics, and cluster start checks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { createNatsBus, streamName } from '../../src/bus/nats.js';
import type { BusEvent } from '../../src/bus/index.js';
import { startCluster } from '../../src/cluster/index.js';
import { waitFor } from './processes.js';
import { publishUntyped } from '../support/bus.js';

const NATS = (process.env.EVGUARD_TEST_NATS ?? 'nats://127.0.0.1:4222').replace('nats://', '');

test('events fan out to every bus once; a publisher sees its own event once, synchronously', async (t) => {
  const ns = `t${randomBytes(5).toString('hex')}`;
  const nc = await connect({ servers: NATS });
  t.after(async () => {
    await (await jetstreamManager(nc)).streams.delete(streamName(ns)).catch(() => undefined);
    await nc.close();
  });
  const a = await createNatsBus({ nc, namespace: ns, origin: 'a' });
  const b = await createNatsBus({ nc, namespace: ns, origin: 'b', durableMaxAgeMs: 0 });
  const seenA: BusEvent[] = [];
  const seenB: BusEvent[] = [];
  a.subscribe('*', (e) => seenA.push(e));
  b.subscribe('security.*', (e) => seenB.push(e));
  a.publish('security.event', { type: 'X', source: 'station', critical: false, timestamp: new Date().toISOString() }, 'S1');
  assert.equal(seenA.length, 1, 'delivered to the publisher before publish returns');
  a.publish('station.connected', { stationId: 'S1', ocppVersion: '2.0.1', securityProfile: 2, remoteAddress: '10.0.0.1', nodeId: 'a' }, 'S1');
  b.publish('security.event', { type: 'Y', source: 'station', critical: false, timestamp: new Date().toISOString() });
  await waitFor(() => seenB.length === 2 && seenA.length === 3, 'fan-out');
  await nc.flush();
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(seenA.map((e) => e.topic), ['security.event', 'station.connected', 'security.event']);
  // B's own event arrives at once, A's after the trip through NATS.
  assert.deepEqual(seenB.map((e) => (e.data as any).type).sort(), ['X', 'Y']);
  assert.equal(seenB.find((e) => (e.data as any).type === 'X')!.stationId, 'S1');
  // The security record is captured by JetStream.
  const info = await (await jetstreamManager(nc)).streams.info(streamName(ns));
  assert.equal(info.state.messages, 2);
  // A topic that cannot be a subject stays on this node, and the error is reported, not thrown.
  const errors: unknown[] = [];
  const c = await createNatsBus({ nc, namespace: ns, origin: 'c', durableMaxAgeMs: 0, onError: (err) => errors.push(err) });
  const seenC: BusEvent[] = [];
  c.subscribe('*', (e) => seenC.push(e));
  publishUntyped(c, 'bad topic>', {});
  assert.equal(seenC.length, 1);
  assert.equal(errors.length, 1);
  await Promise.all([a.close(), b.close(), c.close()]);
});

test('cluster mode refuses to start without PostgreSQL or with a bad NATS URL', async () => {
  await assert.rejects(startCluster({ natsUrl: `nats://${NATS}`, name: 'x', nodeId: 'n', callTimeoutMs: 1000 }), { code: 'CLUSTER_CONFIG_INVALID' });
  await assert.rejects(startCluster({ natsUrl: 'http://127.0.0.1:4222', databaseUrl: 'postgres://x@127.0.0.1/x', name: 'x', nodeId: 'n', callTimeoutMs: 1000 }), { code: 'CLUSTER_CONFIG_INVALID' });
  // Nothing listens on port 9 on loopback.
  await assert.rejects(startCluster({ natsUrl: 'nats://127.0.0.1:9', databaseUrl: 'postgres://x@127.0.0.1/x', name: 'x', nodeId: 'n', callTimeoutMs: 1000 }), { code: 'CLUSTER_UNAVAILABLE' });
});
