/**
 * Threat intelligence: what this node shared and what it received, read from
 * its own TAXII 2.1 server with the signed-in token.
 */
import { useState } from 'preact/hooks';
import { useResource } from '../hooks';
import { Badge, ResourceState, Time } from '../ui';
import { VirtualTable, type Column } from '../virtual-table';

const TAXII = 'application/taxii+json;version=2.1';

interface Collection {
  id: string;
  title: string;
  description?: string;
  alias?: string;
  can_read: boolean;
  can_write: boolean;
}
interface StixObject {
  id: string;
  type: string;
  name?: string;
  pattern?: string;
  description?: string;
  labels?: string[];
  created?: string;
  modified?: string;
  first_seen?: string;
  last_seen?: string;
  count?: number;
}

export function IntelView() {
  const discovery = useResource<{ api_roots?: string[]; default?: string }>('/taxii2/', undefined, TAXII);
  const root = discovery.data ? new URL(discovery.data.default ?? discovery.data.api_roots?.[0] ?? '/taxii2/', location.href).pathname : null;
  const collections = useResource<{ collections?: Collection[] }>(root ? `${root}collections/` : null, 30000, TAXII);
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const list = collections.data?.collections ?? [];
  const current = list.find((c) => c.id === selected) ?? list[0];

  return (
    <section aria-labelledby="intel-title">
      <h1 id="intel-title">Threat intelligence</h1>
      <p class="muted small">STIX 2.1 objects in this node's TAXII 2.1 collections: what it shares with its sector partners and what it has received from them.</p>
      <ResourceState r={discovery} what="TAXII server">
        {() => (
          <ResourceState r={collections} what="Collections">
            {() =>
              list.length === 0 ? (
                <p class="muted">Your role sees no collections.</p>
              ) : (
                <>
                  <div class="tabs" role="radiogroup" aria-label="Collection">
                    {list.map((c) => (
                      <label key={c.id} class={current?.id === c.id ? 'on' : ''}>
                        <input type="radio" name="collection" checked={current?.id === c.id} onChange={() => setSelected(c.id)} /> {c.title}
                      </label>
                    ))}
                  </div>
                  {current && <Objects root={root!} c={current} />}
                </>
              )
            }
          </ResourceState>
        )}
      </ResourceState>
    </section>
  );
}

function Objects({ root, c }: { root: string; c: Collection }) {
  const objects = useResource<{ objects?: StixObject[]; more?: boolean }>(c.can_read ? `${root}collections/${encodeURIComponent(c.id)}/objects/?limit=500` : null, 15000, TAXII);
  const [type, setType] = useState('all');
  const all = objects.data?.objects ?? [];
  const types = [...new Set(all.map((o) => o.type))].sort();
  const rows = all.filter((o) => type === 'all' || o.type === type).sort((a, b) => (b.modified ?? '').localeCompare(a.modified ?? ''));
  const columns: Column<StixObject>[] = [
    { key: 'type', label: 'Type', width: '9rem', render: (o) => <Badge tone={o.type === 'indicator' ? 'warn' : 'neutral'}>{o.type}</Badge> },
    { key: 'name', label: 'Name / pattern', width: 'minmax(14rem,3fr)', render: (o) => <span class={o.pattern ? 'mono small' : ''} title={o.description}>{o.pattern ?? o.name ?? o.id}</span> },
    { key: 'labels', label: 'Labels', width: 'minmax(8rem,1fr)', render: (o) => <span class="small">{(o.labels ?? []).join(', ')}</span> },
    { key: 'modified', label: 'Modified', width: '8rem', render: (o) => <Time at={o.modified ?? o.created} /> },
  ];
  return (
    <div class="card">
      <h2>{c.title}</h2>
      {c.description && <p class="muted small">{c.description}</p>}
      <p class="small">
        {c.can_read ? 'readable' : 'not readable'} · {c.can_write ? 'writable' : 'read-only'} for your role
      </p>
      {!c.can_read ? (
        <p class="muted">Your role may write to this collection but not read it.</p>
      ) : (
        <ResourceState r={objects} what="Objects">
          {() => (
            <>
              <label class="field inline">
                <span>Type</span>
                <select value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value)}>
                  <option value="all">all ({all.length})</option>
                  {types.map((t) => (
                    <option key={t} value={t}>
                      {t} ({all.filter((o) => o.type === t).length})
                    </option>
                  ))}
                </select>
              </label>
              {objects.data?.more && <p class="muted small">Showing the first {all.length} objects.</p>}
              <VirtualTable label={`Objects in ${c.title}`} columns={columns} rows={rows} rowKey={(o) => `${o.id}@${o.modified ?? ''}`} height="50vh" />
            </>
          )}
        </ResourceState>
      )}
    </div>
  );
}
