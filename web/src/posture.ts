/**
 * Posture scores per station from the configuration assessment
 * (GET /api/v1/assessment). Where the node has no assessment API the fleet
 * says so instead of guessing.
 */
import { useMemo } from 'preact/hooks';
import { useResource } from './hooks';

export const postureTone = (score: number) => (score >= 80 ? 'ok' : score >= 50 ? 'warn' : 'bad');

/** Above this many stations only the summary (with the lowest-scoring stations) is fetched, not every assessment. */
const DETAIL_LIMIT = 2000;

interface FleetPosture {
  stations: number;
  score: number;
  grade: string;
  worst?: { stationId: string; score: number }[];
  assessments?: { stationId: string; score: number }[];
}

export function usePosture(fleetSize: number): { scores?: Map<string, number>; note?: string; summary?: FleetPosture } {
  const detailed = fleetSize <= DETAIL_LIMIT;
  const r = useResource<FleetPosture>(fleetSize === 0 ? null : detailed ? `/api/v1/assessment?details=true&limit=${DETAIL_LIMIT}` : '/api/v1/assessment', 60000);
  return useMemo(() => {
    if (r.unavailable) return { note: 'Posture: this node has no assessment API, so no posture scores are shown.' };
    if (!r.data) return {};
    const scores = new Map<string, number>();
    for (const a of r.data.assessments ?? r.data.worst ?? []) scores.set(a.stationId, Math.round(a.score));
    const note = `Fleet posture ${Math.round(r.data.score)} (grade ${r.data.grade}) over ${r.data.stations} stations${detailed ? '' : `; scores shown for the ${scores.size} lowest-scoring stations`}.`;
    return { scores, note, summary: r.data };
  }, [r.data, r.unavailable, detailed]);
}
