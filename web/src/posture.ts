/**
 * Posture scores per station from the configuration assessment (src/assess).
 * Where the node has no assessment API the fleet says so instead of guessing.
 */
import { useMemo } from 'preact/hooks';
import { useResource } from './hooks';

export const postureTone = (score: number) => (score >= 80 ? 'ok' : score >= 50 ? 'warn' : 'bad');

export function usePosture(): { scores?: Map<string, number>; note?: string } {
  const r = useResource<unknown>('/api/v1/assessments', 30000);
  return useMemo(() => {
    if (r.unavailable) return { note: 'Posture: this node has no assessment API, so no posture scores are shown.' };
    const list = Array.isArray(r.data) ? r.data : Array.isArray((r.data as any)?.items) ? (r.data as any).items : undefined;
    if (!list) return {};
    const scores = new Map<string, number>();
    for (const a of list) if (typeof a?.stationId === 'string' && typeof a?.score === 'number') scores.set(a.stationId, Math.round(a.score));
    return { scores };
  }, [r.data, r.unavailable]);
}
