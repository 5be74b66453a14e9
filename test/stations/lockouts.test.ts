/**
 * Lock-outs hit the attacker, not the station (docs/monitoring.md, Lock-outs),
 * on one real node: loopback source addresses 127.0.0.x stand for different
 * hosts. Guesses from one address lock out that (station, address) pair only;
 * an address that failed many times stays open to a station that has
 * authenticated from it before (a shared NAT); a guesser spread over many
 * addresses only slows the station's unfamiliar addresses down.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startTestNode, testDatabases, upgradeStatus, type TestNode } from '../support/node.js';

const PASSWORD = 'lockout-test-password-0123456789';

for (const db of testDatabases()) {
  test(`lock-outs hit the attacker, not the station (${db})`, { timeout: 120_000 }, async (t) => {
    const node: TestNode = await startTestNode({ db });
    t.after(() => node.stop());
    const port = Number(new URL(node.http).port);
    const register = async (id: string) => assert.equal((await node.api('POST', '/api/v1/stations', { id, securityProfile: 1, password: PASSWORD })).status, 201);
    const status = (id: string, from: string, password = PASSWORD) => upgradeStatus(port, id, password, { localAddress: from });
    const lockouts = () => node.app.monitor.listLockouts();

    await t.test('guesses from one address do not stop the real station from another', async () => {
      await register('LK-1');
      for (let i = 0; i < 5; i++) assert.equal(await status('LK-1', '127.0.0.2', `wrong-password-${i}-0123456789`), 401);
      await eventually('pair lock-out', async () => (await lockouts()).some((l) => l.stationId === 'LK-1' && l.remoteAddress === '127.0.0.2'));
      assert.equal(await status('LK-1', '127.0.0.2'), 429, 'the guessing address is refused even with the right password');
      assert.equal(await status('LK-1', '127.0.0.3'), 101, 'the real station from its own address gets in');
    });

    await t.test('an address locked out for failures stays open to a station known there (a shared NAT)', async () => {
      await register('LK-NAT');
      await register('LK-NEW');
      assert.equal(await status('LK-NAT', '127.0.0.4'), 101); // the station behind the NAT, before the attack
      // Someone behind the same address tries ten station ids.
      for (let i = 0; i < 10; i++) assert.equal(await status(`LK-GUESS-${i}`, '127.0.0.4', `wrong-password-${i}-0123456789`), 401);
      await eventually('address lock-out', async () => (await lockouts()).some((l) => !l.stationId && l.remoteAddress === '127.0.0.4'));
      assert.equal(await status('LK-NAT', '127.0.0.4'), 101, 'a station known at the address still gets in with its right password');
      assert.equal(await status('LK-NAT', '127.0.0.4', 'wrong-password-x-0123456789'), 401, 'and still needs it');
      assert.equal(await status('LK-NEW', '127.0.0.4'), 429, 'a station never seen at the address is refused there');
      assert.equal(await status('LK-NEW', '127.0.0.5'), 101, 'and gets in from elsewhere');
    });

    await t.test('a distributed guesser slows the station down but never refuses its right password', async () => {
      await register('LK-DIST');
      assert.equal(await status('LK-DIST', '127.0.0.6'), 101);
      for (let i = 0; i < 10; i++) assert.equal(await status('LK-DIST', `127.0.1.${i + 1}`, `wrong-password-${i}-0123456789`), 401);
      await eventually('slow-down', async () => (await lockouts()).some((l) => l.stationId === 'LK-DIST' && !l.remoteAddress && l.mode === 'slow'));
      const alerts = (await node.api('GET', '/api/v1/alerts?stationId=LK-DIST')).body as any[];
      assert.ok(alerts.some((a) => a.title === 'Distributed password guessing against a station'), JSON.stringify(alerts.map((a) => a.title)));
      assert.equal(await status('LK-DIST', '127.0.0.6'), 101, 'from its known address');
      assert.equal(await status('LK-DIST', '127.0.0.7'), 101, 'from a new address, after the slow-down');
      assert.equal(await status('LK-DIST', '127.0.1.1', 'wrong-password-y-0123456789'), 401, 'a guesser still gets no more than 401');
    });
  });
}
