/**
 * Registers simulated stations and an id token with a running node over its
 * REST API, so `evguard sim` and `evguard demo` need no manual set-up.
 */
import type { ApiClient } from '../api/client.js';
import type { SimFirmwareOptions } from '../sim/types.js';

/** Creates (or re-keys) each station and returns its password. */
export async function registerStations(api: ApiClient, ids: string[], securityProfile: 1 | 2 | 3): Promise<Map<string, string>> {
  const passwords = new Map<string, string>();
  for (const id of ids) {
    try {
      const created = await api.request<{ password?: string }>('POST', '/api/v1/stations', { id, securityProfile });
      if (created.password) passwords.set(id, created.password);
    } catch (err) {
      if ((err as { status?: number }).status !== 409) throw err;
      if (securityProfile !== 3) passwords.set(id, (await api.request<{ password: string }>('POST', `/api/v1/stations/${encodeURIComponent(id)}/password`, {})).password);
    }
  }
  return passwords;
}

/** Every CA certificate the node publishes, to trust its server certificate. */
export async function fetchCaBundle(api: ApiClient): Promise<string[]> {
  const cas = await api.request<{ pem: string }[]>('GET', '/api/v1/pki/cas');
  return cas.map((c) => c.pem);
}

/**
 * The firmware trust a station gets at manufacture: the manufacturer root
 * (the node's firmware CA) for signing certificates, the node's CAs for the
 * HTTPS download, and the TUF roots where the vendor's image repository exists.
 */
export async function firmwareTrust(api: ApiClient, vendor: string): Promise<SimFirmwareOptions> {
  const cas = await api.request<{ name: string; pem: string }[]>('GET', '/api/v1/pki/cas');
  const roots = await api.request<{ director: object | null; images: Record<string, object> }>('GET', '/api/v1/firmware/tuf-roots');
  const imageRoot = roots.images[vendor];
  return {
    ca: cas.filter((c) => c.pem).map((c) => c.pem),
    manufacturerRoots: cas.filter((c) => c.name === 'firmware-ca' && c.pem).map((c) => c.pem),
    ...(imageRoot && roots.director ? { tuf: { imageRoot, directorRoot: roots.director } } : {}),
  };
}
