/** Shared set-up for the firmware tests: a node, a simulated fleet, raw uploads. */
import { createSimStation, type OcppVersion, type SimStation } from '../../src/sim/index.js';
import type { SimFirmwareOptions } from '../../src/sim/types.js';
import type { TestNode } from '../support/node.js';

export const VENDOR = 'Acme';
export const MODEL = 'AC22';

export async function upload(node: TestNode, query: Record<string, string>, image: Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(`${node.http}/api/v1/firmware?${new URLSearchParams(query)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${node.adminToken}`, 'content-type': 'application/octet-stream', ...headers },
    body: image,
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** Firmware options a Linux-class simulated station gets: HTTPS anchors, manufacturer root, TUF roots, CRL. */
export async function stationFirmwareOptions(node: TestNode): Promise<SimFirmwareOptions> {
  const cas = (await node.api('GET', '/api/v1/pki/cas')).body as { name: string; pem: string }[];
  const roots = (await node.api('GET', '/api/v1/firmware/tuf-roots')).body;
  const https = `https://127.0.0.1:${node.app.ports.https}`;
  return {
    ca: cas.filter((c) => c.pem).map((c) => c.pem),
    manufacturerRoots: [cas.find((c) => c.name === 'firmware-ca')!.pem],
    tuf: { imageRoot: roots.images[VENDOR], directorRoot: roots.director },
    crlUrl: `${https}/pki/crl/firmware-ca.crl`,
  };
}

export async function startStation(node: TestNode, id: string, ocppVersion: OcppVersion, firmwareVersion: string, firmware: SimFirmwareOptions, model = MODEL): Promise<SimStation> {
  const password = `pw-${id}-0123456789abcdef`.slice(0, 40);
  const created = await node.api('POST', '/api/v1/stations', { id, securityProfile: 1, password });
  if (created.status !== 201) throw new Error(`station ${id}: ${JSON.stringify(created.body)}`);
  const station = createSimStation({ url: node.ws, id, ocppVersion, securityProfile: 1, password, vendor: VENDOR, model, firmwareVersion, firmware, pingIntervalMs: 0 });
  const boot = await station.connect();
  if (boot.status !== 'Accepted') throw new Error(`station ${id} boot ${boot.status}`);
  return station;
}

/** Polls until the campaign is in one of `states` (the test's own timeout bounds the wait). */
export async function waitCampaign(node: TestNode, id: string, states: string[]): Promise<any> {
  for (;;) {
    const c = (await node.api('GET', `/api/v1/campaigns/${id}`)).body;
    if (states.includes(c.state)) return c;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function waitFor<T>(fn: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}
