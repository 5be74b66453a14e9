import type { FastifyInstance } from 'fastify';
import type { Guard } from '../api/route-plugin.js';
import { createHash } from 'node:crypto';
import { billingCsv, TRANSACTION_STATES, transactionKey, type Transactions } from './index.js';
import type { IdTokens } from '../stations/index.js';
import { errors, listOf, noContent, ref } from '../api/schemas.js';

/** GET /api/v1/billing as JSON (src/transactions/index.ts `billingExport`). */
const billingExport = {
  type: 'object',
  required: ['format', 'from', 'to', 'totals', 'records'],
  properties: {
    format: { type: 'string', enum: ['evguard-billing-export/1'] },
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
    stationId: { type: 'string' },
    totals: {
      type: 'object',
      required: ['transactions', 'billable', 'energyWh'],
      properties: { transactions: { type: 'integer' }, billable: { type: 'integer' }, energyWh: { type: 'number', description: 'Delivered energy of the billable records' } },
    },
    records: listOf('BillingRecord'),
  },
} as const;

export function transactionRoutes(deps: { transactions: Transactions; idTokens: IdTokens }) {
  return async function (app: FastifyInstance, guard: Guard) {
    app.get(
      '/api/v1/transactions',
      {
        preHandler: guard.require('auditor'),
        schema: {
          tags: ['transactions'],
          summary: 'List transactions, most recently changed first',
          response: { 200: listOf('Transaction') },
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              stationId: { type: 'string', maxLength: 48 },
              state: { type: 'string', enum: [...TRANSACTION_STATES] },
              limit: { type: 'integer', minimum: 1, maximum: 1000 },
              offset: { type: 'integer', minimum: 0, maximum: 2147483647 },
            },
          },
        },
      },
      async (req) => deps.transactions.list(req.query as any),
    );
    // A transaction is named by its station and the station's own id: `<stationId>:<transactionId>`, or the two path segments.
    app.get('/api/v1/transactions/:id', {
      preHandler: guard.require('auditor'),
      schema: {
        tags: ['transactions'],
        summary: 'Read a transaction by its id <stationId>:<transactionId>, with its event log',
        params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 100 } } },
        response: { 200: ref('Transaction'), ...errors(404) },
      },
    }, async (req) => deps.transactions.get((req.params as { id: string }).id));
    app.get('/api/v1/stations/:stationId/transactions/:transactionId', {
      preHandler: guard.require('auditor'),
      schema: {
        tags: ['transactions'],
        summary: 'Read a station\'s transaction by the station\'s own id, with its event log',
        params: { type: 'object', properties: { stationId: { type: 'string', minLength: 1, maxLength: 48 }, transactionId: { type: 'string', minLength: 1, maxLength: 64 } } },
        response: { 200: ref('Transaction'), ...errors(404) },
      },
    }, async (req) => {
      const { stationId, transactionId } = req.params as { stationId: string; transactionId: string };
      return deps.transactions.get(transactionKey(stationId, transactionId));
    });

    // Billing: one transaction's record (JSON), or every transaction that ended in a period (JSON or CSV), each with its SHA-256.
    app.get('/api/v1/transactions/:id/billing', {
      preHandler: guard.require('auditor'),
      schema: {
        tags: ['billing'],
        summary: 'A transaction\'s billing record, its signed meter values checked',
        params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 100 } } },
        response: { 200: ref('BillingRecord'), ...errors(404) },
      },
    }, async (req) => deps.transactions.billing((req.params as { id: string }).id));
    app.get('/api/v1/stations/:stationId/transactions/:transactionId/billing', {
      preHandler: guard.require('auditor'),
      schema: {
        tags: ['billing'],
        summary: 'A station\'s transaction\'s billing record, by the station\'s own id',
        params: { type: 'object', properties: { stationId: { type: 'string', minLength: 1, maxLength: 48 }, transactionId: { type: 'string', minLength: 1, maxLength: 64 } } },
        response: { 200: ref('BillingRecord'), ...errors(404) },
      },
    }, async (req) => {
      const { stationId, transactionId } = req.params as { stationId: string; transactionId: string };
      return deps.transactions.billing(transactionKey(stationId, transactionId));
    });
    app.get('/api/v1/billing', {
      preHandler: guard.require('auditor'),
      schema: {
        tags: ['billing'],
        summary: 'Export the billing records of the transactions that ended in [from, to), as JSON or CSV',
        description: 'The CSV answer carries a Content-Digest (RFC 9530) header.',
        response: {
          200: { content: { 'application/json': { schema: billingExport }, 'text/csv': { schema: { type: 'string', description: 'One line per record' } } } },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['from', 'to'],
          properties: {
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            stationId: { type: 'string', maxLength: 48 },
            format: { type: 'string', enum: ['json', 'csv'] },
          },
        },
      },
    }, async (req, reply) => {
      const q = req.query as { from: string; to: string; stationId?: string; format?: 'json' | 'csv' };
      const out = await deps.transactions.billingExport(q);
      if (q.format !== 'csv') return out;
      const body = billingCsv(out.records);
      // RFC 9530: the receiver can check the file it got is the file that was sent.
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="billing-${out.from.slice(0, 10)}-${out.to.slice(0, 10)}.csv"`)
        .header('content-digest', `sha-256=:${createHash('sha256').update(body).digest('base64')}:`)
        .send(body);
    });

    app.get('/api/v1/id-tokens', { preHandler: guard.require('auditor'), schema: { tags: ['authorization'], summary: 'List the idTokens stations may charge with', response: { 200: listOf('IdToken') } } }, async () => deps.idTokens.list());
    app.put(
      '/api/v1/id-tokens/:idToken',
      {
        preHandler: guard.require('operator'),
        schema: {
          tags: ['authorization'],
          summary: 'Add an idToken or change its status or expiry',
          params: { type: 'object', properties: { idToken: { type: 'string' } } },
          response: { 200: ref('IdToken') },
          body: {
            type: 'object',
            additionalProperties: false,
            properties: {
              type: { type: 'string', maxLength: 20 },
              status: { type: 'string', enum: ['Accepted', 'Blocked', 'Expired', 'Invalid'] },
              expiresAt: { type: 'string', format: 'date-time' },
            },
          },
        },
      },
      async (req) => {
        const { idToken } = req.params as { idToken: string };
        req.auditTarget = idToken;
        return deps.idTokens.put({ idToken, ...((req.body as object) ?? {}) });
      },
    );
    app.delete('/api/v1/id-tokens/:idToken', {
      preHandler: guard.require('operator'),
      schema: { tags: ['authorization'], summary: 'Remove an idToken', params: { type: 'object', properties: { idToken: { type: 'string' } } }, response: noContent },
    }, async (req, reply) => {
      const { idToken } = req.params as { idToken: string };
      req.auditTarget = idToken;
      await deps.idTokens.remove(idToken);
      return reply.status(204).send();
    });
  };
}
