/**
 * Randomised resume after a power or communication loss (the plan: resume.ts).
 * A station that boots after a power-up, or reconnects without booting, while
 * it had sessions by the CSMS's records, gets a charging profile that holds
 * it at 0 W until a random release time, so that a feeder's stations do not
 * all draw again in the same second.
 */
import type { Bus } from '../bus/index.js';
import { Topics, type StationBooted, type StationConnected } from '../bus/events.js';
import type { CommandsFor } from '../model/commands.js';
import type { OcppVersion } from '../model/ocpp-version.js';
import { RESUME_DEFAULTS, resumePlan, type ResumePlan } from './resume.js';

/** One resume profile sent (or tried), kept for GET /api/v1/grid/resumes. */
export interface ResumeRecord {
  stationId: string;
  cause: 'power-up' | 'reconnect';
  ocppVersion: OcppVersion;
  sentAt: string;
  releaseAt: string;
  releaseS: number;
  drawnBy: 'csms' | 'station';
  outcome: 'sent' | 'failed';
  error?: string;
}

export interface ResumeConfig {
  /** Randomised resume after a power or communication loss: release window in s (default 600, 0 = off). */
  resumeWindowS?: number;
  /** chargingProfileId and stackLevel of the resume profile (defaults 990001 and 9). */
  resumeProfileId?: number;
  resumeStackLevel?: number;
  /** After a reconnect, wait this long for a BootNotification before treating it as a communication loss (default 2000 ms). */
  resumeSettleMs?: number;
}

export interface ResumeWatchDeps {
  bus: Bus;
  log?: { warn(o: unknown, m: string): void };
  now(): number;
  random(): number;
  commands?: CommandsFor;
  versionOf?(stationId: string): OcppVersion | undefined;
  stationMaxW(stationId: string): number;
  /** Whether the station had sessions when it went away: live load, or a transaction not ended. */
  hadSessions(stationId: string): Promise<boolean>;
}

const RECORDS_KEPT = 10_000;
const STATIONS_REMEMBERED = 100_000;

export function startResumeWatch(deps: ResumeWatchDeps, config: ResumeConfig) {
  const settings = {
    windowS: config.resumeWindowS ?? RESUME_DEFAULTS.windowS,
    profileId: config.resumeProfileId ?? RESUME_DEFAULTS.profileId,
    stackLevel: config.resumeStackLevel ?? RESUME_DEFAULTS.stackLevel,
  };
  const enabled = settings.windowS > 0 && !!deps.commands && !!deps.versionOf;
  /** Payloads built here: the guard knows them for what they are (a hold, never a surge). */
  const payloads = new WeakSet<object>();
  const records: ResumeRecord[] = [];
  const lastResume = new Map<string, number>();
  /** Per station: a pending reconnect check, and whether a BootNotification came since the connection. */
  const pending = new Map<string, { timer: NodeJS.Timeout; booted: boolean }>();
  const settleMs = config.resumeSettleMs ?? 2000;

  async function sendResume(stationId: string, cause: ResumeRecord['cause']): Promise<void> {
    const version = deps.versionOf!(stationId);
    if (!version) return; // not held by this node (cluster): the node holding it acts
    const nowMs = deps.now();
    // One profile per outage: a boot right after the reconnect that already got one adds nothing.
    if ((lastResume.get(stationId) ?? -Infinity) > nowMs - settleMs - 5000) return;
    lastResume.set(stationId, nowMs);
    if (lastResume.size > STATIONS_REMEMBERED) lastResume.delete(lastResume.keys().next().value!);
    const commands = deps.commands!(version);
    const plan: ResumePlan = resumePlan(commands.features, settings, deps.stationMaxW(stationId), nowMs, deps.random());
    const record: ResumeRecord = { stationId, cause, ocppVersion: version, sentAt: new Date(nowMs).toISOString(), releaseAt: plan.releaseAt, releaseS: plan.releaseS, drawnBy: plan.drawnBy, outcome: 'sent' };
    try {
      // The guard's beforeCall recognises this exact payload object as the grid's own hold.
      const answer = await commands.setChargingProfile(stationId, plan.profile, { onPayload: (payload) => payloads.add(payload) });
      if (answer.status !== 'Accepted') throw new Error(`station answered ${String(answer?.status).slice(0, 40)}`);
    } catch (err) {
      record.outcome = 'failed';
      record.error = String((err as Error).message).slice(0, 200);
      deps.log?.warn({ stationId, err }, 'resume profile not accepted');
    }
    records.push(record);
    if (records.length > RECORDS_KEPT) records.shift();
  }

  const unsubscribe = enabled
    ? [
      deps.bus.subscribe(Topics.stationBooted, (e) => {
        const b: Partial<StationBooted> | undefined = e.data;
        if (typeof b?.stationId !== 'string') return;
        const p = pending.get(b.stationId);
        if (p) p.booted = true;
        // Without a boot reason in the protocol (1.6) every boot follows a start of the station, so it counts as a power-up.
        const version = deps.versionOf!(b.stationId);
        const powerUp = b.reason === 'PowerUp' || (b.reason === undefined && !!version && !deps.commands!(version).features.bootReason);
        if (b.status !== 'Accepted' || !powerUp) return;
        const stationId = b.stationId;
        // Asked at boot, before the station reports how the outage ended its sessions.
        void deps.hadSessions(stationId).then((had) => {
          // Let the BootNotification answer go out first: a station takes commands once its boot is accepted.
          if (had) setTimeout(() => void sendResume(stationId, 'power-up'), 200).unref();
        });
      }),
      deps.bus.subscribe(Topics.stationConnected, (e) => {
        const c: Partial<StationConnected> | undefined = e.data;
        if (typeof c?.stationId !== 'string') return;
        const stationId = c.stationId;
        clearTimeout(pending.get(stationId)?.timer);
        // A reconnect without a boot is a communication loss; it matters if sessions run (or come back in the queued events).
        const p = {
          booted: false,
          timer: setTimeout(() => {
            pending.delete(stationId);
            if (!p.booted) void deps.hadSessions(stationId).then((had) => (had ? sendResume(stationId, 'reconnect') : undefined));
          }, settleMs),
        };
        p.timer.unref();
        pending.set(stationId, p);
      }),
    ]
    : [];

  return {
    /** Whether `payload` is a resume profile built here (by identity, so a look-alike from elsewhere is not). */
    isResumePayload: (payload: unknown) => !!payload && typeof payload === 'object' && payloads.has(payload),
    /** Resume profiles sent, newest last. */
    records: (stationId?: string): ResumeRecord[] => records.filter((r) => !stationId || r.stationId === stationId).map((r) => ({ ...r })),
    settings: () => ({ enabled, ...settings }),
    close() {
      for (const u of unsubscribe) u();
      for (const p of pending.values()) clearTimeout(p.timer);
      pending.clear();
    },
  };
}
