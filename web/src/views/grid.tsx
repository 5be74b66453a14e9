/** Aggregate charging load per site, feeder and fleet against their limits, live. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { followStream } from '../api';
import { useResource } from '../hooks';
import { Chart } from '../chart';
import { Badge, ResourceState, fmtTime } from '../ui';
import type { GridLevel, GridSnapshot } from '../types';

const MAX_POINTS = 600;

function LoadRow({ level, kind }: { level: GridLevel; kind: string }) {
  const limit = level.limitKw;
  const share = limit ? Math.min(1, (level.loadKw + level.reservedKw) / limit) : 0;
  const tone = !limit ? 'neutral' : share >= 1 ? 'bad' : share >= 0.85 ? 'warn' : 'ok';
  const text = `${level.loadKw.toFixed(1)} kW load, ${level.reservedKw.toFixed(1)} kW reserved${limit !== undefined ? ` of ${limit.toFixed(1)} kW limit` : ', no limit'}`;
  return (
    <tr>
      <th scope="row">
        {level.name ?? level.id}
        {level.feederId && <span class="muted small"> · feeder {level.feederId}</span>}
        <span class="sr-only"> ({kind})</span>
      </th>
      <td>{level.stations}</td>
      <td>
        <div class="meter" role="meter" aria-valuemin={0} aria-valuemax={limit ?? level.loadKw} aria-valuenow={level.loadKw} aria-valuetext={text} aria-label={`${kind} ${level.name ?? level.id} load`}>
          <span class={`fill fill-${tone}`} style={{ width: `${limit ? Math.round(Math.min(1, level.loadKw / limit) * 100) : 0}%` }} />
          <span class="fill fill-reserved" style={{ width: `${limit ? Math.round(Math.min(1, level.reservedKw / limit) * 100) : 0}%` }} />
        </div>
      </td>
      <td class="num">{level.loadKw.toFixed(1)}</td>
      <td class="num">{level.reservedKw.toFixed(1)}</td>
      <td class="num">
        {limit === undefined ? '—' : limit.toFixed(1)}
        {level.dsoLimitKw !== undefined && <Badge tone="warn">DSO {level.dsoLimitKw.toFixed(1)}</Badge>}
      </td>
      <td class="num">{level.rampKwPerS ?? '—'}</td>
    </tr>
  );
}

export function GridView() {
  const grid = useResource<GridSnapshot>('/api/v1/grid');
  const series = useResource<{ points: { t: string; kw: number }[] }>('/api/v1/grid/load/series?level=fleet');
  const [live, setLive] = useState<GridSnapshot | undefined>(undefined);
  const [points, setPoints] = useState<{ t: number; kw: number; limit: number | null }[]>([]);
  const [stream, setStream] = useState('connecting');

  useEffect(() => {
    if (series.data) setPoints(series.data.points.map((p) => ({ t: Date.parse(p.t) / 1000, kw: p.kw, limit: grid.data?.fleet.limitKw ?? null })).slice(-MAX_POINTS));
  }, [series.data]);

  useEffect(() => {
    if (grid.unavailable) return;
    const ctrl = new AbortController();
    followStream(
      '/api/v1/grid/load/stream',
      {
        onState: setStream,
        onEvent(e) {
          try {
            const s = JSON.parse(e.data) as GridSnapshot;
            setLive(s);
            setPoints((old) => [...old, { t: Date.parse(s.at) / 1000, kw: s.fleet.loadKw, limit: s.fleet.limitKw ?? null }].slice(-MAX_POINTS));
          } catch {
            /* a malformed event is skipped */
          }
        },
      },
      ctrl.signal,
    );
    return () => ctrl.abort();
  }, [grid.unavailable]);

  const snap = live ?? grid.data;
  const chart = useMemo(() => ({ x: points.map((p) => p.t), kw: points.map((p) => p.kw), limit: points.map((p) => p.limit) }), [points]);

  return (
    <section aria-labelledby="grid-title">
      <div class="row between">
        <h1 id="grid-title">Grid</h1>
        {!grid.unavailable && <p data-testid="grid-stream">{stream === 'live' ? <Badge tone="ok">live</Badge> : <Badge tone="warn">{stream}</Badge>}</p>}
      </div>
      <ResourceState r={{ ...grid, data: snap }} what="Grid load">
        {(s) => (
          <>
            <p class="muted small">As of {fmtTime(s.at)}. Bars: load (colour) and reserved power (hatched) against each level's effective limit.</p>
            <Chart
              title="Fleet load"
              summary={`${chart.x.length} samples; now ${s.fleet.loadKw.toFixed(1)} kW${s.fleet.limitKw !== undefined ? ` of ${s.fleet.limitKw} kW` : ''}.`}
              x={chart.x}
              ys={[chart.kw, chart.limit]}
              series={[
                { label: 'Load (kW)', color: '#2b6cb0' },
                { label: 'Limit (kW)', color: '#c53030', dash: [6, 4] },
              ]}
              axes={{ left: 'kW' }}
              height={200}
            />
            <table class="compact load">
              <thead>
                <tr>
                  <th scope="col">Level</th>
                  <th scope="col">Stations</th>
                  <th scope="col">Load vs limit</th>
                  <th scope="col" class="num">
                    Load kW
                  </th>
                  <th scope="col" class="num">
                    Reserved kW
                  </th>
                  <th scope="col" class="num">
                    Limit kW
                  </th>
                  <th scope="col" class="num">
                    Ramp kW/s
                  </th>
                </tr>
              </thead>
              <tbody>
                <LoadRow level={{ ...s.fleet, name: 'Fleet' }} kind="fleet" />
              </tbody>
              <tbody aria-label="Feeders">
                {s.feeders.map((f) => (
                  <LoadRow key={f.id} level={f} kind="feeder" />
                ))}
              </tbody>
              <tbody aria-label="Sites">
                {s.sites.map((f) => (
                  <LoadRow key={f.id} level={f} kind="site" />
                ))}
              </tbody>
            </table>
            {s.feeders.length + s.sites.length === 0 && <p class="muted">No sites or feeders are configured; only the fleet total is shown.</p>}
            {(grid.data?.dsoLimits ?? []).length > 0 && (
              <>
                <h2>DSO limits in force</h2>
                <ul>
                  {grid.data!.dsoLimits!.map((d) => (
                    <li key={d.siteId}>
                      Site {d.siteId}: {d.limitKw} kW until {fmtTime(d.until)} {d.source && `(${d.source})`}
                    </li>
                  ))}
                </ul>
              </>
            )}
          </>
        )}
      </ResourceState>
    </section>
  );
}
