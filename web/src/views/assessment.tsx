/** A station's configuration assessment against the security baseline (GET /api/v1/stations/:id/assessment). */
import { useState } from 'preact/hooks';
import { post } from '../api';
import { useResource } from '../hooks';
import { Badge, ConfirmAction, Outcome, ResourceState, Time } from '../ui';
import { postureTone } from '../posture';

interface RuleResult {
  id: string;
  title: string;
  severity: string;
  status: 'pass' | 'fail' | 'unknown' | 'not-applicable';
  evidence: string;
  sources: string[];
  remedy: string;
}
interface StationAssessment {
  stationId: string;
  assessedAt: string;
  score: number;
  grade: string;
  configurationReadAt?: string;
  counts: Record<string, number>;
  results: RuleResult[];
  refresh?: string;
}

const ORDER = { fail: 0, unknown: 1, pass: 2, 'not-applicable': 3 } as const;
const statusTone = (s: RuleResult['status'], severity: string) => (s === 'pass' ? 'ok' : s === 'fail' ? (severity === 'high' || severity === 'critical' ? 'bad' : 'warn') : 'neutral');

export function AssessmentPanel({ stationId }: { stationId: string }) {
  const r = useResource<StationAssessment>(`/api/v1/stations/${encodeURIComponent(stationId)}/assessment`, 30000);
  const [outcome, setOutcome] = useState<string | undefined>(undefined);
  const [showAll, setShowAll] = useState(false);
  return (
    <div class="card">
      <h2>Configuration assessment</h2>
      <ResourceState r={r} what="Configuration assessment">
        {(a) => {
          const results = [...a.results].sort((x, y) => ORDER[x.status] - ORDER[y.status]);
          const shown = showAll ? results : results.filter((x) => x.status === 'fail' || x.status === 'unknown');
          return (
            <>
              <p>
                <Badge tone={postureTone(a.score)}>
                  score {Math.round(a.score)} · grade {a.grade}
                </Badge>{' '}
                {a.counts.fail ?? 0} failing, {a.counts.unknown ?? 0} unknown, {a.counts.pass ?? 0} passing · assessed <Time at={a.assessedAt} /> · configuration read{' '}
                {a.configurationReadAt ? <Time at={a.configurationReadAt} /> : 'never'}
              </p>
              <div class="row wrap">
                <ConfirmAction
                  label="Re-assess now"
                  title={`Re-assess ${stationId}?`}
                  describe={<p>The node reads the station's configuration (GetConfiguration / GetVariables) and evaluates it against the baseline.</p>}
                  run={() => post<StationAssessment>(`/api/v1/stations/${encodeURIComponent(stationId)}/assessment`)}
                  onDone={(res) => {
                    r.set(() => res as StationAssessment);
                    setOutcome(`Re-assessed: score ${Math.round((res as StationAssessment).score)}${(res as StationAssessment).refresh ? ` (${(res as StationAssessment).refresh})` : ''}`);
                  }}
                />
                <label class="check">
                  <input type="checkbox" checked={showAll} onChange={(e) => setShowAll((e.target as HTMLInputElement).checked)} /> show passing and not-applicable rules
                </label>
              </div>
              <Outcome text={outcome} />
              {shown.length === 0 ? (
                <p class="muted">No failing or unknown rules.</p>
              ) : (
                <table class="compact">
                  <thead>
                    <tr>
                      <th scope="col">Result</th>
                      <th scope="col">Rule</th>
                      <th scope="col">Severity</th>
                      <th scope="col">Evidence</th>
                      <th scope="col">Remedy</th>
                    </tr>
                  </thead>
                  <tbody>
                    {shown.map((x) => (
                      <tr key={x.id}>
                        <td>
                          <Badge tone={statusTone(x.status, x.severity)}>{x.status}</Badge>
                        </td>
                        <td title={x.sources.join('; ')}>
                          <span class="mono small">{x.id}</span> {x.title}
                        </td>
                        <td>{x.severity}</td>
                        <td class="small">{x.evidence}</td>
                        <td class="small">{x.status === 'pass' ? '' : x.remedy}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </>
          );
        }}
      </ResourceState>
    </div>
  );
}
