/**
 * Top self-time costs in a V8 .cpuprofile (written by node --cpu-prof), as a
 * share of the time the node was busy: idle samples (waiting for I/O) are left out.
 */
export interface ProfileEntry {
  function: string;
  location: string;
  selfPercent: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
}

export function summarizeProfile(profile: CpuProfile, top: number): ProfileEntry[] {
  const byFrame = new Map<string, { fn: string; loc: string; hits: number }>();
  let total = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    const fn = n.callFrame.functionName || '(anonymous)';
    if (fn === '(idle)') continue;
    total += hits;
    const loc = n.callFrame.url ? `${n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/src\//, 'src/')}:${n.callFrame.lineNumber + 1}` : '';
    const key = `${fn}@${loc}`;
    const e = byFrame.get(key) ?? { fn, loc, hits: 0 };
    e.hits += hits;
    byFrame.set(key, e);
  }
  return [...byFrame.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, top)
    .map((e) => ({ function: e.fn, location: e.loc, selfPercent: +((100 * e.hits) / Math.max(1, total)).toFixed(1) }));
}
