/** Certificates across the fleet: inventory, an expiry timeline, revocation. */
import { useMemo, useState } from 'preact/hooks';
import { post } from '../api';
import { useResource, href } from '../hooks';
import { Chart } from '../chart';
import { Badge, ConfirmAction, Field, Outcome, ResourceState, fmtTime } from '../ui';
import { VirtualTable, compareValues, type Column, type Sort } from '../virtual-table';
import { REVOCATION_REASONS, type Certificate } from '../types';

const DAY = 86_400_000;

export function certStatus(c: Certificate): { label: string; tone: 'ok' | 'warn' | 'bad' | 'neutral' } {
  if (c.revokedAt) return { label: `revoked${c.revocationReason ? ` (${c.revocationReason})` : ''}`, tone: 'bad' };
  const left = Date.parse(c.notAfter) - Date.now();
  if (left <= 0) return { label: 'expired', tone: 'bad' };
  if (left < 30 * DAY) return { label: `expires in ${Math.ceil(left / DAY)} d`, tone: 'warn' };
  return { label: 'valid', tone: 'ok' };
}

export function RevokeButton({ cert, onDone }: { cert: Certificate; onDone?(): void }) {
  return (
    <ConfirmAction
      label="Revoke"
      danger
      title={`Revoke certificate ${cert.commonName}?`}
      describe={
        <p>
          Serial <span class="mono">{cert.serialHex}</span>. Revocation is permanent: the CRL and OCSP answer "revoked" from now on, and a station on security profile 3 using it is
          disconnected.
        </p>
      }
      initial={{ reason: 'keyCompromise' }}
      fields={(v, set) => (
        <Field label="Reason (RFC 5280)">
          <select value={v.reason} onChange={(e) => set('reason', (e.target as HTMLSelectElement).value)}>
            {REVOCATION_REASONS.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </Field>
      )}
      run={(v) => post(`/api/v1/certificates/${encodeURIComponent(cert.serialHex)}/revoke`, { reason: v.reason })}
      onDone={onDone}
    />
  );
}

export function CertificatesView() {
  const certs = useResource<Certificate[]>('/api/v1/certificates', 15000);
  const [kind, setKind] = useState('all');
  const [status, setStatus] = useState('all');
  const [query, setQuery] = useState('');
  const [sort, setSort] = useState<Sort>({ key: 'notAfter', dir: 'asc' });
  const [outcome, setOutcome] = useState<string | undefined>(undefined);

  const all = certs.data ?? [];
  const kinds = [...new Set(all.map((c) => c.kind))].sort();
  const rows = useMemo(() => {
    const q = query.trim().toLowerCase();
    const out = all.filter((c) => {
      if (kind !== 'all' && c.kind !== kind) return false;
      const st = certStatus(c).label;
      if (status === 'valid' && st !== 'valid') return false;
      if (status === 'expiring' && !st.startsWith('expires')) return false;
      if (status === 'expired' && st !== 'expired') return false;
      if (status === 'revoked' && !c.revokedAt) return false;
      return !q || [c.commonName, c.stationId, c.serialHex, c.issuerCa, c.subject].some((v) => v?.toLowerCase().includes(q));
    });
    const dir = sort.dir === 'asc' ? 1 : -1;
    return out.sort((a, b) => dir * compareValues((a as any)[sort.key], (b as any)[sort.key]));
  }, [all, kind, status, query, sort]);

  // Expiry timeline: unrevoked certificates by month of expiry, 24 months ahead, overdue ones in the first bar.
  const timeline = useMemo(() => {
    const now = new Date();
    const months = Array.from({ length: 25 }, (_, i) => Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i, 1) / 1000);
    const counts = months.map(() => 0);
    let later = 0;
    for (const c of all) {
      if (c.revokedAt) continue;
      const t = Date.parse(c.notAfter) / 1000;
      const i = months.findIndex((_, j) => j > 0 && t < months[j]!) - 1;
      if (i < 0) later++;
      else counts[i]!++;
    }
    return { x: months.slice(0, -1), y: counts.slice(0, -1), later };
  }, [all]);

  const columns: Column<Certificate>[] = [
    { key: 'commonName', label: 'Subject', width: 'minmax(10rem,1.6fr)', sortable: true, render: (c) => <span title={c.subject}>{c.commonName}</span> },
    { key: 'kind', label: 'Kind', width: '7rem', sortable: true, render: (c) => c.kind },
    { key: 'stationId', label: 'Station', width: 'minmax(7rem,1fr)', sortable: true, render: (c) => (c.stationId ? <a href={href('station', c.stationId)}>{c.stationId}</a> : '—') },
    { key: 'issuerCa', label: 'Issuer', width: 'minmax(6rem,1fr)', sortable: true, render: (c) => c.issuerCa },
    { key: 'notAfter', label: 'Expires', width: '11rem', sortable: true, render: (c) => fmtTime(c.notAfter) },
    {
      key: 'status',
      label: 'Status',
      width: 'minmax(10rem, 1.3fr)',
      render: (c) => {
        const st = certStatus(c);
        return <Badge tone={st.tone}>{st.label}</Badge>;
      },
    },
    {
      key: 'actions',
      label: 'Actions',
      width: '6rem',
      render: (c) =>
        c.revokedAt || c.kind === 'ca' ? null : (
          <RevokeButton
            cert={c}
            onDone={() => {
              setOutcome(`Revoked ${c.commonName} (${c.serialHex})`);
              certs.reload();
            }}
          />
        ),
    },
  ];

  const expiring = all.filter((c) => certStatus(c).label.startsWith('expires')).length;
  return (
    <section aria-labelledby="certs-title">
      <h1 id="certs-title">Certificates</h1>
      <ResourceState r={certs} what="Certificates">
        {() => (
          <>
            <p class="muted" aria-live="polite">
              {all.length} certificates · {all.filter((c) => c.revokedAt).length} revoked · {expiring} expiring within 30 days
            </p>
            <Chart
              title="Expiry timeline (unrevoked certificates per month)"
              summary={timeline.y.map((n, i) => (n ? `${new Date(timeline.x[i]! * 1000).toISOString().slice(0, 7)}: ${n}` : '')).filter(Boolean).join(', ') + (timeline.later ? `; ${timeline.later} later` : '') || 'None expire in the next 24 months.'}
              x={timeline.x}
              ys={[timeline.y]}
              series={[{ label: 'Expiring', color: '#c05621', bars: true }]}
              axes={{ left: 'certificates' }}
              height={180}
            />
            {timeline.later > 0 && <p class="muted small">{timeline.later} more expire after 24 months.</p>}
            <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
              <Field label="Search">
                <input type="search" value={query} placeholder="subject, station, serial" onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
              </Field>
              <Field label="Kind">
                <select value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
                  <option value="all">all</option>
                  {kinds.map((k) => (
                    <option key={k} value={k}>
                      {k}
                    </option>
                  ))}
                </select>
              </Field>
              <Field label="Status">
                <select value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
                  {['all', 'valid', 'expiring', 'expired', 'revoked'].map((s) => (
                    <option key={s} value={s}>
                      {s}
                    </option>
                  ))}
                </select>
              </Field>
            </form>
            <Outcome text={outcome} />
            <VirtualTable label="Certificates" columns={columns} rows={rows} rowKey={(c) => c.serialHex} sort={sort} onSort={setSort} height="calc(100vh - 28rem)" />
          </>
        )}
      </ResourceState>
    </section>
  );
}
