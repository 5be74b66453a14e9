/**
 * The security probe: acts as a charging station against any OCPP 1.6J /
 * 2.0.1 / 2.1 CSMS and reports its weaknesses, each check with its basis,
 * evidence and remedy. See docs/probe.md.
 */
export { runProbe, checkProbeOptions, CHECKS, DEFAULT_OPTIONS, PROBE_VERSION } from './run.js';
export { renderTerminal, renderJson, renderSarif, renderHtml, findingsAtOrAbove } from './report.js';
export { probeCommand } from './cli.js';
export { runStationProbe, STATION_CHECKS, type StationProbeOptions } from './station.js';
export { probeStationCommand } from './station-cli.js';
export { probeErrors } from './errors.js';
export { evguardObserver } from './observer.js';
export { SEVERITIES, severityRank } from './types.js';
export type { CsmsProbeReport, TargetObserver, ObservedTransaction, Need, CheckSpec, CheckResult, Outcome, ProbeOptions, ProbeReport, ProgressEvent, Severity, OcppVersion } from './types.js';
