/** Alerts, live over server-sent events: acknowledge, resolve, comment, undo automatic actions. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { followStream, post } from '../api';
import { useResource, href } from '../hooks';
import { Badge, ConfirmAction, ErrorNote, Field, Outcome, ResourceState, Time, fmtTime, severityTone, useCan } from '../ui';
import type { Alert } from '../types';

const STATES = ['open', 'acknowledged', 'resolved', 'all'] as const;

export function AlertsView({ selected }: { selected?: string }) {
  const [state, setState] = useState<(typeof STATES)[number]>('open');
  const list = useResource<Alert[]>(`/api/v1/alerts?limit=500${state === 'all' ? '' : `&state=${state}`}`);
  const [stream, setStream] = useState<'connecting' | 'live' | 'reconnecting' | 'unavailable'>('connecting');
  const [announce, setAnnounce] = useState<string | undefined>(undefined);

  useEffect(() => {
    const ctrl = new AbortController();
    followStream(
      '/api/v1/alerts/stream',
      {
        onOpen: () => list.reload(),
        onState: setStream,
        onEvent(e) {
          let alert: Alert;
          try {
            alert = JSON.parse(e.data);
          } catch {
            return;
          }
          if (!alert?.id) return;
          list.set((old) => {
            const rest = (old ?? []).filter((a) => a.id !== alert.id);
            return state === 'all' || alert.state === state ? [alert, ...rest] : rest;
          });
          if (e.event.endsWith('raised')) setAnnounce(`New ${alert.severity} alert: ${alert.title}${alert.stationId ? ` on ${alert.stationId}` : ''}`);
        },
      },
      ctrl.signal,
    );
    return () => ctrl.abort();
  }, [state]);

  const rows = useMemo(() => [...(list.data ?? [])].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)), [list.data]);
  const current = selected ? rows.find((a) => a.id === selected) : undefined;

  return (
    <section aria-labelledby="alerts-title">
      <div class="row between">
        <h1 id="alerts-title">Alerts</h1>
        <p data-testid="stream-state">
          {stream === 'live' ? <Badge tone="ok">live</Badge> : stream === 'unavailable' ? <Badge tone="warn">no live stream on this node</Badge> : <Badge tone="warn">{stream}…</Badge>}
        </p>
      </div>
      <p class="sr-only" role="status" aria-live="assertive">
        {announce ?? ''}
      </p>
      {announce && (
        <p class="note" aria-hidden="true">
          {announce}
        </p>
      )}
      <div class="tabs" role="radiogroup" aria-label="Alert state">
        {STATES.map((s) => (
          <label key={s} class={state === s ? 'on' : ''}>
            <input type="radio" name="alert-state" value={s} checked={state === s} onChange={() => setState(s)} /> {s}
          </label>
        ))}
      </div>
      <div class="cols">
        <ResourceState r={list} what="Alerts">
          {() =>
            rows.length === 0 ? (
              <p class="muted">No {state === 'all' ? '' : state} alerts.</p>
            ) : (
              <ul class="alert-list" aria-label={`${state} alerts`}>
                {rows.map((a) => (
                  <li key={a.id} class={a.id === selected ? 'active' : ''} data-alert-id={a.id}>
                    <a href={href('alerts', a.id)} aria-current={a.id === selected ? 'true' : undefined}>
                      <Badge tone={severityTone(a.severity)}>{a.severity}</Badge> <strong>{a.title}</strong>
                    </a>
                    <div class="muted small">
                      {a.stationId ?? 'no station'} · {a.state} · ×{a.count} · <Time at={a.updatedAt} />
                    </div>
                  </li>
                ))}
              </ul>
            )
          }
        </ResourceState>
        {selected ? (
          <AlertDetail id={selected} fromList={current} onChange={(a) => list.set((old) => (old ?? []).map((x) => (x.id === a.id ? a : x)))} />
        ) : (
          <div class="card muted" data-testid="alert-hint">
            <p>Choose an alert to see its evidence, the automatic actions taken (and undo them), and to acknowledge, resolve or comment on it.</p>
            <p>New alerts appear at the top as the detectors raise them.</p>
          </div>
        )}
      </div>
    </section>
  );
}

function AlertDetail({ id, fromList, onChange }: { id: string; fromList?: Alert; onChange(a: Alert): void }) {
  const r = useResource<Alert>(`/api/v1/alerts/${encodeURIComponent(id)}`);
  const canAct = useCan('operator');
  const [outcome, setOutcome] = useState<string | undefined>(undefined);
  const [comment, setComment] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  // The list is updated live; prefer the newer of the two copies.
  const alert = fromList && r.data && fromList.updatedAt > r.data.updatedAt ? fromList : (r.data ?? fromList);
  const changed = (what: string) => (a: unknown) => {
    r.set(() => a as Alert);
    onChange(a as Alert);
    setOutcome(what);
  };
  const addComment = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      changed('Comment added')(await post<Alert>(`/api/v1/alerts/${encodeURIComponent(id)}/comments`, { text: comment }));
      setComment('');
    } catch (err) {
      setError(err);
    }
  };
  return (
    <article class="card" aria-labelledby="alert-title">
      <ResourceState r={{ ...r, data: alert }} what="Alert">
        {(a) => (
          <>
            <h2 id="alert-title">
              <Badge tone={severityTone(a.severity)}>{a.severity}</Badge> {a.title}
            </h2>
            {a.description && <p>{a.description}</p>}
            <dl class="facts">
              <dt>State</dt>
              <dd data-testid="alert-state">{a.state}</dd>
              <dt>Station</dt>
              <dd>{a.stationId ? <a href={href('station', a.stationId)}>{a.stationId}</a> : '—'}</dd>
              <dt>Detector</dt>
              <dd>{a.detector}</dd>
              <dt>First seen</dt>
              <dd>{fmtTime(a.createdAt)}</dd>
              <dt>Occurrences</dt>
              <dd>{a.count}</dd>
              {a.acknowledgedBy && (
                <>
                  <dt>Acknowledged</dt>
                  <dd>
                    {a.acknowledgedBy}, {fmtTime(a.acknowledgedAt)}
                  </dd>
                </>
              )}
              {a.resolvedBy && (
                <>
                  <dt>Resolved</dt>
                  <dd>
                    {a.resolvedBy}, {fmtTime(a.resolvedAt)}
                  </dd>
                </>
              )}
            </dl>
            <h3>Evidence</h3>
            <pre class="evidence">{JSON.stringify(a.evidence, null, 2)}</pre>
            {a.actions.length > 0 && (
              <>
                <h3>Automatic actions</h3>
                <ul>
                  {a.actions.map((x) => (
                    <li key={x.id}>
                      {x.kind} · {x.outcome} · {fmtTime(x.at)}
                      {x.until && ` · until ${fmtTime(x.until)}`}
                      {x.undone ? (
                        <span class="muted"> · undone by {x.undoneBy}</span>
                      ) : (
                        <>
                          {' '}
                          <ConfirmAction
                            label={`Undo ${x.kind}`}
                            title={`Undo the automatic ${x.kind}?`}
                            describe={<p>The node reverses what the detector did (for a lock-out: the station or address may try again at once).</p>}
                            run={() => post(`/api/v1/alert-actions/${encodeURIComponent(x.id)}/undo`)}
                            onDone={() => {
                              setOutcome(`Undid ${x.kind}`);
                              r.reload();
                            }}
                          />
                        </>
                      )}
                    </li>
                  ))}
                </ul>
              </>
            )}
            <h3>Comments</h3>
            {a.comments.length === 0 ? (
              <p class="muted">No comments.</p>
            ) : (
              <ul class="comments">
                {a.comments.map((c, i) => (
                  <li key={i}>
                    <strong>{c.by}</strong> <Time at={c.at} />: {c.text}
                  </li>
                ))}
              </ul>
            )}
            {canAct ? (
              <>
                <div class="row wrap">
                  {a.state === 'open' && (
                    <ConfirmAction
                      label="Acknowledge"
                      title="Acknowledge this alert?"
                      describe={<p>You take ownership; the alert stays visible until it is resolved.</p>}
                      fields={(v, set) => (
                        <Field label="Comment (optional)">
                          <input value={v.comment ?? ''} maxLength={2000} onInput={(e) => set('comment', (e.target as HTMLInputElement).value)} />
                        </Field>
                      )}
                      run={(v) => post(`/api/v1/alerts/${encodeURIComponent(a.id)}/acknowledge`, v.comment ? { comment: v.comment } : {})}
                      onDone={changed('Acknowledged')}
                    />
                  )}
                  {a.state !== 'resolved' && (
                    <ConfirmAction
                      label="Resolve"
                      title="Resolve this alert?"
                      describe={<p>Resolved alerts leave the open list; a new occurrence raises a new alert.</p>}
                      fields={(v, set) => (
                        <Field label="Comment (optional)">
                          <input value={v.comment ?? ''} maxLength={2000} onInput={(e) => set('comment', (e.target as HTMLInputElement).value)} />
                        </Field>
                      )}
                      run={(v) => post(`/api/v1/alerts/${encodeURIComponent(a.id)}/resolve`, v.comment ? { comment: v.comment } : {})}
                      onDone={changed('Resolved')}
                    />
                  )}
                </div>
                <form class="row" onSubmit={addComment}>
                  <Field label="Add a comment">
                    <input value={comment} required maxLength={2000} onInput={(e) => setComment((e.target as HTMLInputElement).value)} />
                  </Field>
                  <button type="submit">Comment</button>
                </form>
                {error !== undefined && <ErrorNote error={error} />}
              </>
            ) : (
              <p class="muted small">Your role can view alerts but not change them.</p>
            )}
            <Outcome text={outcome} />
          </>
        )}
      </ResourceState>
    </article>
  );
}
