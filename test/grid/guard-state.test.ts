/**
 * The guard's booked profiles: a booking counts until its last point or
 * step-up and not after, whether it ends first, last or is replaced, so
 * skipping prunes that could find nothing never leaves an ended one in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuardState } from '../../src/grid/guard-state.js';

const book = (state: GuardState, stationId: string, endMs: number, nowMs: number, key = 'p1') =>
  state.apply({ k: 'book', stationId, key, points: [{ atMs: nowMs + 1, w: 1000 }, { atMs: endMs, w: 0 }], ups: [] }, nowMs);
const booked = (state: GuardState, nowMs: number) =>
  state.bookingsAt(() => true, { stationId: '', key: '' }, nowMs).map((b) => b.points.at(-1)!.atMs).sort((a, b) => a - b);

test('bookings leave the guard exactly when they end, in any order of booking', () => {
  const state = new GuardState(0);
  book(state, 'A', 200, 0);
  book(state, 'B', 100, 0);
  assert.deepEqual(booked(state, 50), [100, 200]);
  // B ends first although it was booked last.
  assert.deepEqual(booked(state, 100), [200]);
  // A booking made later that ends earlier than every other still ends on time.
  book(state, 'C', 150, 120);
  assert.deepEqual(booked(state, 149), [150, 200]);
  assert.deepEqual(booked(state, 150), [200]);
  // Replaced by a longer one: the earlier end no longer applies.
  book(state, 'A', 400, 160);
  assert.deepEqual(booked(state, 300), [400]);
  assert.deepEqual(booked(state, 400), []);
  // After everything ended, a new booking counts again.
  book(state, 'D', 500, 450);
  assert.deepEqual(booked(state, 460), [500]);
});
