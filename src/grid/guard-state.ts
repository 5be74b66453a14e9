/**
 * What the grid guard remembers between decisions: headroom reserved for
 * commands whose effect the stations have not reported yet, the ramp
 * accounting, the profile step-ups booked for later, the log of stations
 * commanded (for the mass-action rule) and the operators' approvals. Every
 * change except an approval's use arrives as a ledger entry (ledger.ts), so
 * that in a cluster every node's copy is the same.
 */
import type { LedgerEntry } from './ledger.js';
import { RampScheduler } from './ramp.js';
import type { ProfileTimeline } from './schedule.js';

export interface Reservation { stationId: string; w: number; untilMs: number; kind: 'start' | 'limit' }

export interface Approval {
  id: string;
  state: 'pending' | 'approved' | 'expired' | 'used';
  requestedBy: string;
  approvedBy?: string;
  reason: string;
  /** Stations the approved mass action may still command. */
  stations: number;
  remaining: number;
  createdAt: string;
  expiresAt: string;
}

/** A profile's future contribution: its step points and the step-ups the ramp guard spaces. */
export type Booking = Pick<ProfileTimeline, 'points' | 'ups'>;

/** Bounds on what hostile or runaway commands can make the guard remember. */
const MAX_RESERVATIONS = 100_000;
const MAX_MASS_LOG = 100_000;
const MAX_BOOKED_POINTS = 500_000;
const MAX_PROFILES_PER_STATION = 64;

const sizeOf = (b: Booking | undefined) => (b ? b.points.length + b.ups.length : 0);
const lastMs = (b: Booking) => Math.max(b.points.at(-1)?.atMs ?? -Infinity, ...b.ups.map((u) => u.atMs + (u.spreadMs ?? 0)));

export class GuardState {
  readonly ramp: RampScheduler;
  readonly reservations: Reservation[] = [];
  readonly approvals = new Map<string, Approval>();
  readonly #massLog: { stationId: string; atMs: number }[] = [];
  /** stationId → profile key → future contribution. */
  readonly #booked = new Map<string, Map<string, Booking>>();
  #bookedPoints = 0;
  /**
   * No booking ends before this: pruning before it would find nothing, so it
   * is skipped (every command and every booking used to walk all bookings; a
   * reconnect storm resuming thousands of profiles made that quadratic).
   */
  #nextEndMs = Infinity;

  constructor(rampToleranceMs: number) {
    this.ramp = new RampScheduler(rampToleranceMs);
  }

  /** Applies one ledger entry (this node's or, in a cluster, another node's). */
  apply(e: LedgerEntry, nowMs: number): void {
    switch (e.k) {
      case 'mass':
        this.#massLog.push({ stationId: e.stationId, atMs: e.atMs });
        if (this.#massLog.length > MAX_MASS_LOG) this.#massLog.shift();
        break;
      case 'ramp':
        this.ramp.commit(e.levels, e.deltaW, e.startMs);
        this.ramp.prune(nowMs);
        break;
      case 'book':
        this.#book(e.stationId, e.key, { points: e.points, ups: e.ups }, nowMs);
        break;
      case 'clear':
        this.#clear(e.stationId, e.id);
        break;
      case 'reserve':
        if (e.untilMs > nowMs && this.reservations.length < MAX_RESERVATIONS) this.reservations.push({ stationId: e.stationId, w: e.w, untilMs: e.untilMs, kind: e.kind });
        break;
    }
  }

  expireReservations(nowMs: number): void {
    for (let i = this.reservations.length - 1; i >= 0; i--) if (this.reservations[i]!.untilMs <= nowMs) this.reservations.splice(i, 1);
  }

  /** The station now reports what a start (or a new limit) did: that reservation has served. */
  settleReservation(stationId: string, started: boolean): void {
    const at = this.reservations.findIndex((r) => r.stationId === stationId && (started ? r.kind === 'start' : r.kind !== 'start'));
    if (at >= 0) this.reservations.splice(at, 1);
  }

  reservedW(match: (stationId: string) => boolean): number {
    let w = 0;
    for (const r of this.reservations) if (match(r.stationId)) w += r.w;
    return w;
  }

  /** Bookings of the stations `match` selects, leaving out the one profile a new command replaces. */
  bookingsAt(match: (stationId: string) => boolean, replacing: { stationId: string; key: string }, nowMs: number): Booking[] {
    this.#prune(nowMs);
    const out: Booking[] = [];
    for (const [sid, profiles] of this.#booked) {
      if (!match(sid)) continue;
      for (const [k, b] of profiles) if (!(sid === replacing.stationId && k === replacing.key)) out.push(b);
    }
    return out;
  }

  /**
   * Whether commanding `stationId` keeps the distinct stations commanded in the
   * window within `threshold`, or an approved mass action covers it (using
   * one of its stations).
   */
  massAllowed(stationId: string, nowMs: number, windowMs: number, threshold: number): boolean {
    while (this.#massLog.length && this.#massLog[0]!.atMs <= nowMs - windowMs) this.#massLog.shift();
    const distinct = new Set(this.#massLog.map((m) => m.stationId));
    if (distinct.has(stationId)) return true;
    if (distinct.size + 1 <= threshold) return true;
    for (const a of this.approvals.values()) {
      if (a.state === 'approved' && Date.parse(a.expiresAt) <= nowMs) a.state = 'expired';
      if (a.state === 'approved' && a.remaining > 0) {
        a.remaining--;
        if (a.remaining === 0) a.state = 'used';
        return true;
      }
    }
    return false;
  }

  #prune(nowMs: number): void {
    if (nowMs < this.#nextEndMs) return;
    let next = Infinity;
    for (const [stationId, profiles] of this.#booked) {
      for (const [key, b] of profiles) {
        const end = lastMs(b);
        if (end <= nowMs) {
          this.#bookedPoints -= sizeOf(b);
          profiles.delete(key);
        } else if (end < next) next = end;
      }
      if (!profiles.size) this.#booked.delete(stationId);
    }
    this.#nextEndMs = next;
  }

  #book(stationId: string, key: string, t: Booking, nowMs: number): void {
    this.#prune(nowMs);
    let profiles = this.#booked.get(stationId);
    this.#bookedPoints -= sizeOf(profiles?.get(key));
    profiles?.delete(key);
    const b: Booking = { points: t.points, ups: t.ups };
    if (!t.points.length || this.#bookedPoints + sizeOf(b) > MAX_BOOKED_POINTS) return;
    if (!profiles) this.#booked.set(stationId, (profiles = new Map()));
    if (profiles.size >= MAX_PROFILES_PER_STATION) return; // hostile churn of profile ids; the oldest bookings stay
    profiles.set(key, b);
    this.#bookedPoints += sizeOf(b);
    this.#nextEndMs = Math.min(this.#nextEndMs, lastMs(b));
  }

  /** `id` undefined clears every profile of the station. */
  #clear(stationId: string, id: string | undefined): void {
    const profiles = this.#booked.get(stationId);
    if (!profiles) return;
    for (const [key, b] of profiles) {
      if (id === undefined || id === key) {
        this.#bookedPoints -= sizeOf(b);
        profiles.delete(key);
      }
    }
    if (!profiles.size) this.#booked.delete(stationId);
  }
}
