/** `evguard assess`: station and fleet assessments from a node's REST API, and the procurement checklist. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { apiClient } from '../api/client.js';
import { parseIntOption, usageError } from '../cli-kit.js';
import { renderAssessmentHtml, renderChecklistHtml, renderChecklistMarkdown } from './render.js';
import type { FleetSummary, StationAssessment } from './evaluate.js';

function stationLines(a: StationAssessment): string[] {
  const lines = [`${a.stationId}: ${a.grade} ${a.score}/100 (${a.counts.pass} pass, ${a.counts.fail} fail, ${a.counts.unknown} unknown)`];
  for (const r of a.results.filter((x) => x.status === 'fail' || x.status === 'unknown')) {
    lines.push(`  ${r.status === 'fail' ? 'FAIL' : '??  '} ${r.id} ${r.severity.padEnd(8)} ${r.title}: ${r.evidence}`);
  }
  return lines;
}

export function assessCommand(): Command {
  return new Command('assess')
    .description('Assess stations against the security baseline (per station and fleet), or write the procurement checklist')
    .option('--api <url>', 'REST base URL of the evguard node (or EVGUARD_API)', process.env.EVGUARD_API ?? 'http://localhost:8080')
    .option('--token <token>', 'API token (auditor role; operator for --refresh), or EVGUARD_TOKEN')
    .option('--station <id>', 'assess one station instead of the fleet')
    .option('--refresh', 'read the station\'s configuration first (GetConfiguration / GetVariables); needs --station and the operator role', false)
    .option('--json <file>', 'write the assessment as JSON')
    .option('--html <file>', 'write a self-contained HTML report')
    .option('--fail-below <score>', 'exit 1 when the (fleet or station) score is below this', parseIntOption('--fail-below', 0, 100))
    .option('--checklist', 'write the procurement checklist (Markdown and HTML) instead', false)
    .option('--out <dir>', 'directory for --checklist files', '.')
    .addHelpText('after', '\nExit codes: 0 ok, 1 score below --fail-below or the node could not be read, 2 bad usage.\nEvery rule and its sources: docs/assess.md.')
    .action(async (o) => {
      if (o.checklist) {
        mkdirSync(o.out, { recursive: true });
        const md = path.join(o.out, 'security-requirements.md');
        const html = path.join(o.out, 'security-requirements.html');
        writeFileSync(md, renderChecklistMarkdown());
        writeFileSync(html, renderChecklistHtml());
        process.stdout.write(`wrote ${md} and ${html}\n`);
        return;
      }
      const token = o.token ?? process.env.EVGUARD_TOKEN;
      if (!token) throw usageError('assessing stations needs --token or EVGUARD_TOKEN (an auditor token), or give --checklist');
      if (o.refresh && !o.station) throw usageError('--refresh needs --station');
      try {
        new URL(o.api);
      } catch {
        throw usageError('--api must be a URL such as http://localhost:8080');
      }
      const api = apiClient(o.api, token);
      let score: number;
      let doc: StationAssessment | (FleetSummary & { assessments: StationAssessment[] });
      if (o.station) {
        const a = await api.request<StationAssessment & { refresh?: string }>(o.refresh ? 'POST' : 'GET', `/api/v1/stations/${encodeURIComponent(o.station)}/assessment`);
        if (a.refresh) process.stderr.write(`configuration: ${a.refresh}\n`);
        process.stdout.write(stationLines(a).join('\n') + '\n');
        score = a.score;
        doc = a;
      } else {
        process.stderr.write('assessing the fleet …\n');
        const fleet = await api.request<FleetSummary & { assessments: StationAssessment[] }>('GET', '/api/v1/assessment?details=true');
        const lines = [`fleet: ${fleet.grade} ${fleet.score}/100 over ${fleet.stations} station(s); grades ${Object.entries(fleet.grades).map(([g, n]) => `${g} ${n}`).join(', ')}`];
        for (const r of fleet.rules.filter((x) => x.fail > 0)) lines.push(`  ${r.id} ${r.severity.padEnd(8)} fails on ${r.fail} station(s): ${r.title}`);
        process.stdout.write(lines.join('\n') + '\n');
        score = fleet.score;
        doc = fleet;
      }
      if (o.json) writeFileSync(o.json, JSON.stringify(doc, null, 2) + '\n');
      if (o.html) writeFileSync(o.html, renderAssessmentHtml(doc));
      if (o.failBelow !== undefined && score < o.failBelow) {
        process.stderr.write(`score ${score} is below ${o.failBelow}\n`);
        process.exitCode = 1;
      }
    });
}
