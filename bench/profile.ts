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
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Microseconds on the monotonic clock that V8 stamps profile samples with (CLOCK_MONOTONIC, as process.hrtime). */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * The profile cut to the samples taken between two instants (monotonicMicros()
 * of any process on this machine), so a phase's summary does not count the
 * node's start-up or another phase. Hit counts are recounted from the samples.
 */
export function profileWindow(profile: CpuProfile, fromMicros: number, toMicros: number): CpuProfile {
  const hits = new Map<number, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    if (t >= fromMicros && t <= toMicros) hits.set(profile.samples[i]!, (hits.get(profile.samples[i]!) ?? 0) + 1);
  }
  return { ...profile, nodes: profile.nodes.map((n) => ({ ...n, hitCount: hits.get(n.id) ?? 0 })) };
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

/**
 * Self time by where the code lives: a package under node_modules, a folder
 * of src/, Node's own code, or V8's (garbage collector, compiled code
 * without a script). The leaves' share of busy time, summed.
 */
export function summarizeByModule(profile: CpuProfile, top: number): ProfileEntry[] {
  const by = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    const fn = n.callFrame.functionName;
    if (fn === '(idle)') continue;
    total += hits;
    const url = n.callFrame.url;
    const where = !url
      ? fn.startsWith('(') ? fn : '(native)'
      : /node_modules\//.test(url)
        ? url.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, '$1')
        : /\/src\//.test(url)
          ? url.replace(/^.*\/src\/([^/]+).*$/, 'src/$1')
          : url.startsWith('node:')
            ? `node:${url.slice(5).split('/')[0]}`
            : url.replace(/^.*\//, '');
    by.set(where, (by.get(where) ?? 0) + hits);
  }
  return [...by.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([where, hits]) => ({ function: where, location: '', selfPercent: +((100 * hits) / Math.max(1, total)).toFixed(1) }));
}
