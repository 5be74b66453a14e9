/**
 * One station: status, a timeline of security events, alerts and connector
 * changes, transactions with a meter chart, its certificates, its
 * configuration assessment, and confirmed actions.
 */
import { useMemo, useState } from 'preact/hooks';
import { api, ApiError, post } from '../api';
import { useResource, href } from '../hooks';
import { Chart } from '../chart';
import { Badge, ConfirmAction, ErrorNote, Field, Outcome, ResourceState, Time, fmtTime, severityTone, useCan } from '../ui';
import type { Alert, Certificate, SecurityEventRow, Station, Transaction, TransactionDetail } from '../types';
import { StationCertificates } from './station-certificates';
import { AssessmentPanel } from './assessment';

/** The CSMS→station calls the console offers, with each OCPP version's payload. */
function callPayload(station: Station, action: 'reset' | 'availability' | 'renew', choice: string): { action: string; payload: object } {
  const v16 = station.ocppVersion === '1.6';
  switch (action) {
    case 'reset':
      return { action: 'Reset', payload: v16 ? { type: choice === 'hard' ? 'Hard' : 'Soft' } : { type: choice === 'hard' ? 'Immediate' : 'OnIdle' } };
    case 'availability':
      return { action: 'ChangeAvailability', payload: v16 ? { connectorId: 0, type: choice } : { operationalStatus: choice } };
    case 'renew':
      // OCPP 1.6 security extension: ExtendedTriggerMessage with its own message name; 2.0.1/2.1: TriggerMessage (A02).
      return v16
        ? { action: 'ExtendedTriggerMessage', payload: { requestedMessage: 'SignChargePointCertificate' } }
        : { action: 'TriggerMessage', payload: { requestedMessage: 'SignChargingStationCertificate' } };
  }
}

export function StationView({ id }: { id: string }) {
  const station = useResource<Station>(`/api/v1/stations/${encodeURIComponent(id)}`, 5000);
  return (
    <section aria-labelledby="station-title">
      <p>
        <a href={href('fleet')}>← Fleet</a>
      </p>
      <h1 id="station-title">Station {id}</h1>
      <ResourceState r={station} what="Station">
        {(s) => (
          <>
            <Summary s={s} />
            <Actions s={s} reload={station.reload} />
            <div class="cols">
              <Timeline id={id} />
              <Transactions id={id} />
            </div>
            <StationCertificates id={id} />
            <AssessmentPanel stationId={id} />
          </>
        )}
      </ResourceState>
    </section>
  );
}

