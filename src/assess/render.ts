/** Assessment reports (self-contained HTML) and the procurement checklist (Markdown and HTML). */
import { RULES } from './rules.js';
import type { FleetSummary, StationAssessment } from './evaluate.js';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;color:#1b1f24;padding:0 1rem}
table{border-collapse:collapse;width:100%;margin-bottom:1.5rem}td,th{border-bottom:1px solid #d0d7de;padding:.35rem;text-align:left;vertical-align:top}
.pass{color:#1a7f37}.fail{color:#cf222e;font-weight:600}.unknown{color:#9a6700}.not-applicable{color:#6e7781}small{color:#57606a}
.grade{font-size:1.6rem;font-weight:700}`;

function stationTable(a: StationAssessment): string {
  const rows = a.results
    .map((r) => `<tr><td><b>${esc(r.id)}</b></td><td class="${r.status}">${esc(r.status)}</td><td>${esc(r.severity)}</td><td>${esc(r.title)}<br><small>${esc(r.evidence)}</small>${r.status === 'fail' ? `<br><b>Remedy:</b> ${esc(r.remedy)}` : ''}<br><small>Sources: ${esc(r.sources.join('; '))}</small></td></tr>`)
    .join('\n');
  return `<h2>${esc(a.stationId)} <span class="grade">${a.grade}</span> ${a.score}/100</h2>
<p>Assessed ${esc(a.assessedAt)}; configuration ${a.configurationReadAt ? `read ${esc(a.configurationReadAt)}` : 'not read yet'}; profiles: ${esc(a.profiles.join(', '))}.</p>
<table><thead><tr><th>Rule</th><th>Status</th><th>Severity</th><th>Requirement, evidence, remedy</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function renderAssessmentHtml(input: StationAssessment | (FleetSummary & { assessments: StationAssessment[] })): string {
  let body: string;
  if ('assessments' in input) {
    const rules = input.rules.map((r) => `<tr><td>${esc(r.id)}</td><td>${esc(r.title)}</td><td>${esc(r.severity)}</td><td class="fail">${r.fail}</td><td>${r.unknown}</td><td>${r.pass}</td></tr>`).join('\n');
    body = `<h1>evguard fleet assessment</h1><p class="grade">${input.grade} ${input.score}/100</p>
<p>${input.stations} station(s); grades ${Object.entries(input.grades).map(([g, n]) => `${g}: ${n}`).join(', ')}; ${esc(input.assessedAt)}.</p>
<table><thead><tr><th>Rule</th><th>Title</th><th>Severity</th><th>Fail</th><th>Unknown</th><th>Pass</th></tr></thead><tbody>${rules}</tbody></table>
${input.assessments.map(stationTable).join('\n')}`;
  } else {
    body = `<h1>evguard station assessment</h1>${stationTable(input)}`;
  }
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>evguard assessment</title><style>${STYLE}</style></head><body>${body}</body></html>\n`;
}

export function renderChecklistMarkdown(): string {
  const lines = [
    '# Charging station security requirements',
    '',
    'Attach to a tender. Each requirement names the public guidance it rests on and the test evguard runs on delivery (`evguard assess`, `evguard probe`).',
    '',
  ];
  for (const r of RULES) {
    lines.push(`## ${r.id}: ${r.title}${r.profile === 'wireless' ? ' (wireless stations)' : ''}`, '');
    lines.push(`- **Severity if unmet:** ${r.severity}`);
    lines.push(`- **Requirement:** the station shall meet this; ${r.remedy}`);
    lines.push(`- **Verified on delivery by:** ${r.verification}`);
    lines.push(`- **Sources:** ${r.sources.join('; ')}`, '');
  }
  lines.push('## CSMS-side acceptance', '', '- **Verified on delivery by:** `evguard probe <wss://…>` with the station credentials; no finding at or above medium (see docs/probe.md for each check and its basis).', '');
  return lines.join('\n');
}

export function renderChecklistHtml(): string {
  const items = RULES.map(
    (r) => `<tr><td><b>${esc(r.id)}</b></td><td>${esc(r.title)}${r.profile === 'wireless' ? ' <small>(wireless)</small>' : ''}<br><small>${esc(r.remedy)}</small></td><td>${esc(r.severity)}</td><td>${esc(r.verification)}</td><td><small>${esc(r.sources.join('; '))}</small></td></tr>`,
  ).join('\n');
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Charging station security requirements</title><style>${STYLE}</style></head><body>
<h1>Charging station security requirements</h1><p>Each requirement with the public guidance it rests on and the test evguard runs on delivery.</p>
<table><thead><tr><th>Id</th><th>Requirement</th><th>Severity</th><th>Verified on delivery by</th><th>Sources</th></tr></thead><tbody>${items}</tbody></table></body></html>\n`;
}
