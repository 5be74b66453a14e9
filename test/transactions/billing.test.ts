/**
 * Billing records others can check, on a real node (SQLite and PostgreSQL):
 * a transaction's energy, its OCMF signed meter values verified against the
 * meter key registry, its event log, and a SHA-256 over the record's RFC 8785
 * form that an independent JCS implementation reproduces; a fleet export for
 * a period as JSON (totals over billable transactions only) and CSV.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import { signOcmf } from '../../src/monitor/index.js';
import { startTestNode, testDatabases, type TestNode } from '../support/node.js';
import { boot, connectRaw, type RawClient } from '../support/raw-client.js';
import { clock, txEvent } from './support.js';

const canonicalize = canonicalizeModule as unknown as (v: unknown) => string;
const PASSWORD = 'billing-password-000001';
const TOKEN = 'BILLED0001';

function ecKeys() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString() };
}

async function ocmf(serial: string, page: number, kwh: number, type: 'B' | 'E', privatePem: string): Promise<string> {
  const payload = {
    FV: '1.0', GI: 'TEST', GS: '1', GV: '1.0', PG: `T${page}`, MV: 'Test', MM: 'M1', MS: serial, IS: true, IL: 'VERIFIED', IF: ['OCPP_RS_TLS'], IT: 'ISO14443', ID: TOKEN,
    RD: [{ TM: '2026-01-01T08:00:00,000+0000 S', TX: type, RV: kwh, RI: '01-00:B2.08.00*FF', RU: 'kWh', ST: 'G' }],
  };
  return Buffer.from(await signOcmf(payload, privatePem)).toString('base64');
}

for (const db of testDatabases()) {
  describe(`billing export (${db})`, () => {
    let node: TestNode;
    const clients: RawClient[] = [];
    const meter = ecKeys();
    const forger = ecKeys();
    before(async () => {
      node = await startTestNode({ db });
      await node.api('PUT', `/api/v1/id-tokens/${TOKEN}`, { status: 'Accepted' });
    });
    after(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await node.stop();
    });
    async function station(id: string, protocol: 'ocpp1.6' | 'ocpp2.0.1') {
      assert.equal((await node.api('POST', '/api/v1/stations', { id, securityProfile: 1, password: PASSWORD })).status, 201);
      const c = await connectRaw(`${node.ws}/${id}`, { protocol, user: id, password: PASSWORD });
      clients.push(c);
      await c.call('BootNotification', boot[protocol.slice(4) as keyof typeof boot]);
      return c;
    }

    test('one transaction: energy, verified and forged signed values, event log, and a hash anyone can recompute', async () => {
      const at = clock();
      const id = `BILL2-${db}`;
      const c = await station(id, 'ocpp2.0.1');
      assert.equal((await node.api('PUT', `/api/v1/stations/${id}/meter-keys`, { publicKey: meter.publicPem, meterSerial: 'MTR-1' })).status, 200);
      const signedAt = async (e: ReturnType<typeof txEvent>, data: string) => {
        e.meterValue[0]!.sampledValue[0] = { ...e.meterValue[0]!.sampledValue[0]!, signedMeterValue: { signedMeterData: data, signingMethod: 'ECDSA-secp256r1-SHA256', encodingMethod: 'OCMF', publicKey: '' } } as never;
        return e;
      };
      await c.call('TransactionEvent', await signedAt(txEvent('B1', 0, 'Started', at(0), 10_000, { idToken: { idToken: TOKEN, type: 'ISO14443' } }), await ocmf('MTR-1', 1, 10, 'B', meter.privatePem)));
      await c.call('TransactionEvent', txEvent('B1', 1, 'Updated', at(10), 14_000));
      // The end dataset is signed with a key of the station's own: the registry's key does not verify it.
      await c.call('TransactionEvent', await signedAt(txEvent('B1', 2, 'Ended', at(20), 17_500), await ocmf('MTR-1', 2, 17.5, 'E', forger.privatePem)));

      const res = await node.api('GET', `/api/v1/stations/${id}/transactions/B1/billing`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const r = res.body;
      assert.equal(r.format, 'evguard-billing-record/1');
      assert.deepEqual([r.transaction.id, r.transaction.state, r.transaction.authorization.status], [`${id}:B1`, 'Ended', 'Accepted']);
      assert.deepEqual(r.energy, { startWh: 10_000, stopWh: 17_500, deliveredWh: 7_500, sampledRegisterWh: { lowest: 14_000, highest: 14_000 } });
      assert.equal(r.billable, true);
      assert.deepEqual(r.signedMeterValues.map((s: any) => [s.check.result, s.check.keySource, s.check.meterSerial, s.check.pagination]), [['verified', 'registry', 'MTR-1', 'T1'], ['failed', 'registry', 'MTR-1', 'T2']]);
      assert.ok(r.review.includes('signature:failed'), r.review.join());
      assert.equal(r.eventLog.length, 3);
      // Recomputed here with the RFC 8785 reference implementation.
      const { sha256, ...body } = r;
      assert.equal(createHash('sha256').update(canonicalize(body)).digest('hex'), sha256);
      // The same record twice: the same hash; an edited copy does not match.
      assert.equal((await node.api('GET', `/api/v1/transactions/${id}:B1/billing`)).body.sha256, sha256);
      assert.notEqual(createHash('sha256').update(canonicalize({ ...body, energy: { ...body.energy, deliveredWh: 8_000 } })).digest('hex'), sha256);
    });

    test('a fleet over a period: JSON with totals over billable transactions only, CSV with the same records and a content digest', async () => {
      const at = clock();
      const from = new Date(Date.now() - 2 * 3_600_000).toISOString();
      const id = `BILL16-${db}`;
      const c = await station(id, 'ocpp1.6');
      const run = async (idTag: string, start: number, stop: number, minute: number, extra?: () => Promise<void>) => {
        const txId = (await c.call('StartTransaction', { connectorId: 1, idTag, meterStart: start, timestamp: at(minute) }))[2].transactionId;
        await extra?.call(null);
        await c.call('StopTransaction', { transactionId: txId, meterStop: stop, timestamp: at(minute + 5) });
        return txId;
      };
      const good = await run(TOKEN, 100, 1100, 0);
      const refused = await run('UNKNOWN01', 1100, 2100, 10);
      // A start register no meter can show: it never reaches the totals.
      const absurd = await run(TOKEN, -5_000_000_000, 3000, 20);
      const open = (await c.call('StartTransaction', { connectorId: 2, idTag: TOKEN, meterStart: 0, timestamp: at(30) }))[2].transactionId;
      const to = new Date(Date.now() + 60_000).toISOString();

      const json = await node.api('GET', `/api/v1/billing?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&stationId=${id}`);
      assert.equal(json.status, 200, JSON.stringify(json.body));
      const byId = new Map(json.body.records.map((r: any) => [r.transaction.transactionId, r]));
      assert.deepEqual([...byId.keys()].sort(), [good, refused, absurd].map(String).sort(), 'only ended transactions of the period');
      assert.deepEqual(json.body.totals, { transactions: 3, billable: 1, energyWh: 1000 });
      assert.equal((byId.get(String(refused)) as any).billable, false);
      assert.ok((byId.get(String(absurd)) as any).review.includes('implausible:registerNegative'));
      assert.ok(!byId.has(String(open)));

      const res = await fetch(`${node.http}/api/v1/billing?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&stationId=${id}&format=csv`, { headers: { authorization: `Bearer ${node.adminToken}` } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
      const text = await res.text();
      assert.equal(res.headers.get('content-digest'), `sha-256=:${createHash('sha256').update(text).digest('base64')}:`);
      const [header, ...rows] = text.trim().split('\r\n');
      assert.equal(header!.split(',')[0], 'id');
      assert.equal(rows.length, 3);
      const cols = header!.split(',');
      for (const row of rows) {
        const cells = row.split(',');
        const record = byId.get(cells[cols.indexOf('transactionId')]!) as any;
        assert.equal(cells[cols.indexOf('recordSha256')], record.sha256);
        assert.equal(cells[cols.indexOf('billable')], String(record.billable));
      }

      assert.equal((await node.api('GET', `/api/v1/billing?from=${encodeURIComponent(to)}&to=${encodeURIComponent(from)}`)).body.error.code, 'TRANSACTION_QUERY_INVALID');
      assert.equal((await node.api('GET', '/api/v1/billing?from=yesterday&to=today')).status, 400);
      assert.equal((await node.api('GET', '/api/v1/transactions/nobody:1/billing')).status, 404);
    });
  });
}
