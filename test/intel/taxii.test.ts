import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { addSharedSchemas } from '../../src/api/schemas.js';
import { createTaxiiClient, STATION_EXTENSION, TAXII_MEDIA_TYPE, type Principal, type StixObject } from '../../src/intel/index.js';
import { ADDRESS, FINGERPRINT, FIRMWARE, openNode, sampleAlerts, type TestNode } from './fixtures.js';

const TOKENS: Record<string, Principal> = {
  'admin-token': { principal: 'alice', role: 'admin' },
  'operator-token': { principal: 'olga', role: 'operator' },
  'auditor-token': { principal: 'audrey', role: 'auditor' },
};
const auth = {
  authenticate(req: FastifyRequest) {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    return m ? TOKENS[m[1]!] : undefined;
  },
};

describe('TAXII 2.1 server and client', () => {
  let server: TestNode;
  let app: FastifyInstance;
  let base: string;
  let shared: string;
  let inbox: string;

  const call = async (path: string, init: { token?: string; accept?: string; method?: string; body?: string; contentType?: string } = {}) => {
    const headers: Record<string, string> = {};
    if (init.token !== null) headers.authorization = `Bearer ${init.token ?? 'admin-token'}`;
    headers.accept = init.accept ?? TAXII_MEDIA_TYPE;
    if (init.body !== undefined) headers['content-type'] = init.contentType ?? TAXII_MEDIA_TYPE;
    const res = await fetch(`${base}${path}`, { method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'), headers, body: init.body });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };

  before(async () => {
    server = await openNode({ maxContentLength: 64 * 1024, maxPageSize: 5 });
    app = Fastify();
    addSharedSchemas(app);
    await server.intel.taxiiRoutes(app, auth);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address() as { port: number };
    base = `http://127.0.0.1:${address.port}`;
    shared = server.intel.collections.find((c) => c.alias === 'shared')!.id;
    inbox = server.intel.collections.find((c) => c.alias === 'inbox')!.id;
    await server.intel.share({ alerts: sampleAlerts() });
  });
  after(async () => {
    await app.close();
    await server.close();
  });

  it('serves discovery, the API root and collections in the TAXII media type', async () => {
    const discovery = await call('/taxii2/');
    assert.equal(discovery.status, 200);
    assert.equal(discovery.headers.get('content-type'), TAXII_MEDIA_TYPE);
    assert.deepEqual(discovery.body.api_roots, [`${base}/taxii2/evguard/`]);
    const root = await call('/taxii2/evguard/');
    assert.deepEqual(root.body.versions, [TAXII_MEDIA_TYPE]);
    assert.equal(root.body.max_content_length, 64 * 1024);
    const asAuditor = await call('/taxii2/evguard/collections/', { token: 'auditor-token' });
    const rights = Object.fromEntries(asAuditor.body.collections.map((c: any) => [c.alias, [c.can_read, c.can_write]]));
    assert.deepEqual(rights, { shared: [true, false], inbox: [true, false] });
    const asOperator = await call(`/taxii2/evguard/collections/${inbox}/`, { token: 'operator-token' });
    assert.equal(asOperator.body.can_write, true);
  });

  it('answers 401 without a token, 406 for another Accept, 404 for what does not exist', async () => {
    const anon = await call('/taxii2/', { token: 'nope' });
    assert.equal(anon.status, 401);
    assert.equal(anon.body.error.code, 'TAXII_UNAUTHENTICATED');
    assert.match(anon.headers.get('www-authenticate') ?? '', /^Bearer/);
    for (const accept of ['application/json', 'application/taxii+json;version=2.0', '']) {
      const res = await call('/taxii2/', { accept });
      assert.equal(res.status, 406, accept);
      assert.equal(res.body.error.code, 'TAXII_NOT_ACCEPTABLE');
      assert.equal(res.body.http_status, '406');
    }
    assert.equal((await call('/taxii2/', { accept: 'application/taxii+json' })).status, 200);
    assert.equal((await call('/taxii2/evguard/collections/00000000-0000-4000-8000-000000000000/objects/')).status, 404);
    assert.equal((await call(`/taxii2/evguard/collections/${shared}/objects/indicator--00000000-0000-4000-8000-000000000000/`)).status, 404);
    assert.equal((await call(`/taxii2/evguard/collections/${shared}/objects/not-an-id/`)).status, 400);
    assert.equal((await call('/taxii2/evguard/status/00000000-0000-4000-8000-000000000000/')).status, 404);
  });

  it('pages objects with more/next and the X-TAXII-Date-Added headers, and filters by added_after, type and id', async () => {
    const all: StixObject[] = [];
    let next: string | undefined;
    let firstPage: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 50; i++) {
      const page = await call(`/taxii2/evguard/collections/${shared}/objects/?limit=4${next ? `&next=${encodeURIComponent(next)}` : ''}`);
      assert.equal(page.status, 200);
      firstPage ??= page;
      assert.ok(page.body.objects.length <= 4);
      all.push(...page.body.objects);
      assert.ok(page.headers.get('x-taxii-date-added-first'));
      assert.ok(page.headers.get('x-taxii-date-added-last'));
      if (!page.body.more) {
        assert.equal(page.body.next, undefined);
        break;
      }
      next = page.body.next;
    }
    // The bundle's objects, plus the extension definition of the station observable and its author.
    const bundle = server.intel.exportBundle({ alerts: sampleAlerts() }).objects;
    const exported = [...bundle.map((o) => ({ id: o.id })), { id: STATION_EXTENSION.id }, { id: STATION_EXTENSION.created_by_ref! }];
    assert.deepEqual(new Set(all.map((o) => o.id)), new Set(exported.map((o) => o.id)));
    assert.equal(all.length, exported.length, 'no object twice');
    // limit is capped at the server's page size
    assert.equal((await call(`/taxii2/evguard/collections/${shared}/objects/?limit=1000`)).body.objects.length, 5);

    const rest = await call(`/taxii2/evguard/collections/${shared}/objects/?added_after=${firstPage!.headers.get('x-taxii-date-added-last')}&limit=1000`);
    assert.equal(rest.body.objects.length, Math.min(5, exported.length - 4));

    const indicators = await call(`/taxii2/evguard/collections/${shared}/objects/?match[type]=indicator,malware&limit=100`);
    assert.ok(indicators.body.objects.every((o: StixObject) => o.type === 'indicator' || o.type === 'malware'));
    const one = bundle.find((o) => o.type === 'indicator')!;
    const byId = await call(`/taxii2/evguard/collections/${shared}/objects/?match[id]=${one.id}`);
    assert.deepEqual(byId.body.objects, [one]);
    const direct = await call(`/taxii2/evguard/collections/${shared}/objects/${one.id}/`);
    assert.deepEqual(direct.body.objects, [one]);

    for (const bad of ['added_after=yesterday', 'limit=0', 'limit=abc', 'next=garbage', 'match[id]=x', 'match[spec_version]=3.0', 'match[version]=soon']) {
      const res = await call(`/taxii2/evguard/collections/${shared}/objects/?${bad}`);
      assert.equal(res.status, 400, bad);
      assert.equal(res.body.error.code, 'TAXII_BAD_REQUEST');
    }
  });

  it('serves the manifest and the versions of an object, and keeps every version re-shared once', async () => {
    const manifest = await call(`/taxii2/evguard/collections/${shared}/manifest/?limit=3`);
    assert.equal(manifest.status, 200);
    assert.equal(manifest.body.more, true);
    for (const m of manifest.body.objects) assert.deepEqual(Object.keys(m).sort(), ['date_added', 'id', 'media_type', 'version']);
    const before = (await call(`/taxii2/evguard/collections/${shared}/manifest/?limit=1000&match[version]=all`)).body.objects.length;
    await server.intel.share({ alerts: sampleAlerts() }); // re-sharing the same alerts adds nothing
    const again = (await call(`/taxii2/evguard/collections/${shared}/manifest/?limit=1000&match[version]=all`)).body.objects.length;
    assert.equal(again, before);

    const indicator = (await call(`/taxii2/evguard/collections/${shared}/objects/?match[type]=indicator&limit=1`)).body.objects[0];
    const newer = { ...indicator, modified: '2024-06-01T00:00:00.000Z', description: 'updated' };
    const post = await call(`/taxii2/evguard/collections/${shared}/objects/`, { body: JSON.stringify({ objects: [newer] }) });
    assert.equal(post.status, 202);
    const versions = await call(`/taxii2/evguard/collections/${shared}/objects/${indicator.id}/versions/`);
    assert.deepEqual(versions.body.versions, [indicator.modified, '2024-06-01T00:00:00.000Z']);
    const last = await call(`/taxii2/evguard/collections/${shared}/objects/${indicator.id}/`);
    assert.equal(last.body.objects[0].description, 'updated');
    const first = await call(`/taxii2/evguard/collections/${shared}/objects/${indicator.id}/?match[version]=first`);
    assert.equal(first.body.objects[0].modified, indicator.modified);
    const both = await call(`/taxii2/evguard/collections/${shared}/objects/${indicator.id}/?match[version]=all`);
    assert.equal(both.body.objects.length, 2);

    // Deleting the last version leaves the first; deleting without a version removes the object.
    const asOperator = await call(`/taxii2/evguard/collections/${shared}/objects/${indicator.id}/?match[version]=last`, { method: 'DELETE', token: 'operator-token' });
    assert.equal(asOperator.status, 403);
    assert.equal((await call(`/taxii2/evguard/collections/${shared}/objects/${indicator.id}/?match[version]=last`, { method: 'DELETE' })).status, 200);
    assert.deepEqual((await call(`/taxii2/evguard/collections/${shared}/objects/${indicator.id}/versions/`)).body.versions, [indicator.modified]);
    assert.equal((await call(`/taxii2/evguard/collections/${shared}/objects/${indicator.id}/`, { method: 'DELETE' })).status, 200);
    assert.equal((await call(`/taxii2/evguard/collections/${shared}/objects/${indicator.id}/`)).status, 404);
    await server.intel.share({ alerts: sampleAlerts() }); // restores it for the tests that follow
  });

  it('takes POSTed envelopes by collection rights, with 415 and 413 and a status resource', async () => {
    const indicator = {
      type: 'indicator', spec_version: '2.1', id: 'indicator--6b2fa0b1-4f0e-4b8e-9f3c-3f0e2c1d9a77', created: '2024-05-02T00:00:00.000Z',
      modified: '2024-05-02T00:00:00.000Z', name: 'Rogue CSMS address', pattern: "[ipv4-addr:value = '198.51.100.66']", pattern_type: 'stix', valid_from: '2024-05-02T00:00:00Z',
    };
    const body = JSON.stringify({ objects: [indicator, { type: 'indicator', id: 'indicator--bad' }] });
    assert.equal((await call(`/taxii2/evguard/collections/${inbox}/objects/`, { token: 'auditor-token', body })).status, 403);
    assert.equal((await call(`/taxii2/evguard/collections/${shared}/objects/`, { token: 'operator-token', body })).status, 403);
    const wrongType = await call(`/taxii2/evguard/collections/${inbox}/objects/`, { token: 'operator-token', body, contentType: 'application/json' });
    assert.equal(wrongType.status, 415);
    assert.equal(wrongType.body.error.code, 'TAXII_UNSUPPORTED_MEDIA_TYPE');
    const tooLarge = await call(`/taxii2/evguard/collections/${inbox}/objects/`, { token: 'operator-token', body: JSON.stringify({ objects: [{ ...indicator, description: 'x'.repeat(70 * 1024) }] }) });
    assert.equal(tooLarge.status, 413);
    assert.equal(tooLarge.body.error.code, 'TAXII_TOO_LARGE');
    assert.equal((await call(`/taxii2/evguard/collections/${inbox}/objects/`, { token: 'operator-token', body: '{"objects": [' })).status, 400);
    assert.equal((await call(`/taxii2/evguard/collections/${inbox}/objects/`, { token: 'operator-token', body: '[]' })).status, 400);

    const posted = await call(`/taxii2/evguard/collections/${inbox}/objects/`, { token: 'operator-token', body });
    assert.equal(posted.status, 202);
    assert.equal(posted.body.status, 'complete');
    assert.equal(posted.body.success_count, 1);
    assert.equal(posted.body.failure_count, 1);
    assert.equal(posted.body.failures[0].id, 'indicator--bad');
    const status = await call(`/taxii2/evguard/status/${posted.body.id}/`, { token: 'operator-token' });
    assert.deepEqual(status.body, posted.body);
    // The inbox enforces what it receives.
    assert.equal(server.intel.match({ remoteAddress: '198.51.100.66' })?.indicatorId, indicator.id);
  });

  it('lets a second node pull over TAXII and refuse the firmware, certificate and address it learnt', async () => {
    const receiver = await openNode({ organizationName: 'Partner Operator', pseudonymKey: 'another-key-0123456789abcdef' });
    try {
      assert.equal(receiver.intel.match({ firmwareSha256: FIRMWARE }), undefined);
      const client = createTaxiiClient({ url: `${base}/taxii2/`, token: 'auditor-token' });
      const result = await receiver.intel.pullFrom(client, 'shared');
      assert.equal(result.rejected.length, 0);
      assert.ok(result.enforced >= 4);

      const fw = receiver.intel.match({ firmwareSha256: FIRMWARE.toUpperCase() });
      assert.equal(fw?.kind, 'firmware-sha256');
      assert.equal(fw?.name, 'Malicious firmware image');
      assert.equal(receiver.intel.match({ certificateSerialHex: '000a1b2c3d' })?.kind, 'certificate-serial');
      assert.equal(receiver.intel.match({ certificateSha256Fingerprint: FINGERPRINT.match(/../g)!.join(':') })?.kind, 'certificate-sha256');
      assert.equal(receiver.intel.match({ remoteAddress: `::ffff:${ADDRESS}` })?.kind, 'address');
      assert.equal(receiver.intel.match({ remoteAddress: '203.0.113.8', firmwareSha256: 'ef'.repeat(32) }), undefined);

      // The next pull continues where this one stopped.
      const again = await receiver.intel.pullFrom(client, 'shared');
      assert.equal(again.accepted, 0);

      // A match on live traffic becomes a sighting in the receiver's shared collection and a bus event.
      const sighting = await receiver.intel.recordSighting(fw!.indicatorId, { firmwareSha256: FIRMWARE, stationId: 'CS-9', kind: fw!.kind });
      assert.equal(sighting.sighting_of_ref, fw!.indicatorId);
      assert.equal(receiver.intel.validate(sighting).valid, true);
      const event = receiver.events.find((e) => e.topic === 'intel.indicator.sighted');
      assert.equal((event?.data as { indicatorId: string }).indicatorId, fw!.indicatorId);
      assert.equal(event?.stationId, 'CS-9');
      const repeat = await receiver.intel.recordSighting(fw!.indicatorId, { firmwareSha256: FIRMWARE, stationId: 'CS-9' });
      assert.equal(repeat.id, sighting.id);
      assert.equal(repeat.count, 2);
      await assert.rejects(receiver.intel.recordSighting('malware--x', {}), /STIX indicator id/);

      // …and the receiver can push back to the sender's inbox.
      const writer = createTaxiiClient({ url: `${base}/taxii2/evguard/`, token: 'operator-token' });
      const pushed = await writer.push('inbox', [sighting]);
      assert.equal(pushed.successCount, 1);
      await assert.rejects(createTaxiiClient({ url: `${base}/taxii2/`, token: 'auditor-token' }).push('inbox', [sighting]), /403/);
    } finally {
      await receiver.close();
    }
  });

  it('splits a push into envelopes that fit max_content_length', async () => {
    const client = createTaxiiClient({ url: `${base}/taxii2/`, token: 'admin-token' });
    const objects = Array.from({ length: 40 }, (_, i) => ({
      type: 'indicator', spec_version: '2.1' as const, id: `indicator--${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`,
      created: '2024-05-03T00:00:00.000Z', modified: '2024-05-03T00:00:00.000Z', description: 'y'.repeat(4000),
      pattern: `[ipv4-addr:value = '192.0.2.${i}']`, pattern_type: 'stix', valid_from: '2024-05-03T00:00:00Z',
    }));
    const result = await client.push('inbox', objects);
    assert.equal(result.successCount, 40);
    assert.ok(result.statusIds.length >= 3);
    assert.equal(server.intel.match({ remoteAddress: '192.0.2.39' })?.indicatorId, objects[39]!.id);
  });
});
