/**
 * Registered stations: create, read, update, delete, rotate password. Keeps a
 * short-lived in-memory copy of what the handshake needs so a reconnect storm
 * does not become a database storm. The copy is the store's, never trusted
 * longer than STALE_BOUND_MS, and dropped on every node when a
 * `station.changed` event says the station's security state changed.
 */
import { randomUUID } from 'node:crypto';
import type { Bus } from '../bus/index.js';
import { BoundedCache, onChange, publishChange, STALE_BOUND_MS } from '../bus/changes.js';
import { fromJson, toJson } from '../store/index.js';
import { isValidStationId } from '../model/station-id.js';
import { stationErrors } from './errors.js';
import { generatePassword, hashPassword, passwordProblem } from './credentials.js';
import type { StationRow, StationsStore, StationUpdate } from './store.js';

export type SecurityProfile = 1 | 2 | 3;
export type Registration = 'Accepted' | 'Pending' | 'Rejected';

export interface StationRecord {
  id: string;
  securityProfile: SecurityProfile;
  registration: Registration;
  ocppVersion?: string;
  vendor?: string;
  model?: string;
  serialNumber?: string;
  firmwareVersion?: string;
  tags: string[];
  quarantined: boolean;
  lastBootAt?: string;
  lastSeenAt?: string;
  createdAt: string;
  updatedAt: string;
}

/** What the handshake needs; never leaves the process. */
export interface StationSecret {
  record: StationRecord;
  passwordHash?: string;
}

/** What a live session is admitted under, and re-checked against (sessions.ts). */
export interface SecurityState {
  passwordHash?: string;
  securityProfile: SecurityProfile;
  registration: Registration;
  quarantined: boolean;
}

export const securityStateOf = (s: StationSecret): SecurityState => ({ passwordHash: s.passwordHash, securityProfile: s.record.securityProfile, registration: s.record.registration, quarantined: s.record.quarantined });

export interface NewStation {
  id: string;
  securityProfile: SecurityProfile;
  password?: string;
  registration?: Registration;
  tags?: string[];
}

