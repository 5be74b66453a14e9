/** Firmware images and update campaigns with live progress per wave. */
import { useMemo, useState } from 'preact/hooks';
import { api, post } from '../api';
import { useResource, href } from '../hooks';
import { Badge, ConfirmAction, ErrorNote, Field, Outcome, ResourceState, Time, fmtTime, useCan } from '../ui';
import type { Campaign, CampaignStation, FirmwareImage } from '../types';

// Station update states in rollout order; the bar shows each as a segment.
const STATES: [state: string, tone: string][] = [
  ['succeeded', 'ok'],
  ['installed', 'ok2'],
  ['installing', 'info'],
  ['downloading', 'info2'],
  ['sent', 'info3'],
  ['pending', 'neutral'],
  ['skipped', 'neutral2'],
  ['refused', 'warn'],
  ['failed', 'bad'],
];

const campaignTone = (s: Campaign['state']) => (s === 'completed' ? 'ok' : s === 'running' ? 'info' : s === 'paused' ? 'warn' : 'bad');

export function FirmwareView() {
  const images = useResource<FirmwareImage[]>('/api/v1/firmware', 15000);
  const campaigns = useResource<Campaign[]>('/api/v1/campaigns', 2000);
  if (images.unavailable && campaigns.unavailable)
    return (
      <section aria-labelledby="fw-title">
        <h1 id="fw-title">Firmware</h1>
        <ResourceState r={images} what="Firmware">
          {() => null}
        </ResourceState>
      </section>
    );
  return (
    <section aria-labelledby="fw-title">
      <h1 id="fw-title">Firmware</h1>
      <div class="card">
        <h2>Campaigns</h2>
        <ResourceState r={campaigns} what="Campaigns">
          {(list) => (list.length === 0 ? <p class="muted">No campaigns yet.</p> : [...list].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map((c) => <CampaignCard key={c.id} c={c} images={images.data ?? []} onChange={campaigns.reload} />))}
        </ResourceState>
        <NewCampaign images={images.data ?? []} onCreated={campaigns.reload} />
      </div>
      <div class="card">
        <h2>Images</h2>
        <ResourceState r={images} what="Firmware images">
          {(list) =>
            list.length === 0 ? (
              <p class="muted">No firmware images uploaded.</p>
            ) : (
              <table class="compact">
                <thead>
                  <tr>
                    <th scope="col">Vendor</th>
                    <th scope="col">Models</th>
                    <th scope="col">Version</th>
                    <th scope="col">Size</th>
                    <th scope="col">SHA-256</th>
                    <th scope="col">Signature</th>
                    <th scope="col">Uploaded</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((i) => (
                    <tr key={i.id}>
                      <td>{i.vendor}</td>
                      <td>{i.models.join(', ')}</td>
                      <td>{i.version}</td>
                      <td>{(i.length / 1024).toFixed(1)} KiB</td>
                      <td class="mono" title={i.sha256}>
                        {i.sha256.slice(0, 16)}…
                      </td>
                      <td>{i.signed ? <Badge tone="ok">signed ({i.signer})</Badge> : <Badge tone="bad">unsigned</Badge>}</td>
                      <td>
                        <Time at={i.createdAt} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )
          }
        </ResourceState>
        <Upload onDone={images.reload} />
      </div>
    </section>
  );
}

function WaveBar({ stations, counts: given, label }: { stations?: CampaignStation[]; counts?: Record<string, number>; label: string }) {
  const counts = new Map<string, number>(Object.entries(given ?? {}));
  for (const s of stations ?? []) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
  const text = STATES.filter(([s]) => counts.get(s))
    .map(([s]) => `${counts.get(s)} ${s}`)
    .join(', ');
  return (
    <div class="wave">
      <span class="wave-label">{label}</span>
      <div class="bar" role="img" aria-label={`${label}: ${text}`}>
        {STATES.map(([s, tone]) => {
          const n = counts.get(s) ?? 0;
          return n ? <span key={s} class={`seg seg-${tone}`} style={{ flexGrow: n }} title={`${n} ${s}`} /> : null;
        })}
      </div>
      <span class="small">{text}</span>
    </div>
  );
}

function CampaignCard({ c, images, onChange }: { c: Campaign; images: FirmwareImage[]; onChange(): void }) {
  const [open, setOpen] = useState(c.state === 'running' || c.state === 'paused' || c.state === 'halted');
  const [outcome, setOutcome] = useState<string | undefined>(undefined);
  const img = images.find((i) => i.id === c.firmwareId);
  const active = c.state === 'running' || c.state === 'paused' || c.state === 'halted';
  // Per-station detail only while the waves are shown; live while the campaign is active.
  const detail = useResource<Campaign>(open ? `/api/v1/campaigns/${encodeURIComponent(c.id)}` : null, active ? 2000 : undefined);
  const waves = useMemo(() => {
    const m = new Map<number, CampaignStation[]>();
    for (const s of detail.data?.stations ?? []) m.set(s.wave, [...(m.get(s.wave) ?? []), s]);
    return [...m.entries()].sort((a, b) => a[0] - b[0]);
  }, [detail.data]);
  // The newer of the two copies: the list (counts) and the detail (stations) are polled apart.
  const fresh = detail.data && detail.data.updatedAt >= c.updatedAt ? detail.data : undefined;
  const counts: Record<string, number> = fresh?.stations
    ? Object.fromEntries([...new Set(fresh.stations.map((s) => s.state))].map((st) => [st, fresh.stations!.filter((s) => s.state === st).length]))
    : Object.fromEntries(Object.entries(c.counts).map(([state, n]) => [state, n ?? 0]));
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const done = ['succeeded', 'failed', 'refused', 'skipped'].reduce((a, k) => a + (counts[k] ?? 0), 0);
  const act = (action: 'pause' | 'resume' | 'abort', describe: string, danger = false) => (
    <ConfirmAction
      label={action[0]!.toUpperCase() + action.slice(1)}
      danger={danger}
      title={`${action[0]!.toUpperCase() + action.slice(1)} campaign ${c.id.slice(0, 8)}?`}
      describe={<p>{describe}</p>}
      run={() => post(`/api/v1/campaigns/${encodeURIComponent(c.id)}/${action}`)}
      onDone={() => {
        setOutcome(`Campaign ${action}d`);
        onChange();
      }}
    />
  );
  return (
    <article class="campaign" data-campaign-id={c.id} aria-labelledby={`c-${c.id}`}>
      <div class="row between wrap">
        <h3 id={`c-${c.id}`}>
          {img ? `${img.vendor} ${img.version}` : c.firmwareId} <Badge tone={campaignTone((fresh ?? c).state) as any}>{(fresh ?? c).state}</Badge>
        </h3>
        <span class="small muted">
          {done}/{total} stations done · wave {c.currentWave} · by {c.createdBy} · {fmtTime(c.createdAt)}
        </span>
      </div>
      {c.haltReason && <p class="note note-bad">Halted: {c.haltReason}</p>}
      <WaveBar counts={counts} label="All" />
      <div class="row wrap">
        {c.state === 'running' && act('pause', 'No new stations are sent the update; those already updating carry on.')}
        {(c.state === 'paused' || c.state === 'halted') && act('resume', 'The rollout continues with the current wave.')}
        {['running', 'paused', 'halted'].includes(c.state) && act('abort', 'The campaign ends; stations not yet sent the update keep their firmware. This cannot be undone.', true)}
        <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? 'Hide waves' : 'Show waves'}
        </button>
      </div>
      <Outcome text={outcome} />
      {open && (
        <div class="waves">
          {waves.map(([w, list]) => (
            <details key={w} open={w === c.currentWave}>
              <summary>
                <WaveBar stations={list} label={w < 0 ? 'Not sent' : w === 0 ? 'Canary' : `Wave ${w}`} />
              </summary>
              <table class="compact">
                <thead>
                  <tr>
                    <th scope="col">Station</th>
                    <th scope="col">State</th>
                    <th scope="col">OCPP status</th>
                    <th scope="col">Detail</th>
                    <th scope="col">Updated</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((s) => (
                    <tr key={s.stationId}>
                      <td>
                        <a href={href('station', s.stationId)}>{s.stationId}</a>
                      </td>
                      <td>
                        {s.state}
                        {s.insecure && <Badge tone="warn">insecure</Badge>}
                      </td>
                      <td>{s.ocppStatus ?? '—'}</td>
                      <td class="small">{s.detail ?? ''}</td>
                      <td>
                        <Time at={s.updatedAt} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
          ))}
        </div>
      )}
    </article>
  );
}

function NewCampaign({ images, onCreated }: { images: FirmwareImage[]; onCreated(): void }) {
  const can = useCan('operator');
  const [outcome, setOutcome] = useState<string | undefined>(undefined);
  if (!can || images.length === 0) return null;
  return (
    <div class="row wrap">
      <ConfirmAction
        label="New campaign"
        title="Start a firmware campaign"
        describe={<p>Stations matching the target get the signed image in waves: a canary wave first, then waves of the given size. The rollout halts by itself when failures pass the threshold.</p>}
        initial={{ firmwareId: images[0]!.id, target: 'matching', stationIds: '', canaryPercent: '10', waveSize: '50', failureThresholdPercent: '10', allowInsecure: '' }}
        fields={(v, set) => (
          <div class="grid2">
            <Field label="Image">
              <select value={v.firmwareId} onChange={(e) => set('firmwareId', (e.target as HTMLSelectElement).value)}>
                {images.map((i) => (
                  <option key={i.id} value={i.id}>
                    {i.vendor} {i.version} ({i.models.join(', ')})
                  </option>
                ))}
              </select>
            </Field>
            <Field label="Stations" hint="Empty: every station of the image's vendor and models">
              <input value={v.stationIds} placeholder="CS-1, CS-2" onInput={(e) => set('stationIds', (e.target as HTMLInputElement).value)} />
            </Field>
            <Field label="Canary share (%)">
              <input type="number" min={0} max={100} value={v.canaryPercent} onInput={(e) => set('canaryPercent', (e.target as HTMLInputElement).value)} />
            </Field>
            <Field label="Wave size">
              <input type="number" min={1} value={v.waveSize} onInput={(e) => set('waveSize', (e.target as HTMLInputElement).value)} />
            </Field>
            <Field label="Halt above failure share (%)">
              <input type="number" min={0} max={100} value={v.failureThresholdPercent} onInput={(e) => set('failureThresholdPercent', (e.target as HTMLInputElement).value)} />
            </Field>
            <label class="check">
              <input type="checkbox" checked={v.allowInsecure === 'yes'} onChange={(e) => set('allowInsecure', (e.target as HTMLInputElement).checked ? 'yes' : '')} /> allow unsigned OCPP 1.6 UpdateFirmware for stations without the security extension
            </label>
          </div>
        )}
        run={(v) => {
          const ids = v.stationIds!.split(/[\s,]+/).filter(Boolean);
          const img = images.find((i) => i.id === v.firmwareId);
          return post<Campaign>('/api/v1/campaigns', {
            firmwareId: v.firmwareId,
            ...(ids.length ? { stationIds: ids } : { filter: { vendor: img?.vendor } }),
            canaryPercent: Number(v.canaryPercent),
            waveSize: Number(v.waveSize),
            failureThresholdPercent: Number(v.failureThresholdPercent),
            ...(v.allowInsecure === 'yes' ? { allowInsecure: true } : {}),
          });
        }}
        onDone={(c) => {
          setOutcome(`Campaign ${(c as Campaign).id} started for ${(c as Campaign).stations?.length ?? 0} stations`);
          onCreated();
        }}
      />
      <Outcome text={outcome} />
    </div>
  );
}

function Upload({ onDone }: { onDone(): void }) {
  const can = useCan('operator');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [outcome, setOutcome] = useState<string | undefined>(undefined);
  if (!can) return null;
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const file = data.get('image');
    if (!(file instanceof File) || file.size === 0) return setError(new Error('Choose an image file'));
    setBusy(true);
    setError(undefined);
    try {
      const q = new URLSearchParams({ vendor: String(data.get('vendor')), model: String(data.get('model')), version: String(data.get('version')), sign: 'true' });
      const img = await api<FirmwareImage>('POST', `/api/v1/firmware?${q}`, file, { contentType: 'application/octet-stream' });
      setOutcome(`Uploaded and signed ${img.vendor} ${img.version} (${img.sha256.slice(0, 12)}…)`);
      form.reset();
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="filters" onSubmit={submit} aria-label="Upload a firmware image">
      <Field label="Vendor">
        <input name="vendor" required maxLength={50} />
      </Field>
      <Field label="Models (comma-separated)">
        <input name="model" required maxLength={1000} />
      </Field>
      <Field label="Version">
        <input name="version" required maxLength={50} />
      </Field>
      <Field label="Image file">
        <input name="image" type="file" required />
      </Field>
      <button type="submit" disabled={busy}>
        {busy ? 'Uploading…' : 'Upload and sign'}
      </button>
      {error !== undefined && <ErrorNote error={error} />}
      <Outcome text={outcome} />
    </form>
  );
}
