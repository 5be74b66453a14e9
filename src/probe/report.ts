/** Renders a probe report: terminal summary, JSON, SARIF 2.1.0 (one rule per check) and a self-contained HTML page. */
import { CHECKS } from './run.js';
import { severityRank, type CheckResult, type CheckSpec, type ProbeReport, type Severity } from './types.js';

export function findingsAtOrAbove(report: ProbeReport, failOn: Severity): CheckResult[] {
  return report.results.filter((r) => r.outcome === 'fail' && severityRank(r.severity) >= severityRank(failOn));
}

const MARK: Record<CheckResult['outcome'], string> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP', error: 'ERR ' };

export function renderTerminal(report: ProbeReport): string {
  const lines = [`evguard probe ${report.target}  (${report.startedAt} – ${report.finishedAt})`];
  if (report.negotiatedVersion) lines.push(`negotiated subprotocol: ${report.negotiatedVersion}`);
  for (const r of report.results) {
    lines.push(`  ${MARK[r.outcome]} ${r.id.padEnd(8)} ${r.severity.padEnd(8)} ${r.title}`);
    if (r.outcome === 'fail' || r.outcome === 'error') for (const e of r.evidence) lines.push(`         - ${e}`);
    if (r.outcome === 'fail') lines.push(`         remedy: ${r.remedy}`);
  }
  const s = report.summary;
  const sev = Object.entries(s.findingsBySeverity).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(', ');
  lines.push(`${s.fail} finding(s)${sev ? ` (${sev})` : ''}, ${s.pass} passed, ${s.skip} skipped, ${s.error} without verdict`);
  if (report.complete === false) lines.push(`INCOMPLETE: ${s.error} check(s) could not be judged`);
  for (const why of report.stoppedBy ?? []) lines.push(`stopped: ${why}`);
  for (const n of report.notes) lines.push(`note: ${n}`);
  return lines.join('\n') + '\n';
}

export function renderJson(report: ProbeReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'note' };
/** GitHub code scanning reads this property to rank security results. */
const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0', info: '0.0' };

/** `specs`: the checks the run could have made (the CSMS probe's by default, or the station probe's). */
export function renderSarif(report: ProbeReport, specs: readonly CheckSpec[] = CHECKS): string {
  const rules = specs.map((c) => ({
    id: c.id,
    name: c.title.replace(/[^A-Za-z0-9]+/g, ' ').trim().split(' ').map((w) => w[0]!.toUpperCase() + w.slice(1)).join(''),
    shortDescription: { text: c.title },
    fullDescription: { text: c.description },
    help: { text: `${c.remedy}\nBasis: ${c.basis}`, markdown: `**Remedy:** ${c.remedy}\n\n**Basis:** ${c.basis}` },
    defaultConfiguration: { level: LEVEL[c.severity] },
    properties: { severity: c.severity, basis: c.basis, aggressive: Boolean(c.aggressive), 'security-severity': SECURITY_SEVERITY[c.severity], tags: ['security', 'ocpp'] },
  }));
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const results = report.results
    .filter((r) => r.outcome === 'fail')
    .map((r) => ({
      ruleId: r.id,
      ruleIndex: index.get(r.id),
      level: LEVEL[r.severity],
      kind: 'fail',
      message: { text: `${r.title}: ${r.evidence.join('; ')}` },
      locations: [{ physicalLocation: { artifactLocation: { uri: report.target } } }],
      properties: { severity: r.severity, evidence: r.evidence },
    }));
  const notRun = report.results.filter((r) => r.outcome === 'skip' || r.outcome === 'error');
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: report.tool.name, version: report.tool.version, informationUri: 'https://github.com/evguard/evguard/blob/main/docs/probe.md', rules } },
        invocations: [
          {
            executionSuccessful: report.complete !== false,
            startTimeUtc: report.startedAt,
            endTimeUtc: report.finishedAt,
            toolExecutionNotifications: [
              ...notRun.map((r) => ({ level: 'note', message: { text: `${r.id} ${r.outcome === 'skip' ? 'skipped' : 'without verdict'}: ${r.evidence.join('; ')}` }, descriptor: { id: r.id } })),
              ...(report.stoppedBy ?? []).map((n) => ({ level: 'error', message: { text: `stopped: ${n}` } })),
              ...report.notes.map((n) => ({ level: 'warning', message: { text: n } })),
            ],
          },
        ],
        properties: { target: report.target, serverCertificateVerified: report.serverCertificateVerified, summary: report.summary },
        results,
      },
    ],
  };
  return JSON.stringify(sarif, null, 2) + '\n';
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export const HTML_STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#1b1f24;padding:0 1rem}
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #d0d7de;padding:.4rem;vertical-align:top;text-align:left}
.pass{color:#1a7f37}.fail{color:#cf222e;font-weight:600}.skip{color:#6e7781}.error{color:#9a6700}
.sev-critical,.sev-high{background:#ffebe9}.sev-medium{background:#fff8c5}small{color:#57606a}ul{margin:.2rem 0;padding-left:1.2rem}
.note{background:#ddf4ff;padding:.5rem;border-radius:4px}`;

export function renderHtml(report: ProbeReport): string {
  const s = report.summary;
  const rows = report.results
    .map(
      (r) => `<tr class="sev-${r.outcome === 'fail' ? r.severity : 'none'}"><td><b>${esc(r.id)}</b></td><td class="${r.outcome}">${r.outcome.toUpperCase()}</td><td>${esc(r.severity)}</td>
<td>${esc(r.title)}<ul>${r.evidence.map((e) => `<li>${esc(e)}</li>`).join('')}</ul>${r.outcome === 'fail' ? `<div><b>Remedy:</b> ${esc(r.remedy)}</div>` : ''}<small>Basis: ${esc(r.basis)}</small></td></tr>`,
    )
    .join('\n');
  const heading = report.tool.name === 'evguard-probe-station' ? 'evguard station probe report' : 'evguard probe report';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${heading}: ${esc(report.target)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${HTML_STYLE}</style></head>
<body><h1>${heading}</h1>
<p>Target <code>${esc(report.target)}</code>${report.negotiatedVersion ? `, subprotocol <code>${esc(report.negotiatedVersion)}</code>` : ''}; ${esc(report.startedAt)} to ${esc(report.finishedAt)}.
Server certificate ${report.serverCertificateVerified ? 'verified' : '<b>not verified</b>'}.</p>
<p><b>${s.fail} finding(s)</b> (${Object.entries(s.findingsBySeverity).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${esc(k)}`).join(', ') || 'none'}), ${s.pass} passed, ${s.skip} skipped, ${s.error} without verdict.</p>
${(report.stoppedBy ?? []).map((n) => `<p class="note"><b>Stopped:</b> ${esc(n)}</p>`).join('\n')}
${report.notes.map((n) => `<p class="note">${esc(n)}</p>`).join('\n')}
<table><thead><tr><th>Check</th><th>Result</th><th>Severity</th><th>Title, evidence, remedy and basis</th></tr></thead><tbody>
${rows}
</tbody></table></body></html>
`;
}
