/** The append-only audit log: who did what, to what, with what outcome. */
import { useMemo, useState } from 'preact/hooks';
import { useResource } from '../hooks';
import { Badge, Field, ResourceState, fmtTime } from '../ui';
import { VirtualTable, type Column } from '../virtual-table';
import type { AuditRow } from '../types';

export function AuditView() {
  const [actor, setActor] = useState('');
  const [since, setSince] = useState('');
  const [limit, setLimit] = useState(200);
  const [text, setText] = useState('');
  const [open, setOpen] = useState<AuditRow | undefined>(undefined);
  const params = new URLSearchParams({ limit: String(limit) });
  if (actor.trim()) params.set('actor', actor.trim());
  if (since) params.set('since', new Date(since).toISOString());
  const log = useResource<AuditRow[]>(`/api/v1/audit?${params}`, 10000);
  const rows = useMemo(() => {
    const q = text.trim().toLowerCase();
    return (log.data ?? []).filter((r) => !q || [r.action, r.target, r.actor, r.outcome].some((v) => v?.toLowerCase().includes(q)));
  }, [log.data, text]);

  const columns: Column<AuditRow>[] = [
    { key: 'at', label: 'When', width: '11rem', render: (r) => fmtTime(r.at) },
    { key: 'actor', label: 'Actor', width: 'minmax(8rem,1fr)', render: (r) => <span title={r.role}>{r.actor}</span> },
    { key: 'action', label: 'Action', width: 'minmax(12rem,2fr)', render: (r) => <span class="mono">{r.action}</span> },
    { key: 'target', label: 'Target', width: 'minmax(7rem,1fr)', render: (r) => r.target ?? '—' },
    { key: 'outcome', label: 'Outcome', width: '6rem', render: (r) => <Badge tone={r.outcome === 'ok' ? 'ok' : r.outcome === 'refused' ? 'warn' : 'bad'}>{r.outcome}</Badge> },
    { key: 'details', label: 'Details', width: 'minmax(10rem,2fr)', render: (r) => <span class="small mono" title={JSON.stringify(r.details)}>{JSON.stringify(r.details)}</span> },
    { key: 'sourceAddress', label: 'From', width: '8rem', render: (r) => r.sourceAddress ?? '—' },
  ];

  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <Field label="Actor (exact)">
          <input value={actor} onChange={(e) => setActor((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label="Since">
          <input type="datetime-local" value={since} onChange={(e) => setSince((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label="Filter shown rows">
          <input type="search" value={text} placeholder="action, target, outcome" onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </Field>
      </form>
      <ResourceState r={log} what="Audit log">
        {(all) => (
          <>
            <p class="muted small" aria-live="polite">
              Newest first · {rows.length} of {all.length} loaded · Enter or double-click shows an entry in full
            </p>
            <VirtualTable label="Audit log" columns={columns} rows={rows} rowKey={(r) => r.id} onOpen={(r: AuditRow) => setOpen(r)} height={open ? 'calc(100vh - 32rem)' : 'calc(100vh - 20rem)'} />
            {open && (
              <div class="card" aria-live="polite">
                <div class="row between">
                  <h2>
                    {open.action} · {open.outcome}
                  </h2>
                  <button type="button" onClick={() => setOpen(undefined)}>
                    Close
                  </button>
                </div>
                <p class="small">
                  {fmtTime(open.at)} · {open.actor} ({open.role}) · target {open.target ?? '—'} · from {open.sourceAddress ?? '—'}
                </p>
                <pre class="evidence">{JSON.stringify(open.details, null, 2)}</pre>
              </div>
            )}
            {all.length >= limit && limit < 1000 && (
              <button type="button" onClick={() => setLimit(Math.min(1000, limit * 2))}>
                Load more
              </button>
            )}
          </>
        )}
      </ResourceState>
    </section>
  );
}
