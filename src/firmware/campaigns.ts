/**
 * Campaigns: one firmware image rolled out to a set of stations in waves (a
 * random canary first), halted automatically when failures pass the
 * threshold, with pause, resume and abort. State lives in the database, so a
 * restarted node carries on where it stopped. Stations report progress with
 * FirmwareStatusNotification; the version a station boots with afterwards
 * must be the one installed.
 */
import { createHash, randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { Bus } from '../bus/index.js';
import { Topics } from '../bus/events.js';
import { firmwareErrors } from './errors.js';
import { imageRepo, type FirmwareImage, type Images } from './images.js';
import { compareVersions } from '../model/firmware-version.js';
import type { CommandsFor } from '../model/commands.js';
import type { OcppVersion } from '../model/ocpp-version.js';
import { planWaves, shouldHalt, spreadInstallTime, stateAfterStatus, TERMINAL_STATES, type RolloutSpec, type StationUpdateState } from './policy.js';
import { verifyRelease } from './release-check.js';
import type { TufRepositories } from './tuf.js';
import type { CampaignStationRow, CampaignStationUpdate, CampaignUpdate, FirmwareStore } from './store.js';

export type CampaignState = 'running' | 'paused' | 'halted' | 'aborted' | 'completed';

export interface StationInfo { id: string; vendor?: string; model?: string; firmwareVersion?: string; tags: string[] }

export interface CampaignDeps {
  store: FirmwareStore;
  bus: Bus;
  images: Images;
  tuf: TufRepositories;
  /** The version adapters, bound to the node's call path (cluster mode routes it). */
  commands: CommandsFor;
  /** OCPP version of the live session, undefined when the station is offline. */
  online(stationId: string): OcppVersion | undefined;
  station(id: string): Promise<StationInfo | undefined>;
  allStations(): Promise<StationInfo[]>;
  /** HTTPS base URL stations download from, undefined without a TLS listener. */
  downloadBase(): string | undefined;
  /** Threat-intelligence hook: true when the image hash is known bad. */
  isBlocked(sha256: string): boolean | Promise<boolean>;
  log?: { warn(obj: unknown, msg: string): void };
  /**
   * Cluster mode: campaigns are advanced only where this answers true (the
   * lead node), so two nodes never evaluate or dispatch the same campaign.
   * The others still create, pause and resume them (rows and bus events),
   * and the lead picks those up from `firmware.campaign`. Default: always.
   */
  leads?(): boolean;
}

export interface CampaignConfig {
  downloadTtlS: number;
  tickMs: number;
}

export interface CampaignInput {
  firmwareId: string;
  stationIds?: string[];
  filter?: { vendor?: string; model?: string; version?: string; tag?: string };
  canaryPercent?: number;
  waveSize?: number;
  failureThresholdPercent?: number;
  window?: { start: string; end: string };
  /** Allow plain 1.6 UpdateFirmware for stations without the security extension (marked insecure). */
  allowInsecure?: boolean;
  /** Create paused; start with resume. */
  paused?: boolean;
  /** Install even where it is a downgrade: admin only, with a reason. */
  force?: { reason: string };
}

export interface CampaignStation {
  stationId: string;
  wave: number;
  state: StationUpdateState;
  requestId: number;
  ocppStatus?: string;
  detail?: string;
  insecure: boolean;
  fromVersion?: string;
  reportedVersion?: string;
  installAt?: string;
  updatedAt: string;
}

export interface Campaign {
  id: string;
  firmwareId: string;
  state: CampaignState;
  currentWave: number;
  haltReason?: string;
  spec: RolloutSpec & {
    window?: { start: string; end: string };
    allowInsecure: boolean;
    forced?: { reason: string; by: string };
    /**
     * Failed and dispatched stations an operator accepted by resuming a halted
     * campaign: the halt rule judges only what happened after that resume.
     */
    acknowledged?: { failed: number; dispatched: number };
  };
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  counts: Record<string, number>;
  stations: CampaignStation[];
}

const ACTIVE_STATION = ['sent', 'downloading', 'installing', 'installed'];
const ACTIVE_CAMPAIGN = ['running', 'paused', 'halted'];
/** How long a connection waits for the campaign step it prompts, so that the connections of a storm share one. */
const CONNECT_TICK_DELAY_MS = 100;

export function createCampaigns(deps: CampaignDeps, config: CampaignConfig) {
  const { store } = deps;
  const locks = new Map<string, Promise<unknown>>();
  const serial = <T>(id: string, fn: () => Promise<T>): Promise<T> => {
    const next = (locks.get(id) ?? Promise.resolve()).then(fn, fn);
    locks.set(id, next.catch(() => undefined));
    return next;
  };
  const now = () => new Date().toISOString();

  async function rows(campaignId: string): Promise<CampaignStation[]> {
    const list = await store.campaignStations.list(campaignId);
    return list.map((r) => ({
      stationId: r.station_id, wave: Number(r.wave), state: r.state as StationUpdateState, requestId: Number(r.request_id), ocppStatus: r.ocpp_status ?? undefined,
      detail: r.detail ?? undefined, insecure: Number(r.insecure) === 1, fromVersion: r.from_version ?? undefined,
      reportedVersion: r.reported_version ?? undefined, installAt: r.install_at ?? undefined, updatedAt: r.updated_at,
    }));
  }
  async function setStation(campaignId: string, stationId: string, fields: CampaignStationUpdate) {
    await store.campaignStations.update(campaignId, stationId, { ...fields, updated_at: now() });
  }
  async function setCampaign(c: { id: string; state: CampaignState }, state: CampaignState, extra: CampaignUpdate = {}) {
    await store.campaigns.update(c.id, { state, ...extra, updated_at: now() });
    const haltReason = typeof extra.halt_reason === 'string' ? { haltReason: extra.halt_reason } : {};
    deps.bus.publish(Topics.firmwareCampaign, { campaignId: c.id, state, from: c.state, ...haltReason });
  }

  async function get(id: string): Promise<Campaign> {
    if (typeof id !== 'string' || id.length > 64) throw firmwareErrors.CAMPAIGN_UNKNOWN();
    const r = await store.campaigns.get(id);
    if (!r) throw firmwareErrors.CAMPAIGN_UNKNOWN(`No campaign ${id}`);
    const stations = await rows(id);
    const counts: Record<string, number> = {};
    for (const s of stations) counts[s.state] = (counts[s.state] ?? 0) + 1;
    return {
      id: r.id, firmwareId: r.firmware_id, state: r.state as CampaignState, currentWave: Number(r.current_wave), haltReason: r.halt_reason ?? undefined,
      spec: JSON.parse(r.spec), createdBy: r.created_by, createdAt: r.created_at, updatedAt: r.updated_at, counts, stations,
    };
  }

  function matches(s: StationInfo, f: NonNullable<CampaignInput['filter']>): boolean {
    return (!f.vendor || s.vendor === f.vendor) && (!f.model || s.model === f.model) && (!f.version || s.firmwareVersion === f.version) && (!f.tag || s.tags.includes(f.tag));
  }

  const pct = (v: unknown, name: string, dflt: number) => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100) throw firmwareErrors.CAMPAIGN_INVALID(`${name} must be a number from 0 to 100`);
    return v;
  };

  async function create(input: CampaignInput, principal: { name: string; role: string }): Promise<Campaign> {
    if (!input || typeof input !== 'object') throw firmwareErrors.CAMPAIGN_INVALID('send a JSON object');
    const img = await deps.images.get(input.firmwareId);
    if (!img.signed) throw firmwareErrors.FIRMWARE_NOT_SIGNED(`firmware ${img.id} is not signed; sign it or import the vendor's signature first`);
    if (await deps.isBlocked(img.sha256)) throw firmwareErrors.FIRMWARE_BLOCKED(`firmware ${img.id} (sha256 ${img.sha256}) matches a threat-intelligence indicator`);
    if (!deps.downloadBase()) throw firmwareErrors.FIRMWARE_HTTPS_REQUIRED();
    await verifyRelease(deps.tuf, imageRepo(img.vendor), img, deps.images.readBlob(img));

    const spec = {
      canaryPercent: pct(input.canaryPercent, 'canaryPercent', 10),
      waveSize: input.waveSize === undefined ? 0 : Number(input.waveSize),
      failureThresholdPercent: pct(input.failureThresholdPercent, 'failureThresholdPercent', 10),
      allowInsecure: input.allowInsecure === true,
      window: undefined as { start: string; end: string } | undefined,
      forced: undefined as { reason: string; by: string } | undefined,
    };
    if (!Number.isInteger(spec.waveSize) || spec.waveSize < 0 || spec.waveSize > 100_000) throw firmwareErrors.CAMPAIGN_INVALID('waveSize must be a positive integer');
    if (input.window !== undefined) {
      const start = Date.parse(input.window?.start);
      const end = Date.parse(input.window?.end);
      if (!Number.isFinite(start) || !Number.isFinite(end) || end <= start) throw firmwareErrors.CAMPAIGN_INVALID('window needs ISO-8601 start and end, end after start');
      if (end <= Date.now()) throw firmwareErrors.CAMPAIGN_INVALID('the maintenance window has already ended');
      spec.window = { start: new Date(start).toISOString(), end: new Date(end).toISOString() };
    }
    if (input.force !== undefined) {
      const reason = input.force?.reason;
      if (principal.role !== 'admin' || typeof reason !== 'string' || reason.trim().length < 3) throw firmwareErrors.CAMPAIGN_FORCE_FORBIDDEN();
      spec.forced = { reason: reason.trim().slice(0, 500), by: principal.name };
    }

    let targets: StationInfo[];
    if (Array.isArray(input.stationIds)) {
      if (input.stationIds.length === 0 || input.stationIds.length > 100_000) throw firmwareErrors.CAMPAIGN_INVALID('stationIds must list 1–100000 stations');
      targets = [];
      for (const id of new Set(input.stationIds)) {
        const s = typeof id === 'string' ? await deps.station(id) : undefined;
        if (!s) throw firmwareErrors.CAMPAIGN_INVALID(`unknown station ${String(id).slice(0, 48)}`);
        targets.push(s);
      }
    } else if (input.filter && typeof input.filter === 'object') {
      targets = (await deps.allStations()).filter((s) => matches(s, input.filter!));
      if (targets.length === 0) throw firmwareErrors.CAMPAIGN_INVALID('the filter matches no station');
    } else {
      throw firmwareErrors.CAMPAIGN_INVALID('send stationIds or a filter { vendor, model, version, tag }');
    }

    const busy = new Set(await store.campaignStations.busyStations(ACTIVE_CAMPAIGN, [...TERMINAL_STATES]));
    const refusals = new Map<string, string>();
    for (const s of targets) {
      if (busy.has(s.id)) refusals.set(s.id, 'already in an active campaign');
      else if (s.vendor && s.vendor !== img.vendor) refusals.set(s.id, `station vendor ${s.vendor} differs from the image vendor`);
      else if (s.model && !img.models.includes(s.model)) refusals.set(s.id, `image is not for model ${s.model}`);
      else if (s.firmwareVersion && compareVersions(img.version, s.firmwareVersion) < 0 && !spec.forced) refusals.set(s.id, `rollback refused: station runs ${s.firmwareVersion}, image is ${img.version}`);
      else if (s.firmwareVersion && compareVersions(img.version, s.firmwareVersion) === 0) refusals.set(s.id, 'already runs this version');
    }
    const eligible = targets.filter((s) => !refusals.has(s.id)).map((s) => s.id);
    const waveSize = spec.waveSize || Math.max(1, Math.ceil(eligible.length / 4));
    const rollout: RolloutSpec = { canaryPercent: spec.canaryPercent, waveSize, failureThresholdPercent: spec.failureThresholdPercent };
    const waves = planWaves(eligible, rollout);
    const id = randomUUID();
    const at = now();
    const fullSpec = { ...spec, waveSize };
    const initial: CampaignState = eligible.length === 0 ? 'completed' : input.paused ? 'paused' : 'running';
    await store.campaigns.insert({ id, firmware_id: img.id, state: initial, spec: JSON.stringify(fullSpec), current_wave: 0, halt_reason: null, created_by: principal.name, created_at: at, updated_at: at });
    for (const s of targets) {
      const refused = refusals.get(s.id);
      await store.campaignStations.insert({
        campaign_id: id, station_id: s.id, wave: refused ? -1 : waves.get(s.id)!, state: refused ? (refused.startsWith('already runs') ? 'skipped' : 'refused') : 'pending',
        request_id: randomInt(1, 2 ** 31 - 1), ocpp_status: null, detail: refused ?? null, insecure: 0, from_version: s.firmwareVersion ?? null,
        reported_version: null, install_at: null, updated_at: at,
      });
    }
    deps.bus.publish(Topics.firmwareCampaign, { campaignId: id, state: initial, firmwareId: img.id });
    await advance(id);
    return get(id);
  }

  /** Halts, moves to the next wave, dispatches and completes, as the rows say. */
  function advance(id: string): Promise<void> {
    if (deps.leads && !deps.leads()) return Promise.resolve();
    return serial(id, async () => {
      const c = await get(id);
      if (c.state === 'halted') return refreshHaltReason(c);
      if (c.state !== 'running') return;
      const list = c.stations.filter((s) => s.wave >= 0);
      if (c.spec.window && Date.parse(c.spec.window.end) <= Date.now()) {
        for (const s of list.filter((x) => x.state === 'pending')) await setStation(id, s.stationId, { state: 'skipped', detail: 'maintenance window closed before the station was reached' });
      }
      const fresh = await rows(id);
      const eligible = fresh.filter((s) => s.wave >= 0);
      const halt = haltReason(c, eligible);
      if (halt) {
        await setCampaign(c, 'halted', { halt_reason: halt });
        return;
      }
      if (eligible.every((s) => TERMINAL_STATES.has(s.state))) {
        await setCampaign(c, 'completed');
        return;
      }
      let wave = c.currentWave;
      const lastWave = Math.max(...eligible.map((s) => s.wave));
      for (;;) {
        const upTo = eligible.filter((s) => s.wave <= wave);
        const inWave = eligible.filter((s) => s.wave === wave);
        const settled = upTo.every((s) => TERMINAL_STATES.has(s.state) || (s.state === 'pending' && !deps.online(s.stationId)));
        const evidence = inWave.some((s) => TERMINAL_STATES.has(s.state)) || inWave.length === 0;
        if (!settled || !evidence || wave >= lastWave) break;
        wave++;
      }
      if (wave !== c.currentWave) await store.campaigns.update(id, { current_wave: wave, updated_at: now() });
      const inWindow = !c.spec.window || Date.parse(c.spec.window.start) <= Date.now() + 60_000 * 60;
      if (!inWindow) return;
      const img = await deps.images.get(c.firmwareId);
      for (const s of eligible.filter((x) => x.state === 'pending' && x.wave <= wave)) {
        const version = deps.online(s.stationId);
        if (!version) continue;
        await setStation(id, s.stationId, { state: 'sent' });
        void dispatch(c, img, s, version).catch((err) => deps.log?.warn({ err, stationId: s.stationId }, 'firmware dispatch failed'));
      }
    });
  }

  function tally(eligible: CampaignStation[]) {
    return {
      failed: eligible.filter((s) => s.state === 'failed').length,
      dispatched: eligible.filter((s) => s.state !== 'pending' && s.state !== 'skipped').length,
    };
  }

  /** Why the campaign must halt, judged on what happened since the last resume from a halt; undefined when it may go on. */
  function haltReason(c: Campaign, eligible: CampaignStation[]): string | undefined {
    const { failed, dispatched } = tally(eligible);
    const ack = c.spec.acknowledged ?? { failed: 0, dispatched: 0 };
    const newFailed = failed - ack.failed;
    const newDispatched = dispatched - ack.dispatched;
    if (!shouldHalt(newFailed, newDispatched, c.spec.failureThresholdPercent)) return undefined;
    const since = ack.dispatched > 0 ? ' since the last resume' : '';
    return `${newFailed} of ${newDispatched} stations dispatched${since} failed (threshold ${c.spec.failureThresholdPercent}%)`;
  }

  /** Updates in flight when the campaign halted still report: keep the stated reason true to the counts. */
  async function refreshHaltReason(c: Campaign): Promise<void> {
    const reason = haltReason(c, c.stations.filter((s) => s.wave >= 0));
    if (reason && reason !== c.haltReason) await store.campaigns.update(c.id, { halt_reason: reason, updated_at: now() });
  }

  async function dispatch(c: Campaign, img: FirmwareImage, s: CampaignStation, version: OcppVersion): Promise<void> {
    const base = deps.downloadBase();
    const info = await deps.station(s.stationId);
    const startMs = c.spec.window ? Math.max(Date.now(), Date.parse(c.spec.window.start)) : Date.now();
    const installAtMs = c.spec.window ? spreadInstallTime(startMs, Date.parse(c.spec.window.end)) : Date.now();
    const token = randomBytes(32).toString('base64url');
    const expires = Math.max(installAtMs, Date.now()) + config.downloadTtlS * 1000;
    await store.downloads.insert({ token_hash: createHash('sha256').update(token).digest('hex'), station_id: s.stationId, firmware_id: img.id, campaign_id: c.id, expires_at: new Date(expires).toISOString() });
    // Director metadata: exactly this image for this station and hardware.
    await deps.tuf.publish(`director/${s.stationId}`, 'director', [{
      path: img.targetPath, length: img.length, sha256: img.sha256,
      custom: { stationId: s.stationId, hardwareId: info?.model ?? img.models[0]!, vendor: img.vendor, version: img.version, releaseCounter: img.releaseCounter, requestId: s.requestId, allowDowngrade: !!c.spec.forced },
    }]);
    const location = `${base}/firmware/d/${token}/image/${img.targetPath}`;
    const retrieve = new Date().toISOString();
    const installAt = new Date(installAtMs).toISOString();
    const future = installAtMs > Date.now() + 1000;
    await setStation(c.id, s.stationId, { install_at: installAt });
    const commands = deps.commands(version);
    let res: { status?: string };
    try {
      const signed = await commands.updateFirmware(s.stationId, {
        requestId: s.requestId, retries: 3, retryInterval: 60,
        location, retrieveDateTime: retrieve, ...(future ? { installDateTime: installAt } : {}), signingCertificate: img.signingCertificate!, signature: img.signature!,
      });
      res = signed;
      if (signed.signedUnsupported) {
        // A station without signed updates (1.6 without the security extension) gets a plain one only when the campaign allows it.
        if (!c.spec.allowInsecure || !commands.updateFirmwareUnsigned) {
          await setStation(c.id, s.stationId, { state: 'failed', detail: `station lacks the OCPP ${version} security extension; allowInsecure not set` });
          return void advance(c.id);
        }
        await setStation(c.id, s.stationId, { insecure: 1, detail: `plain ${version} UpdateFirmware: no signature check on the station` });
        res = await commands.updateFirmwareUnsigned(s.stationId, { location, retrieveDate: future ? installAt : retrieve, retries: 3, retryInterval: 60 });
      }
    } catch (err: any) {
      const offline = err?.code === 'STATION_OFFLINE' || err?.code === 'STATION_CALL_TIMEOUT' || err?.code === 'STATION_BUSY';
      await setStation(c.id, s.stationId, offline ? { state: 'pending' } : { state: 'failed', detail: String(err?.message ?? err).slice(0, 300) });
      return void advance(c.id);
    }
    const status = String(res?.status ?? 'Rejected');
    if (status === 'Accepted' || status === 'AcceptedCanceled') return;
    await setStation(c.id, s.stationId, { state: 'failed', ocpp_status: status, detail: `station answered UpdateFirmware with ${status}` });
    await advance(c.id);
  }

  async function activeRow(stationId: string): Promise<{ campaignId: string; row: CampaignStationRow & { firmware_id: string } } | undefined> {
    const r = await store.campaignStations.latestFor(stationId, ACTIVE_STATION, [...ACTIVE_CAMPAIGN, 'aborted']);
    return r ? { campaignId: r.campaign_id, row: r } : undefined;
  }

  async function onStatus(e: { stationId: string; status: string; requestId?: number }): Promise<void> {
    const found = await activeRow(e.stationId);
    if (!found) return;
    const { campaignId } = found;
    await serial(campaignId, async () => {
      // Re-read under the campaign's lock: a boot report may have changed the row meanwhile.
      const row = (await activeRow(e.stationId))?.row;
      if (!row || row.campaign_id !== campaignId) return;
      if (e.requestId !== undefined && Number(row.request_id) !== e.requestId) return;
      const next = stateAfterStatus(e.status);
      const fields: CampaignStationUpdate = { ocpp_status: e.status };
      if (next === 'installed') {
        const img = await deps.images.get(row.firmware_id);
        const reported = row.reported_version as string | null;
        if (reported && reported !== img.version) Object.assign(fields, { state: 'failed', detail: `station booted with ${reported}, expected ${img.version}` });
        else Object.assign(fields, { state: reported ? 'succeeded' : 'installed' });
      } else if (next) {
        fields.state = next;
        if (next === 'failed') fields.detail = `station reported ${e.status}`;
      }
      await setStation(campaignId, e.stationId, fields);
    });
    await advance(campaignId);
  }

  async function onBoot(e: { stationId: string; firmwareVersion?: string }): Promise<void> {
    const found = await activeRow(e.stationId);
    if (!found) return;
    const { campaignId } = found;
    await serial(campaignId, async () => {
      const row = (await activeRow(e.stationId))?.row;
      if (!row || row.campaign_id !== campaignId || !['installing', 'installed', 'downloading'].includes(row.state)) return;
      const img = await deps.images.get(row.firmware_id);
      const fields: CampaignStationUpdate = { reported_version: e.firmwareVersion ?? null };
      if (row.state === 'installed') {
        Object.assign(fields, e.firmwareVersion === img.version ? { state: 'succeeded' } : { state: 'failed', detail: `station booted with ${e.firmwareVersion ?? 'no version'}, expected ${img.version}` });
      }
      await setStation(campaignId, e.stationId, fields);
    });
    await advance(campaignId);
  }

  async function transition(id: string, action: 'pause' | 'resume' | 'abort'): Promise<Campaign> {
    await serial(id, async () => {
      const c = await get(id);
      const allowed: Record<string, CampaignState[]> = { pause: ['running'], resume: ['paused', 'halted'], abort: ['running', 'paused', 'halted'] };
      if (!allowed[action]!.includes(c.state)) throw firmwareErrors.CAMPAIGN_STATE(`cannot ${action} a ${c.state} campaign`);
      if (action === 'abort') {
        for (const s of c.stations.filter((x) => x.state === 'pending')) await setStation(id, s.stationId, { state: 'skipped', detail: 'campaign aborted' });
      }
      let extra: CampaignUpdate = {};
      if (action === 'resume') {
        extra = { halt_reason: null };
        // Resuming a halted campaign accepts the failures so far; later ones are judged afresh.
        if (c.state === 'halted') extra.spec = JSON.stringify({ ...c.spec, acknowledged: tally(c.stations.filter((s) => s.wave >= 0)) });
      }
      await setCampaign(c, action === 'pause' ? 'paused' : action === 'resume' ? 'running' : 'aborted', extra);
    });
    await advance(id);
    return get(id);
  }

  const unsubscribe = [
    deps.bus.subscribe(Topics.firmwareStatus, (e) => void onStatus(e.data).catch((err) => deps.log?.warn({ err }, 'firmware status not applied'))),
    deps.bus.subscribe(Topics.stationBooted, (e) => void onBoot(e.data).catch((err) => deps.log?.warn({ err }, 'firmware boot check failed'))),
    deps.bus.subscribe(Topics.stationConnected, () => tickSoon()),
  ];
  // A campaign created or resumed on another node: the lead takes the next step at once, not at its next tick.
  if (deps.leads) {
    unsubscribe.push(deps.bus.subscribe(Topics.firmwareCampaign, (e) => {
      const id: unknown = e.data?.campaignId;
      if (typeof id === 'string' && id.length <= 64) void advance(id).catch((err) => deps.log?.warn({ err }, 'campaign step failed'));
    }));
  }
  async function tick() {
    if (deps.leads && !deps.leads()) return;
    const running = await store.campaigns.idsInState('running');
    for (const id of running) await advance(id).catch((err) => deps.log?.warn({ err }, 'campaign step failed'));
  }
  const timer = setInterval(() => void tick().catch(() => undefined), config.tickMs);
  timer.unref();
  // A station that comes online may be a campaign's next one: step soon, once for all the stations that connect
  // meanwhile (a reconnect storm of 100,000 stations makes a few ticks, not 100,000 reads of the running campaigns).
  let soon: NodeJS.Timeout | undefined;
  function tickSoon(): void {
    soon ??= setTimeout(() => {
      soon = undefined;
      void tick().catch((err) => deps.log?.warn({ err }, 'campaign step failed'));
    }, CONNECT_TICK_DELAY_MS).unref();
  }

  return {
    create,
    get,
    async list(): Promise<Omit<Campaign, 'stations'>[]> {
      const ids = await store.campaigns.recentIds(200);
      return Promise.all(ids.map(async (id) => {
        const { stations: _s, ...rest } = await get(id);
        return rest;
      }));
    },
    pause: (id: string) => transition(id, 'pause'),
    resume: (id: string) => transition(id, 'resume'),
    abort: (id: string) => transition(id, 'abort'),
    tick,
    close() {
      clearInterval(timer);
      clearTimeout(soon);
      for (const u of unsubscribe) u();
    },
  };
}

export type Campaigns = ReturnType<typeof createCampaigns>;
