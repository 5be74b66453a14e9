/**
 * Rollout policy as data and pure functions: wave planning,
 * the halt rule, install-time spreading and the meaning of each
 * FirmwareStatusNotification status. No I/O here.
 */
import { randomInt } from 'node:crypto';

export interface RolloutSpec {
  /** Share of the stations in the canary wave, 0–100 (at least one station). */
  canaryPercent: number;
  /** Stations per wave after the canary. */
  waveSize: number;
  /** Halt when failed stations exceed this share of dispatched stations, 0–100. */
  failureThresholdPercent: number;
}

/** Wave index per station: a random canary first, then waves in random order. */
export function planWaves(stationIds: string[], spec: RolloutSpec): Map<string, number> {
  const order = [...stationIds];
  for (let i = order.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const canary = Math.min(order.length, Math.max(1, Math.ceil((order.length * spec.canaryPercent) / 100)));
  const waves = new Map<string, number>();
  order.forEach((id, i) => waves.set(id, i < canary ? 0 : 1 + Math.floor((i - canary) / Math.max(1, spec.waveSize))));
  return waves;
}

export function shouldHalt(failed: number, dispatched: number, thresholdPercent: number): boolean {
  return dispatched > 0 && failed * 100 > thresholdPercent * dispatched;
}

/** A random instant in [start, end): spread so a fleet never reboots at once. */
export function spreadInstallTime(startMs: number, endMs: number): number {
  const span = Math.max(0, endMs - startMs);
  return span < 1000 ? startMs : startMs + randomInt(Math.min(span, 2 ** 47));
}

/** Statuses that end a station's update as failed (OCPP 2.0.1 FirmwareStatusEnumType and 1.6 security extension). */
export const FAILURE_STATUSES = new Set(['InvalidSignature', 'InvalidCertificate', 'RevokedCertificate', 'DownloadFailed', 'InstallationFailed', 'InstallVerificationFailed']);

export type StationUpdateState = 'pending' | 'sent' | 'downloading' | 'installing' | 'installed' | 'succeeded' | 'failed' | 'refused' | 'skipped';
export const TERMINAL_STATES = new Set<StationUpdateState>(['succeeded', 'failed', 'refused', 'skipped']);

/** The station's update state after a reported status, or undefined when the status changes nothing. */
export function stateAfterStatus(status: string): StationUpdateState | undefined {
  if (FAILURE_STATUSES.has(status)) return 'failed';
  if (['DownloadScheduled', 'Downloading', 'Downloaded', 'DownloadPaused', 'SignatureVerified'].includes(status)) return 'downloading';
  if (['InstallScheduled', 'Installing', 'InstallRebooting'].includes(status)) return 'installing';
  if (status === 'Installed') return 'installed';
  return undefined;
}
