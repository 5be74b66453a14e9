/**
 * REST for the console: a station's assessment, a refresh that reads the
 * station's configuration first, the fleet summary, the baseline, and the
 * procurement checklist.
 */
import type { FastifyInstance } from 'fastify';
import type { Guard } from '../api/route-plugin.js';
import type { Assessment } from './index.js';
import { RULES } from './rules.js';
import { renderChecklistHtml, renderChecklistMarkdown } from './render.js';
import { errors, listOf, ref } from '../api/schemas.js';

const idParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 48 } } } as const;
const tags = ['assessment'];

export function assessRoutes(assessment: Assessment) {
  return async function (app: FastifyInstance, guard: Guard) {
    app.get('/api/v1/stations/:id/assessment', {
      preHandler: guard.require('auditor'),
      schema: { tags, summary: 'A station\'s assessment against the baseline, from what the node knows', params: idParam, response: { 200: ref('StationAssessment'), ...errors(404) } },
    }, async (req) => {
      return assessment.station((req.params as { id: string }).id);
    });
    app.post('/api/v1/stations/:id/assessment', {
      preHandler: guard.require('operator'),
      schema: { tags, summary: 'Read a connected station\'s configuration now, then assess it', params: idParam, response: { 200: ref('StationAssessment'), ...errors(404) } },
    }, async (req) => {
      const { id } = req.params as { id: string };
      req.auditTarget = id;
      return assessment.station(id, { refresh: true });
    });
    app.get(
      '/api/v1/assessment',
      {
        preHandler: guard.require('auditor'),
        schema: {
          tags,
          summary: 'The fleet\'s assessment: grades, the rules most often failed, the weakest stations',
          querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 10000 }, details: { type: 'boolean' } } },
          response: { 200: ref('AssessmentSummary') },
        },
      },
      async (req) => {
        const q = req.query as { limit?: number; details?: boolean };
        const fleet = await assessment.fleet({ limit: q.limit });
        return q.details ? fleet : { ...fleet, assessments: undefined };
      },
    );
    app.get('/api/v1/assessment/baseline', {
      preHandler: guard.require('auditor'),
      schema: { tags, summary: 'The baseline: each rule, its sources, how it is verified and how to fix it', response: { 200: listOf('BaselineRule') } },
    }, async () =>
      RULES.map(({ id, title, severity, sources, verification, remedy, profile }) => ({ id, title, severity, sources, verification, remedy, profile })),
    );
    app.get(
      '/api/v1/assessment/checklist',
      {
        preHandler: guard.require('auditor'),
        schema: {
          tags,
          summary: 'The procurement checklist made from the baseline, as Markdown or HTML',
          querystring: { type: 'object', additionalProperties: false, properties: { format: { type: 'string', enum: ['md', 'html'] } } },
          response: { 200: { description: 'The checklist', content: { 'text/markdown': { schema: { type: 'string' } }, 'text/html': { schema: { type: 'string' } } } } },
        },
      },
      async (req, reply) => {
        const html = (req.query as { format?: string }).format === 'html';
        return reply.type(html ? 'text/html; charset=utf-8' : 'text/markdown; charset=utf-8').send(html ? renderChecklistHtml() : renderChecklistMarkdown());
      },
    );
  };
}
