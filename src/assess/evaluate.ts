/** Applies the baseline to one station's facts and scores the result; the fleet summary aggregates them. */
import { RULES, isWireless, type RuleSeverity, type RuleStatus } from './rules.js';
import type { StationFacts } from './facts.js';

export interface RuleResult {
  id: string;
  title: string;
  severity: RuleSeverity;
  status: RuleStatus;
  evidence: string;
  sources: string[];
  remedy: string;
}

export interface StationAssessment {
  stationId: string;
  assessedAt: string;
  /** 0–100: weighted share of applicable rules met; an unknown counts half. */
  score: number;
  grade: 'A' | 'B' | 'C' | 'D' | 'F';
  profiles: ('all' | 'wireless')[];
  configurationReadAt?: string;
  counts: Record<RuleStatus, number>;
  results: RuleResult[];
}

export const WEIGHT: Record<RuleSeverity, number> = { low: 1, medium: 3, high: 6, critical: 10 };
const CREDIT: Record<RuleStatus, number> = { pass: 1, fail: 0, unknown: 0.5, 'not-applicable': 0 };

export function grade(score: number): StationAssessment['grade'] {
  return score >= 90 ? 'A' : score >= 75 ? 'B' : score >= 60 ? 'C' : score >= 40 ? 'D' : 'F';
}

export function assessFacts(f: StationFacts): StationAssessment {
  const wireless = isWireless(f);
  const results: RuleResult[] = RULES.filter((r) => r.profile === 'all' || wireless).map((r) => {
    let v;
    try {
      v = r.evaluate(f);
    } catch (err) {
      v = { status: 'unknown' as const, evidence: `could not evaluate: ${(err as Error).message}` };
    }
    return { id: r.id, title: r.title, severity: v.severity ?? r.severity, status: v.status, evidence: v.evidence, sources: r.sources, remedy: r.remedy };
  });
  let got = 0;
  let max = 0;
  const counts: Record<RuleStatus, number> = { pass: 0, fail: 0, unknown: 0, 'not-applicable': 0 };
  for (const r of results) {
    counts[r.status]++;
    if (r.status === 'not-applicable') continue;
    max += WEIGHT[r.severity];
    got += WEIGHT[r.severity] * CREDIT[r.status];
  }
  const score = max ? Math.round((100 * got) / max) : 100;
  return {
    stationId: f.stationId,
    assessedAt: f.now.toISOString(),
    score,
    grade: grade(score),
    profiles: wireless ? ['all', 'wireless'] : ['all'],
    configurationReadAt: f.configurationReadAt,
    counts,
    results,
  };
}

export interface FleetSummary {
  assessedAt: string;
  stations: number;
  /** Mean of the station scores. */
  score: number;
  grade: StationAssessment['grade'];
  grades: Record<StationAssessment['grade'], number>;
  /** Per rule: how many stations fail it, worst first. */
  rules: { id: string; title: string; severity: RuleSeverity; fail: number; unknown: number; pass: number }[];
  /** Lowest-scoring stations first. */
  worst: { stationId: string; score: number; grade: string; failing: string[] }[];
}

export function summarise(list: StationAssessment[], now = new Date()): FleetSummary {
  const grades = { A: 0, B: 0, C: 0, D: 0, F: 0 };
  const byRule = new Map<string, FleetSummary['rules'][number]>();
  for (const a of list) {
    grades[a.grade]++;
    for (const r of a.results) {
      const row = byRule.get(r.id) ?? { id: r.id, title: r.title, severity: r.severity, fail: 0, unknown: 0, pass: 0 };
      if (r.status === 'fail') row.fail++;
      if (r.status === 'unknown') row.unknown++;
      if (r.status === 'pass') row.pass++;
      byRule.set(r.id, row);
    }
  }
  const score = list.length ? Math.round(list.reduce((s, a) => s + a.score, 0) / list.length) : 100;
  return {
    assessedAt: now.toISOString(),
    stations: list.length,
    score,
    grade: grade(score),
    grades,
    rules: [...byRule.values()].sort((a, b) => b.fail - a.fail || WEIGHT[b.severity] - WEIGHT[a.severity] || a.id.localeCompare(b.id)),
    worst: [...list]
      .sort((a, b) => a.score - b.score || a.stationId.localeCompare(b.stationId))
      .slice(0, 20)
      .map((a) => ({ stationId: a.stationId, score: a.score, grade: a.grade, failing: a.results.filter((r) => r.status === 'fail').map((r) => r.id) })),
  };
}
