/** Public types of the security probe: checks, their results and the report. */

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

import type { OcppVersion } from '../model/ocpp-version.js';

export type { OcppVersion };

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
  /**
   * What the check cannot do without; the runner reports `error` (session) or
   * `skip` (the optional inputs) with the reason when one is missing.
   */
  needs?: Need[];
  /** Failed logins the check makes, counted against the run's budget: on the probe station's own id, and in all. */
  failedLogins?: { own: number; total: number };
  /** Judged from what the run recorded (liveness), so it is judged even after the target stopped answering. */
  judgesRecords?: boolean;
}

/**
 * session: an authenticated, booted session as the probe station (the
 * credentials work and the target answers). otherStation: --other-station.
 * tls: a wss:// target. clientCert: --cert/--key.
 */
export type Need = 'session' | 'otherStation' | 'tls' | 'clientCert';

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
  /** What the check needs (see CheckSpec.needs); the station probe leaves it out. */
  needs?: Need[];
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
  /** Pause between checks and the liveness sessions around them, in ms (fast reconnects break some targets). */
  paceMs: number;
  /** Failed logins the run may make in all; at most 4 of them on the probe station's own id. */
  maxFailedLogins: number;
  /** An idToken the target accepts, for the transaction TX-001 starts (default PROBE0001). */
  idToken?: string;
  /** A side channel into the target's state (e.g. its REST API), where one is available. */
  observer?: TargetObserver;
}

/** A transaction as the target itself stores it. */
export interface ObservedTransaction {
  id: string;
  stationId: string;
  open: boolean;
  /** A fingerprint of what the target holds for it (state, energy, event count); unchanged means untouched. */
  fingerprint: string;
}

/**
 * What the probe can read of the target's state beyond OCPP (an API, a
 * database view). Checks that need it say so and judge by the wire otherwise.
 */
export interface TargetObserver {
  /** Names the side channel in the evidence, e.g. "evguard API https://csms:8080". */
  name: string;
  /** The station's transactions, newest first. */
  transactions?(stationId: string): Promise<ObservedTransaction[]>;
  /** Whether the target holds any record of this station id (registered, pending, seen). */
  stationKnown?(stationId: string): Promise<boolean>;
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
  /** CSMS probe: false when a check could not be judged (an `error`), i.e. the run is incomplete. */
  complete?: boolean;
  /** CSMS probe: what stopped checks, in words (no password, HTTP 401/429, the target went down during a check). */
  stoppedBy?: string[];
  /** CSMS probe: failed logins the run made, on the probe station's id and in all. */
  failedLogins?: { own: number; total: number };
  summary: Record<Outcome, number> & { findingsBySeverity: Record<Severity, number> };
  results: CheckResult[];
}

/** The CSMS probe's report: always says whether it is complete, what stopped checks and the failed logins made. */
export type CsmsProbeReport = ProbeReport & Required<Pick<ProbeReport, 'complete' | 'stoppedBy' | 'failedLogins'>>;

export type ProgressEvent =
  | { kind: 'start'; total: number }
  | { kind: 'check'; index: number; total: number; spec: CheckSpec }
  | { kind: 'result'; index: number; total: number; result: CheckResult };
