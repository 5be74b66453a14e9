/**
 * A side channel into an evguard node for the probe: its REST API, read with
 * an auditor token. Checks whose effect OCPP does not show (whose transaction
 * a foreign message touched, whether an unknown id left a record) judge by it
 * when it is given, and say so when it is not.
 */
import type { ObservedTransaction, TargetObserver } from './types.js';

export function evguardObserver(apiUrl: string, token: string): TargetObserver {
  const base = apiUrl.replace(/\/+$/, '');
  const get = async (path: string): Promise<{ status: number; body: any }> => {
    const res = await fetch(base + path, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
    const body = await res.json().catch(() => undefined);
    if (res.status >= 500 || res.status === 401 || res.status === 403) throw new Error(`${base}${path} answered ${res.status}`);
    return { status: res.status, body };
  };
  return {
    name: `evguard API ${base}`,
    async transactions(stationId) {
      const { body } = await get(`/api/v1/transactions?stationId=${encodeURIComponent(stationId)}&limit=20`);
      return (Array.isArray(body) ? body : []).map(
        (t: any): ObservedTransaction => ({
          id: String(t.id),
          stationId: String(t.stationId),
          open: t.state !== 'Ended',
          fingerprint: `state ${t.state}, energy ${t.energyWh ?? '-'} Wh, ${t.events} event(s)`,
        }),
      );
    },
    async stationKnown(stationId) {
      return (await get(`/api/v1/stations/${encodeURIComponent(stationId)}`)).status === 200;
    },
  };
}
