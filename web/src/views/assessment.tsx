/** A station's configuration assessment against the security baselines (src/assess). */
import { useResource } from '../hooks';
import { Badge, ResourceState, Time } from '../ui';
import { postureTone } from '../posture';

interface Finding {
  id?: string;
  ruleId?: string;
  title?: string;
  severity?: string;
  status?: string;
  passed?: boolean;
  detail?: string;
}
interface Assessment {
  stationId: string;
  score?: number;
  at?: string;
  assessedAt?: string;
  findings?: Finding[];
}

export function AssessmentPanel({ stationId }: { stationId: string }) {
  const r = useResource<Assessment>(`/api/v1/stations/${encodeURIComponent(stationId)}/assessment`, 30000);
  return (
    <div class="card">
      <h2>Configuration assessment</h2>
      <ResourceState r={r} what="Configuration assessment">
        {(a) => (
          <>
            <p>
              {a.score !== undefined && <Badge tone={postureTone(a.score)}>score {Math.round(a.score)}</Badge>} <Time at={a.assessedAt ?? a.at} />
            </p>
            {(a.findings ?? []).length === 0 ? (
              <p class="muted">No findings.</p>
            ) : (
              <ul class="findings">
                {a.findings!.map((f, i) => {
                  const ok = f.passed ?? f.status === 'pass';
                  return (
                    <li key={f.id ?? f.ruleId ?? i}>
                      <Badge tone={ok ? 'ok' : f.severity === 'high' || f.severity === 'critical' ? 'bad' : 'warn'}>{ok ? 'pass' : (f.status ?? 'fail')}</Badge> {f.title ?? f.ruleId}
                      {f.detail && <div class="muted small">{f.detail}</div>}
                    </li>
                  );
                })}
              </ul>
            )}
          </>
        )}
      </ResourceState>
    </div>
  );
}
