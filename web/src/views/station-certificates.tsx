/** A station's certificates: what the node issued (revocable), what the station reports installed, and renewals. */
import { useResource } from '../hooks';
import { Badge, ResourceState, Time, fmtTime } from '../ui';
import type { Certificate } from '../types';
import { RevokeButton, certStatus } from './certificates';

interface Inventory {
  issued: (Certificate & { state: string; expiresInDays: number })[];
  installed: { certificateType: string; serialHex: string; reportedAt: string; known?: { commonName?: string; notAfter: string } }[];
  renewals: { id: string; certificateType: string; reason: string; state: string; stationStatus?: string; newSerial?: string; requestedAt: string; completedAt?: string }[];
}

export function StationCertificates({ id }: { id: string }) {
  const inventory = useResource<Inventory>(`/api/v1/stations/${encodeURIComponent(id)}/certificates`, 5000);
  // Nodes without the lifecycle routes still list what they issued.
  const plain = useResource<Certificate[]>(inventory.unavailable ? `/api/v1/certificates?stationId=${encodeURIComponent(id)}` : null, 5000);
  const issued = inventory.data?.issued ?? plain.data;
  const reload = () => (inventory.unavailable ? plain.reload() : inventory.reload());
  return (
    <div class="card">
      <h2>Certificates</h2>
      <ResourceState<unknown> r={inventory.unavailable ? plain : inventory} what="Certificates">
        {() =>
          !issued || issued.length === 0 ? (
            <p class="muted">The node has issued no certificate to this station.</p>
          ) : (
            <table class="compact">
              <caption>Issued by this node</caption>
              <thead>
                <tr>
                  <th scope="col">Kind</th>
                  <th scope="col">Subject</th>
                  <th scope="col">Serial</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {issued.map((c) => {
                  const st = certStatus(c);
                  const superseded = (c as { state?: string }).state === 'superseded' && !c.revokedAt;
                  return (
                    <tr key={c.serialHex}>
                      <td>{c.kind}</td>
                      <td>{c.commonName}</td>
                      <td class="mono">{c.serialHex.slice(0, 16)}…</td>
                      <td>{fmtTime(c.notAfter)}</td>
                      <td>
                        <Badge tone={superseded ? 'neutral' : st.tone}>{superseded ? 'superseded' : st.label}</Badge>
                      </td>
                      <td>{!c.revokedAt && <RevokeButton cert={c} onDone={reload} />}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )
        }
      </ResourceState>
      {inventory.data && inventory.data.installed.length > 0 && (
        <table class="compact">
          <caption>Installed on the station (its trust store, as last reported)</caption>
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col">Serial</th>
              <th scope="col">Known as</th>
              <th scope="col">Reported</th>
            </tr>
          </thead>
          <tbody>
            {inventory.data.installed.map((e) => (
              <tr key={`${e.certificateType}-${e.serialHex}`}>
                <td>{e.certificateType}</td>
                <td class="mono">{e.serialHex.slice(0, 16)}…</td>
                <td>{e.known ? `${e.known.commonName ?? ''} (expires ${fmtTime(e.known.notAfter)})` : 'unknown to this node'}</td>
                <td>
                  <Time at={e.reportedAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {inventory.data && inventory.data.renewals.length > 0 && (
        <table class="compact">
          <caption>Renewals</caption>
          <thead>
            <tr>
              <th scope="col">Requested</th>
              <th scope="col">Type</th>
              <th scope="col">Reason</th>
              <th scope="col">State</th>
              <th scope="col">New serial</th>
            </tr>
          </thead>
          <tbody>
            {inventory.data.renewals.map((r) => (
              <tr key={r.id}>
                <td>
                  <Time at={r.requestedAt} />
                </td>
                <td>{r.certificateType}</td>
                <td>{r.reason}</td>
                <td>
                  {r.state}
                  {r.stationStatus && <span class="muted small"> ({r.stationStatus})</span>}
                </td>
                <td class="mono">{r.newSerial ? `${r.newSerial.slice(0, 16)}…` : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