function Summary({ s }: { s: Station }) {
  return (
    <div class="card">
      <dl class="facts">
        <dt>Link</dt>
        <dd>{s.connected ? <Badge tone="ok">online since {fmtTime(s.connectedSince)}</Badge> : <Badge>offline</Badge>}</dd>
        <dt>OCPP</dt>
        <dd>{s.ocppVersion ?? '—'}</dd>
        <dt>Security profile</dt>
        <dd>{s.securityProfile}</dd>
        <dt>Registration</dt>
        <dd>{s.registration}</dd>
        <dt>Firmware</dt>
        <dd>{s.firmwareVersion ?? '—'}</dd>
        <dt>Vendor / model</dt>
        <dd>
          {s.vendor ?? '—'} / {s.model ?? '—'}
        </dd>
        <dt>Serial</dt>
        <dd>{s.serialNumber ?? '—'}</dd>
        <dt>Address</dt>
        <dd>{s.remoteAddress ?? '—'}</dd>
        <dt>Last seen</dt>
        <dd>
          <Time at={s.lastSeenAt} />
        </dd>
        <dt>Quarantined</dt>
        <dd>{s.quarantined ? <Badge tone="bad">yes</Badge> : 'no'}</dd>
      </dl>
      {s.connectors && s.connectors.length > 0 && (
        <table class="compact">
          <caption>Connectors</caption>
          <thead>
            <tr>
              <th scope="col">EVSE</th>
              <th scope="col">Connector</th>
              <th scope="col">Status</th>
              <th scope="col">Since</th>
            </tr>
          </thead>
          <tbody>
            {s.connectors.map((c) => (
              <tr key={`${c.evseId}-${c.connectorId}`}>
                <td>{c.evseId}</td>
                <td>{c.connectorId}</td>
                <td>{c.status}</td>
                <td>
                  <Time at={c.updatedAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Actions({ s, reload }: { s: Station; reload(): void }) {
  const can = useCan('operator');
  const [outcome, setOutcome] = useState<string | undefined>(undefined);
  if (!can) return <p class="muted small">Actions need the operator role.</p>;
  const call = (action: 'reset' | 'availability' | 'renew', choice: string) => {
    const c = callPayload(s, action, choice);
    return post<Record<string, unknown>>(`/api/v1/stations/${encodeURIComponent(s.id)}/calls`, c);
  };
  const done = (what: string) => (r: unknown) => {
    setOutcome(`${what}: the station answered ${JSON.stringify(r)}`);
    reload();
  };
  const offline = !s.connected;
  const choice = (name: string, options: [string, string][]) => (values: Record<string, string>, set: (k: string, v: string) => void) => (
    <Field label="Choice">
      <select value={values[name]} onChange={(e) => set(name, (e.target as HTMLSelectElement).value)}>
        {options.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
    </Field>
  );
  return (
    <div class="card">
      <h2>Actions</h2>
      {offline && <p class="muted small">The station is offline; commands need a live connection.</p>}
      <div class="row wrap">
        <ConfirmAction
          label="Reset"
          title={`Reset ${s.id}?`}
          describe={<p>The station restarts. A soft reset (OnIdle in OCPP 2.x) waits for running transactions to end; a hard reset (Immediate) does not.</p>}
          initial={{ kind: 'soft' }}
          fields={choice('kind', [
            ['soft', 'Soft / when idle'],
            ['hard', 'Hard / immediately'],
          ])}
          run={(v) => call('reset', v.kind ?? 'soft')}
          onDone={done('Reset')}
          disabled={offline}
        />
        <ConfirmAction
          label="Availability"
          title={`Change availability of ${s.id}?`}
          describe={<p>Inoperative stops the whole station from starting new charging sessions; Operative allows them again.</p>}
          initial={{ status: 'Inoperative' }}
          fields={choice('status', [
            ['Inoperative', 'Inoperative'],
            ['Operative', 'Operative'],
          ])}
          run={(v) => call('availability', v.status ?? 'Inoperative')}
          onDone={done('Availability')}
          disabled={offline}
        />
        <ConfirmAction
          label="Trigger certificate renewal"
          title={`Ask ${s.id} to renew its certificate?`}
          describe={<p>The station generates a new key pair and sends a certificate signing request; the node signs it and installs the new certificate.</p>}
          run={async () => {
            // The trust module's renewal route tracks the renewal; a node without it gets the plain trigger.
            try {
              return await post<Record<string, unknown>>(`/api/v1/stations/${encodeURIComponent(s.id)}/certificates/renew`, {});
            } catch (err) {
              if (err instanceof ApiError && err.missingRoute) return call('renew', '');
              throw err;
            }
          }}
          onDone={(r) => {
            const renewal = r as { state?: string; stationStatus?: string };
            setOutcome(renewal.state ? `Renewal ${renewal.state}${renewal.stationStatus ? ` (station: ${renewal.stationStatus})` : ''}` : `Renewal: the station answered ${JSON.stringify(r)}`);
            reload();
          }}
          disabled={offline}
        />
        <ConfirmAction
          label={s.quarantined ? 'Release from quarantine' : 'Quarantine'}
          danger={!s.quarantined}
          title={s.quarantined ? `Release ${s.id} from quarantine?` : `Quarantine ${s.id}?`}
          describe={<p>{s.quarantined ? 'The station may charge again.' : 'A quarantined station stays connected but the node refuses its charging requests.'}</p>}
          run={() => api('PATCH', `/api/v1/stations/${encodeURIComponent(s.id)}`, { quarantined: !s.quarantined })}
          onDone={() => {
            setOutcome(s.quarantined ? 'Released from quarantine' : 'Quarantined');
            reload();
          }}
        />
      </div>
      <Outcome text={outcome} />
    </div>
  );
}

interface TimelineItem {
  at: string;
  kind: 'event' | 'alert' | 'certificate';
  title: string;
  detail?: string;
  tone: 'ok' | 'warn' | 'bad' | 'neutral' | 'info';
  link?: string;
}

function Timeline({ id }: { id: string }) {
  const events = useResource<SecurityEventRow[]>(`/api/v1/security-events?stationId=${encodeURIComponent(id)}&limit=200`, 5000);
  const alerts = useResource<Alert[]>(`/api/v1/alerts?stationId=${encodeURIComponent(id)}&limit=200`, 5000);
  // A revocation is an operator's (or a detector's) act, not a security event the station sent: it belongs here too.
  const certificates = useResource<Certificate[]>(`/api/v1/certificates?stationId=${encodeURIComponent(id)}`, 15000);
  const items = useMemo(() => {
    const out: TimelineItem[] = [];
    for (const c of certificates.data ?? []) {
      if (c.revokedAt) out.push({ at: c.revokedAt, kind: 'certificate', title: `Certificate revoked (${c.revocationReason ?? 'unspecified'})`, detail: `${c.commonName} · serial ${c.serialHex}`, tone: c.revocationReason === 'keyCompromise' ? 'bad' : 'warn' });
    }
    for (const e of events.data ?? []) out.push({ at: e.timestamp, kind: 'event', title: e.type, detail: [e.techInfo, e.remoteAddress].filter(Boolean).join(' · '), tone: e.critical ? 'bad' : 'neutral' });
    for (const a of alerts.data ?? []) out.push({ at: a.createdAt, kind: 'alert', title: `Alert: ${a.title}`, detail: `${a.severity} · ${a.state}${a.count > 1 ? ` · ×${a.count}` : ''}`, tone: severityTone(a.severity), link: href('alerts', a.id) });
    return out.sort((a, b) => b.at.localeCompare(a.at)).slice(0, 300);
  }, [events.data, alerts.data, certificates.data]);
  return (
    <div class="card">
      <h2>Security timeline</h2>
      {events.error && <ErrorNote error={events.error} />}
      {items.length === 0 ? (
        <p class="muted">{events.loading ? 'Loading…' : 'No security events, alerts or revocations for this station.'}</p>
      ) : (
        <ol class="timeline" aria-label="Security events, alerts and revocations, newest first">
          {items.map((it, i) => (
            <li key={i}>
              <Time at={it.at} /> <Badge tone={it.tone}>{it.kind}</Badge> {it.link ? <a href={it.link}>{it.title}</a> : <strong>{it.title}</strong>}
              {it.detail && <div class="muted small">{it.detail}</div>}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

function Transactions({ id }: { id: string }) {
  const list = useResource<Transaction[]>(`/api/v1/transactions?stationId=${encodeURIComponent(id)}&limit=50`, 5000);
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const current = selected ?? list.data?.[0]?.id;
  return (
    <div class="card">
      <h2>Transactions</h2>
      <ResourceState r={list} what="Transactions">
        {(txs) =>
          txs.length === 0 ? (
            <p class="muted">No transactions yet.</p>
          ) : (
            <>
              <Field label="Transaction">
                <select value={current} onChange={(e) => setSelected((e.target as HTMLSelectElement).value)}>
                  {txs.map((t) => (
                    <option key={t.id} value={t.id}>
                      {t.id} · {t.state} · {((t.energyDeliveredWh ?? 0) / 1000).toFixed(2)} kWh
                    </option>
                  ))}
                </select>
              </Field>
              {current && <MeterChart txId={current} />}
            </>
          )
        }
      </ResourceState>
    </div>
  );
}

function MeterChart({ txId }: { txId: string }) {
  const tx = useResource<TransactionDetail>(`/api/v1/transactions/${encodeURIComponent(txId)}`, 5000);
  const series = useMemo(() => {
    const points = new Map<number, { power?: number; energy?: number }>();
    for (const ev of tx.data?.eventLog ?? []) {
      for (const m of ev.meter ?? []) {
        if (m.phase) continue;
        const t = Math.floor(Date.parse(m.timestamp) / 1000);
        if (!Number.isFinite(t)) continue;
        const p = points.get(t) ?? {};
        if (m.measurand === 'Power.Active.Import') p.power = m.value;
        if (m.measurand === 'Energy.Active.Import.Register') p.energy = m.value;
        points.set(t, p);
      }
    }
    const xs = [...points.keys()].sort((a, b) => a - b);
    return { x: xs, power: xs.map((t) => points.get(t)!.power ?? null), energy: xs.map((t) => points.get(t)!.energy ?? null) };
  }, [tx.data]);
  const t = tx.data;
  return (
    <ResourceState r={tx} what="Transaction">
      {() => (
        <>
          <p class="small">
            {t!.state} · started {fmtTime(t!.startedAt)} {t!.endedAt ? `· ended ${fmtTime(t!.endedAt)}` : ''} · {t!.events} messages
            {t!.seqGaps ? <Badge tone="warn">{t!.seqGaps} seqNo gaps</Badge> : null}
          </p>
          {series.x.length === 0 ? (
            <p class="muted">No meter values in this transaction yet.</p>
          ) : (
            <Chart
              title={`Meter values of transaction ${txId}`}
              summary={`${series.x.length} samples; latest power ${t!.powerW ?? '—'} W, energy delivered ${t!.energyDeliveredWh ?? '—'} Wh.`}
              x={series.x}
              ys={[series.power, series.energy]}
              series={[
                { label: 'Power (W)', color: '#2b6cb0', scale: 'W' },
                { label: 'Energy register (Wh)', color: '#b7791f', scale: 'Wh', dash: [6, 4] },
              ]}
              axes={{ left: 'W', right: 'Wh' }}
            />
          )}
        </>
      )}
    </ResourceState>
  );
}
