/**
 * The PKI and certificate-lifecycle routes share one guard for their scope
 * (auditor to read, operator to change). Like every other authenticated
 * route, it must run before the body is read or validated: an anonymous
 * client may neither make the node read a body nor learn a schema from a 400.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode } from '../support/node.js';
import { statusBeforeBody as jsonStatusBeforeBody } from '../support/http.js';

/** A POST announcing a 1 MiB JSON body, without the body. */
const statusBeforeBody = (port: number, p: string) => jsonStatusBeforeBody(port, p, { contentType: 'application/json', contentLength: 1024 * 1024 - 1 });

test('PKI and certificate routes check the token before the body', async (t) => {
  const node = await startTestNode({ db: 'sqlite' });
  t.after(() => node.stop());
  const port = Number(new URL(node.http).port);

  await t.test('an anonymous request is refused before its body is read', async () => {
    for (const p of ['/api/v1/certificates/01ab/revoke', '/api/v1/pki/contracts', '/api/v1/stations/CP1/certificates/install']) {
      assert.equal(await statusBeforeBody(port, p), 401, p);
    }
  });

  await t.test('a schema-invalid body without a token is 401, not a 400 that describes the schema', async () => {
    const res = await fetch(`${node.http}/api/v1/stations/CP1/certificates/install`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nope: 1 }) });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as any).error.code, 'UNAUTHENTICATED');
  });

  await t.test('an auditor may read but not change, still before the body', async () => {
    const created = await node.api('POST', '/api/v1/tokens', { name: 'pki-auditor', role: 'auditor' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const res = await fetch(`${node.http}/api/v1/stations/CP1/certificates/install`, { method: 'POST', headers: { authorization: `Bearer ${created.body.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ nope: 1 }) });
    assert.equal(res.status, 403);
    assert.equal((await node.api('GET', '/api/v1/pki/cas', undefined, created.body.token)).status, 200);
  });
});
