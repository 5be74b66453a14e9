/**
 * Firmware uploads stream to a staging file. A client that goes away after
 * its last byte, while the node is still checking the upload, must not leave
 * that file behind: an operator token (or a flaky client) repeating it would
 * fill the disk 64 MiB at a time. Nor may it keep an upload slot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { eventually, startTestNode } from '../support/node.js';

/** Sends a whole body and destroys the connection right after the last byte, before the answer. */
function uploadAndLeave(port: number, p: string, token: string, bytes: number, headers: Record<string, string> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(bytes), ...headers } });
    req.on('error', () => undefined);
    req.on('response', () => reject(new Error('the node answered before the body was complete')));
    req.end(Buffer.alloc(bytes, 0x5a), () => {
      req.destroy();
      resolve();
    });
  });
}

test('an upload whose client leaves after the body leaves no staged file and no busy slot', async (t) => {
  const node = await startTestNode({ db: 'sqlite' });
  t.after(() => node.stop());
  const port = Number(new URL(node.http).port);
  const staging = path.join(node.dataDir, 'firmware', 'uploads');
  const staged = () => readdirSync(staging).filter((f) => f.endsWith('.upload'));
  const bogusSignature = {
    'x-firmware-signature': Buffer.alloc(256, 1).toString('base64'),
    'x-firmware-signing-certificate': Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64'),
  };
  // Refused by its handler (a signature that does not verify), and refused before it (a query without a version).
  for (let i = 0; i < 3; i++) {
    await uploadAndLeave(port, `/api/v1/firmware?vendor=Acme&model=AC22&version=1.0.${i}`, node.adminToken, 16 * 1024 * 1024, bogusSignature);
    await uploadAndLeave(port, '/api/v1/firmware?vendor=Acme&model=AC22', node.adminToken, 16 * 1024 * 1024);
  }
  await eventually('no staged upload is left behind', () => staged().length === 0);

  // The client's two upload slots are free again: two uploads at once are both stored.
  const stored = await Promise.all([1, 2].map(async (i) => {
    const res = await fetch(`${node.http}/api/v1/firmware?vendor=Acme&model=AC22&version=2.0.${i}`, { method: 'POST', headers: { authorization: `Bearer ${node.adminToken}`, 'content-type': 'application/octet-stream' }, body: Buffer.alloc(1024, i) });
    return res.status;
  }));
  assert.deepEqual(stored, [201, 201]);
  assert.deepEqual(staged(), []);
});
