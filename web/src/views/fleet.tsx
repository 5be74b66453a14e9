/** Every station at a glance: search, filter, sort; thousands of rows stay smooth. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { useResource, href } from '../hooks';
import { Badge, ResourceState, Time, Field } from '../ui';
import { VirtualTable, compareValues, type Column, type Sort } from '../virtual-table';
import type { Alert, Station } from '../types';
import { usePosture, postureTone } from '../posture';

export function FleetView() {
  const [big, setBig] = useState(false);
  // A large fleet is refetched less often: the list is the whole registry.
  const stations = useResource<Station[]>('/api/v1/stations', big ? 20000 : 5000);
  const alerts = useResource<Alert[]>('/api/v1/alerts?state=open&limit=1000', 10000);
  const posture = usePosture(stations.data?.length ?? 0);
  useEffect(() => setBig((stations.data?.length ?? 0) > 2000), [stations.data]);
  const [query, setQuery] = useState('');
  const [conn, setConn] = useState('all');
  const [profile, setProfile] = useState('all');
  const [version, setVersion] = useState('all');
  const [onlyAlerts, setOnlyAlerts] = useState(false);
  const [sort, setSort] = useState<Sort>({ key: 'id', dir: 'asc' });

  const openByStation = useMemo(() => {
    const m = new Map<string, number>();
    for (const a of alerts.data ?? []) if (a.stationId) m.set(a.stationId, (m.get(a.stationId) ?? 0) + 1);
    return m;
  }, [alerts.data]);

  type Row = Station & { openAlerts: number; posture?: number };
  const rows = useMemo(() => {
    const q = query.trim().toLowerCase();
    const out: Row[] = [];
    for (const s of stations.data ?? []) {
      if (conn !== 'all' && s.connected !== (conn === 'online')) continue;
      if (profile !== 'all' && String(s.securityProfile) !== profile) continue;
      if (version !== 'all' && s.ocppVersion !== version) continue;
      const openAlerts = openByStation.get(s.id) ?? 0;
      if (onlyAlerts && openAlerts === 0) continue;
      if (q && ![s.id, s.vendor, s.model, s.firmwareVersion, s.serialNumber, ...(s.tags ?? [])].some((v) => v?.toLowerCase().includes(q))) continue;
      out.push({ ...s, openAlerts, posture: posture.scores?.get(s.id) });
    }
    const dir = sort.dir === 'asc' ? 1 : -1;
    out.sort((a, b) => dir * compareValues((a as any)[sort.key], (b as any)[sort.key]) || a.id.localeCompare(b.id));
    return out;
  }, [stations.data, openByStation, posture.scores, query, conn, profile, version, onlyAlerts, sort]);

  const all = stations.data ?? [];
  const online = all.filter((s) => s.connected).length;
  const versions = [...new Set(all.map((s) => s.ocppVersion).filter(Boolean))].sort() as string[];

  const columns: Column<Row>[] = [
    { key: 'id', label: 'Station', width: 'minmax(9rem,2fr)', sortable: true, render: (s) => <a href={href('station', s.id)}>{s.id}</a> },
    { key: 'connected', label: 'Link', width: '6.5rem', sortable: true, render: (s) => (s.connected ? <Badge tone="ok">online</Badge> : <Badge>offline</Badge>) },
    { key: 'ocppVersion', label: 'OCPP', width: '4.5rem', sortable: true, render: (s) => s.ocppVersion ?? '—' },
    { key: 'securityProfile', label: 'Profile', width: '4.5rem', sortable: true, render: (s) => <Badge tone={s.securityProfile === 1 ? 'warn' : 'neutral'}>SP{s.securityProfile}</Badge> },
    { key: 'firmwareVersion', label: 'Firmware', width: 'minmax(6rem,1fr)', sortable: true, render: (s) => s.firmwareVersion ?? '—' },
    { key: 'posture', label: 'Posture', width: '5.5rem', sortable: true, render: (s) => (s.posture === undefined ? <span class="muted">—</span> : <Badge tone={postureTone(s.posture)}>{s.posture}</Badge>) },
    { key: 'openAlerts', label: 'Open alerts', width: '6rem', sortable: true, render: (s) => (s.openAlerts ? <Badge tone="bad">{s.openAlerts}</Badge> : <span class="muted">0</span>) },
    { key: 'lastSeenAt', label: 'Last seen', width: 'minmax(6rem,1fr)', sortable: true, render: (s) => <Time at={s.lastSeenAt} /> },
  ];

  return (
    <section aria-labelledby="fleet-title">
      <div class="row between">
        <h1 id="fleet-title">Fleet</h1>
        <p class="muted" aria-live="polite" data-testid="fleet-summary">
          {all.length} stations · {online} online · {alerts.data?.length ?? 0} open alerts
        </p>
      </div>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <Field label="Search">
          <input type="search" value={query} placeholder="id, vendor, model, firmware, tag" onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label="Link">
          <select value={conn} onChange={(e) => setConn((e.target as HTMLSelectElement).value)}>
            <option value="all">all</option>
            <option value="online">online</option>
            <option value="offline">offline</option>
          </select>
        </Field>
        <Field label="Security profile">
          <select value={profile} onChange={(e) => setProfile((e.target as HTMLSelectElement).value)}>
            <option value="all">all</option>
            <option value="1">1 (basic auth)</option>
            <option value="2">2 (TLS + basic auth)</option>
            <option value="3">3 (mutual TLS)</option>
          </select>
        </Field>
        <Field label="OCPP version">
          <select value={version} onChange={(e) => setVersion((e.target as HTMLSelectElement).value)}>
            <option value="all">all</option>
            {versions.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        </Field>
        <label class="check">
          <input type="checkbox" checked={onlyAlerts} onChange={(e) => setOnlyAlerts((e.target as HTMLInputElement).checked)} /> with open alerts
        </label>
      </form>
      {posture.note && <p class="muted small">{posture.note}</p>}
      <ResourceState r={stations} what="Stations">
        {() => (
          <>
            <p class="muted small" aria-live="polite">
              Showing {rows.length} of {all.length}. Arrow keys move, Enter opens a station.
            </p>
            <VirtualTable label="Stations" columns={columns} rows={rows} rowKey={(s) => s.id} sort={sort} onSort={setSort} onOpen={(s) => (location.hash = href('station', s.id))} height="calc(100vh - 20rem)" />
          </>
        )}
      </ResourceState>
    </section>
  );
}