function toRecord(row: StationRow): StationRecord {
  return {
    id: row.id,
    securityProfile: Number(row.security_profile) as SecurityProfile,
    registration: row.registration as Registration,
    ocppVersion: row.ocpp_version ?? undefined,
    vendor: row.vendor ?? undefined,
    model: row.model ?? undefined,
    serialNumber: row.serial_number ?? undefined,
    firmwareVersion: row.firmware_version ?? undefined,
    tags: fromJson<string[]>(row.tags) ?? [],
    quarantined: Number(row.quarantined) === 1,
    lastBootAt: row.last_boot_at ?? undefined,
    lastSeenAt: row.last_seen_at ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** A station counts as known at an address where it authenticated within this time. */
const KNOWN_ADDRESS_MS = 30 * 86_400_000;
/** A station's known address is written at most this often per station (a reconnect storm writes nothing new). */
const REMEMBER_EVERY_MS = 3600_000;

/**
 * A station's last-seen time is written at most this often: the time the API
 * shows (on every node, read from the store) is at most this much behind
 * while the station keeps talking, and never moves backwards. Stations
 * heartbeat every few minutes, so in normal operation every heartbeat is
 * written; a station heartbeating in a tight loop costs one write per bound,
 * not one per message.
 */
export const LAST_SEEN_WRITE_EVERY_MS = 30_000;

/** Columns whose change can revoke what a station was admitted with; a change to any of them is announced. */
const SECURITY_COLUMNS = new Set(['password_hash', 'security_profile', 'registration', 'quarantined']);

export function createRegistry(store: StationsStore, bus: Bus) {
  // Bounded so that probing random ids cannot grow memory without limit.
  const cache = new BoundedCache<StationSecret | null>(STALE_BOUND_MS, 200_000);
  const known = new BoundedCache<boolean>(STALE_BOUND_MS, 100_000);
  const remembered = new BoundedCache<string>(REMEMBER_EVERY_MS, 200_000);
  const lastSeenWritten = new BoundedCache<true>(LAST_SEEN_WRITE_EVERY_MS, 200_000);
  onChange(bus, 'station.changed', (c) => {
    if (typeof c.stationId !== 'string') return;
    cache.delete(c.stationId);
    remembered.delete(c.stationId);
    // A re-created station starts afresh: its first message is written.
    if (c.change !== 'updated') lastSeenWritten.delete(c.stationId);
  });
  const knownKey = (id: string, address: string) => `${id}\u0000${address}`;

  /** A rotated password or a deleted station starts afresh: where the old credential was used proves nothing now. */
  async function forgetAddresses(id: string) {
    await store.addresses.forget(id);
    remembered.delete(id);
  }
  const changed = (stationId: string, change: 'created' | 'updated' | 'deleted') => publishChange(bus, 'station.changed', { stationId, change }, stationId);

  const secretOf = (row: StationRow): StationSecret => ({ record: toRecord(row), passwordHash: row.password_hash ?? undefined });

  async function secret(id: string): Promise<StationSecret | undefined> {
    const hit = cache.get(id);
    if (hit !== undefined) return hit ?? undefined;
    return fresh(id);
  }

  /** Reads the store, bypassing (and refreshing) the cache. */
  async function fresh(id: string): Promise<StationSecret | undefined> {
    const epoch = cache.epoch;
    const askedAt = cache.clock();
    const row = await store.stations.get(id);
    const value = row ? secretOf(row) : null;
    cache.set(id, value, epoch, askedAt);
    return value ?? undefined;
  }

  async function get(id: string): Promise<StationRecord> {
    const s = await secret(id);
    if (!s) throw stationErrors.STATION_UNKNOWN(`No station with id ${id}`);
    return s.record;
  }

  async function update(id: string, fields: StationUpdate): Promise<StationRecord> {
    const found = await store.stations.update(id, { ...fields, updated_at: new Date().toISOString() });
    cache.delete(id);
    if (!found) throw stationErrors.STATION_UNKNOWN(`No station with id ${id}`);
    if (Object.keys(fields).some((k) => SECURITY_COLUMNS.has(k))) changed(id, 'updated');
    return get(id);
  }

  return {
    secret,
    fresh,
    /**
     * The security state of many stations, read from the store now (absent ids
     * are deleted stations), for re-checking every live session. Only the
     * columns that can revoke a session are read, and the cache is left
     * alone: at tens of thousands of sessions every few seconds, whole
     * records (tags parsed, cache entries replaced) were most of the sweep's
     * cost and a steady stream of long-lived garbage.
     */
    async securityStates(ids: readonly string[]): Promise<Map<string, SecurityState>> {
      const out = new Map<string, SecurityState>();
      for (let i = 0; i < ids.length; i += 500) {
        // SQLite answers synchronously: without a turn of the event loop between
        // chunks, a sweep of 20,000 live sessions would hold every station's message.
        if (i > 0) await new Promise((r) => setImmediate(r));
        for (const row of await store.stations.securityStates(ids.slice(i, i + 500))) {
          out.set(row.id, { passwordHash: row.password_hash ?? undefined, securityProfile: Number(row.security_profile) as SecurityProfile, registration: row.registration as Registration, quarantined: Number(row.quarantined) === 1 });
        }
      }
      return out;
    },
    get,
    update,
    async create(input: NewStation): Promise<{ station: StationRecord; password?: string }> {
      if (typeof input.id !== 'string' || !isValidStationId(input.id)) {
        throw stationErrors.STATION_ID_INVALID('id must be 1–48 characters of A–Z a–z 0–9 * - _ = + | @ . (no colon; not "." or ".." alone)');
      }
      if (![1, 2, 3].includes(input.securityProfile)) throw stationErrors.SECURITY_PROFILE_INVALID('securityProfile must be 1, 2 or 3');
      let password = input.password;
      if (input.securityProfile === 3) {
        if (password !== undefined) throw stationErrors.PASSWORD_INVALID('security profile 3 uses a client certificate; send no password');
      } else if (password === undefined) {
        password = generatePassword();
      } else {
        const problem = passwordProblem(password);
        if (problem) throw stationErrors.PASSWORD_INVALID(problem);
      }
      const now = new Date().toISOString();
      try {
        await store.stations.insert({
          id: input.id,
          security_profile: input.securityProfile,
          password_hash: password ? await hashPassword(password, input.password === undefined ? 'generated' : 'chosen') : null,
          registration: input.registration ?? 'Accepted',
          tags: toJson(input.tags ?? []),
          created_at: now,
          updated_at: now,
        });
      } catch (err) {
        if (/unique|duplicate|primary key/i.test(String((err as Error).message))) throw stationErrors.STATION_EXISTS(`Station ${input.id} already exists`);
        throw err;
      }
      cache.delete(input.id);
      changed(input.id, 'created');
      // The generated password is returned once and never stored in clear.
      return { station: await get(input.id), password: input.password === undefined ? password : undefined };
    },
    async list(q: { limit?: number; offset?: number } = {}): Promise<StationRecord[]> {
      const rows = await store.stations.list(q.limit ?? 1000, q.offset ?? 0);
      return rows.map(toRecord);
    },
    async remove(id: string): Promise<void> {
      const existed = await store.stations.remove(id);
      cache.delete(id);
      if (!existed) throw stationErrors.STATION_UNKNOWN(`No station with id ${id}`);
      await forgetAddresses(id);
      changed(id, 'deleted');
    },
    async rotatePassword(id: string, password?: string): Promise<string> {
      const station = await get(id);
      if (station.securityProfile === 3) throw stationErrors.PASSWORD_INVALID('security profile 3 stations have no password');
      const next = password ?? generatePassword();
      const problem = passwordProblem(next);
      if (problem) throw stationErrors.PASSWORD_INVALID(problem);
      const hash = await hashPassword(next, password === undefined ? 'generated' : 'chosen');
      await forgetAddresses(id);
      await update(id, { password_hash: hash });
      return next;
    },
    async setProfile(id: string, securityProfile: SecurityProfile): Promise<StationRecord> {
      if (![1, 2, 3].includes(securityProfile)) throw stationErrors.SECURITY_PROFILE_INVALID('securityProfile must be 1, 2 or 3');
      return update(id, { security_profile: securityProfile });
    },
    async setQuarantined(id: string, quarantined: boolean): Promise<StationRecord> {
      return update(id, { quarantined: quarantined ? 1 : 0 });
    },
    async recordBoot(id: string, fields: { vendor: string; model: string; serialNumber?: string; firmwareVersion?: string; ocppVersion: string }) {
      const now = new Date().toISOString();
      return update(id, {
        vendor: fields.vendor,
        model: fields.model,
        serial_number: fields.serialNumber ?? null,
        firmware_version: fields.firmwareVersion ?? null,
        ocpp_version: fields.ocppVersion,
        last_boot_at: now,
        last_seen_at: now,
      });
    },
    /** The station was heard from: its last-seen time (written at most every LAST_SEEN_WRITE_EVERY_MS), and the OCPP version it speaks (always written). */
    async touch(id: string, ocppVersion?: string) {
      if (ocppVersion === undefined && lastSeenWritten.get(id) !== undefined) return;
      const now = new Date().toISOString();
      await store.stations.touch(id, now, ocppVersion);
      lastSeenWritten.set(id, true);
      // The cached copy shows what is stored, so the time read here never runs ahead of the store and then back.
      const hit = cache.get(id);
      if (hit) hit.record.lastSeenAt = now;
    },
    newReportId: () => randomUUID(),
    /** The station authenticated from this address (kept per station and address, written at most hourly). */
    async rememberAddress(id: string, address: string): Promise<void> {
      if (!address || remembered.get(id) === address) return;
      remembered.set(id, address);
      const now = new Date().toISOString();
      await store.addresses.remember(id, address.slice(0, 64), now);
    },
    /** Whether the station authenticated from this address within the last 30 days (cached for at most STALE_BOUND_MS). */
    async knownAt(id: string, address: string): Promise<boolean> {
      const key = knownKey(id, address);
      const hit = known.get(key);
      if (hit !== undefined) return hit;
      const since = new Date(Date.now() - KNOWN_ADDRESS_MS).toISOString();
      const isKnown = await store.addresses.knownSince(id, address.slice(0, 64), since);
      known.set(key, isKnown);
      return isKnown;
    },
  };
}

export type Registry = ReturnType<typeof createRegistry>;
