/** Public types of the security probe: checks, their results and the report. */

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export type OcppVersion = '1.6' | '2.0.1' | '2.1';

/** What a check is, independent of any run. */
export interface CheckSpec {
  id: string;
  title: string;
  severity: Severity;
  /** The standard clause or public guidance the check rests on. */
  basis: string;
  remedy: string;
  /** Sends bursts or holds connections; runs only with --aggressive. */
  aggressive?: boolean;
  /** What the check does, for the report and the SARIF rule. */
  description: string;
}

/**
 * pass: the target behaved as the basis requires. fail: a finding.
 * skip: the check could not run here (missing option, not aggressive, no TLS).
 * error: the check could not reach a verdict (e.g. the target went away).
 */
export type Outcome = 'pass' | 'fail' | 'skip' | 'error';

export interface CheckResult {
  id: string;
  title: string;
  severity: Severity;
  basis: string;
  remedy: string;
  outcome: Outcome;
  evidence: string[];
  durationMs: number;
}

export interface ProbeOptions {
  /** Base OCPP endpoint; the station id is appended, e.g. wss://csms.example/ocpp. */
  url: string;
  /** Station identity registered at the target (default EVGPROBE01). */
  stationId: string;
  /** Basic-auth username; OCPP says it equals the station id (default). */
  user?: string;
  password?: string;
  /** PEM client certificate and key (security profile 3). */
  cert?: string;
  key?: string;
  /** PEM CA certificates that should verify the target's server certificate. */
  ca?: string[];
  /** Do not verify the target's certificate (the report then says it was not checked). */
  insecure: boolean;
  /** OCPP version to speak; by default the target chooses among those offered. */
  ocppVersion?: OcppVersion;
  /** A second registered station, for cross-station checks. */
  otherStationId?: string;
  otherPassword?: string;
  /** Plain ws:// endpoint of the same target, to test a TLS-only station over it. */
  plainUrl?: string;
  aggressive: boolean;
  /** Upper bound for bursts (messages) in aggressive checks. */
  maxMessages: number;
  /** How long the slow-connection check holds a half-open request, in seconds. */
  slowSeconds: number;
  /** How long to wait for any one answer, in ms. */
  timeoutMs: number;
  /** Bytes of the oversized frame. */
  hugeFrameBytes: number;
  only?: string[];
  skip?: string[];
}

export interface ProbeReport {
  tool: { name: string; version: string };
  target: string;
  startedAt: string;
  finishedAt: string;
  /** The target's certificate was verified (false with --insecure or plain ws://). */
  serverCertificateVerified: boolean;
  negotiatedVersion?: string;
  notes: string[];
  summary: Record<Outcome, number> & { findingsBySeverity: Record<Severity, number> };
  results: CheckResult[];
}

export type ProgressEvent =
  | { kind: 'start'; total: number }
  | { kind: 'check'; index: number; total: number; spec: CheckSpec }
  | { kind: 'result'; index: number; total: number; result: CheckResult };
