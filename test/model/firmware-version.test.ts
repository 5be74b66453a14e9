/**
 * The one firmware version order (src/model/firmware-version.ts). Campaigns,
 * the assessment and the simulator each had a copy before, and the copies
 * disagreed on the cases marked below.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions } from '../../src/model/firmware-version.js';

const sign = (a: string, b: string) => Math.sign(compareVersions(a, b));

function ordered(lower: string, higher: string) {
  assert.equal(sign(lower, higher), -1, `${lower} < ${higher}`);
  assert.equal(sign(higher, lower), 1, `${higher} > ${lower}`);
}
function same(a: string, b: string) {
  assert.equal(sign(a, b), 0, `${a} = ${b}`);
  assert.equal(sign(b, a), 0, `${b} = ${a}`);
}

test('semantic versions follow semver: numeric fields, pre-releases below their release, build metadata ignored', () => {
  ordered('1.9.3', '1.10.0');
  ordered('1.0.0', '1.0.1');
  // Every old copy put a release candidate above its release (the suffix made it "longer").
  ordered('2.0.0-rc1', '2.0.0');
  ordered('1.0.0-alpha', '1.0.0-alpha.1');
  ordered('1.0.0-alpha.1', '1.0.0-beta');
  ordered('1.0.0-rc.2', '1.0.0-rc.10');
  // A leading v is part of semver's grammar; the old copies compared "v1" as text and put v1.2.0 above 1.10.0.
  ordered('v1.2.0', '1.10.0');
  same('v1.2.3', '1.2.3');
  // Old copies: campaigns and the simulator said -1 (different builds), the assessment -1 too; semver ignores build metadata.
  same('1.0.0+b1', '1.0.0+b2');
  // Pre-release identifiers in ASCII order: the assessment called these equal (case-insensitive), campaigns put RC1 above rc1.
  ordered('1.0.0-RC1', '1.0.0-rc1');
  same('1.2.3', '1.2.3');
});

test('other version strings are ordered token by token: digit runs as numbers, letter runs in ASCII order', () => {
  ordered('1.9', '1.10');
  ordered('2023.12', '2024.1');
  // A version that runs out of tokens first is the lower one.
  ordered('1.0', '1.0.0');
  ordered('1.0.0', '1.0.0_patch');
  ordered('1.0a', '1.0b');
  // Campaigns and the simulator compared "R2" and "R10" as text (R10 first); the assessment as numbers. Numbers win.
  ordered('R2.1', 'R10.1');
  // A number sorts before letters.
  ordered('1.0.1', '1.0.a');
  // Separators and leading zeros do not count: campaigns and the simulator agreed, the assessment did not (1-2-3 above 1.2.3).
  same('1.2.3', '1-2-3');
  same('1.02', '1.2');
  // ASCII order: the assessment called these equal; campaigns (localeCompare) put A1 above a1.
  ordered('A1', 'a1');
});

test('a semantic version against a non-semantic one falls back to the token order', () => {
  ordered('1.0', '1.0.0');
  ordered('1.2.3', '1.2.3.1');
  same('1.2.3', '1_2_3');
  // A leading v does not count on either side.
  ordered('v1.0.0', '1.20');
});

test('a list of either kind sorts as expected', () => {
  assert.deepEqual(['2.0.0', '1.10.0', '1.9.3', '2.0.0-rc.1', 'v1.0.0', '1.0.0-beta'].sort(compareVersions), ['1.0.0-beta', 'v1.0.0', '1.9.3', '1.10.0', '2.0.0-rc.1', '2.0.0']);
  assert.deepEqual(['R10.1', '1.0', 'R2.1', '1.0.0_patch', '2024.1', 'v1.1'].sort(compareVersions), ['1.0', '1.0.0_patch', 'v1.1', '2024.1', 'R2.1', 'R10.1']);
});
