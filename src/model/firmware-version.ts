/**
 * The one order of firmware versions, used by campaigns (rollback refusal,
 * "already runs this version"), the assessment's advisories (`fixedIn`) and
 * the simulated station's own rollback check.
 *
 * Two versions that are both semantic versions (semver.org 2.0.0; a leading
 * "v" is allowed) are ordered by the `semver` package: numeric fields as
 * numbers, a pre-release below its release ("2.0.0-rc.1" < "2.0.0"),
 * pre-release identifiers in ASCII order, and build metadata ignored
 * ("1.0.0+b1" equals "1.0.0+b2").
 *
 * Anything else (vendors' "1.0", "R2.1", "2024.1", "1.0.0_patch") is ordered
 * token by token: the string is cut into runs of digits and runs of letters
 * (other characters only separate), digit runs compare as numbers, letter
 * runs in ASCII order, a number sorts before letters, and a version that runs
 * out of tokens first is the lower one ("1.0" < "1.0.0"). Separators, leading
 * zeros and a leading "v" do not count: "1.2.3" equals "1-2-3", "1.02" equals
 * "1.2". A semantic version compared with a string that is not one uses this
 * token order too; it knows no pre-releases, so across the two kinds the
 * order need not be transitive ("1.0.0-rc1" < "1.0.0" by semver, but
 * "1.0.0-rc1" > "1.0.0.1" > "1.0.0" by tokens). A fleet names its versions
 * one way; mixing the two is the vendor's problem to avoid.
 */
import semver from 'semver';

export function compareVersions(a: string, b: string): number {
  const sa = semver.parse(a);
  const sb = semver.parse(b);
  if (sa && sb) return sa.compare(sb);
  return compareTokens(tokens(a), tokens(b));
}

function tokens(v: string): (number | string)[] {
  return (v.replace(/^[vV](?=\d)/, '').match(/\d+|[A-Za-z]+/g) ?? []).map((t) => (/^\d/.test(t) ? Number(t) : t));
}

function compareTokens(pa: (number | string)[], pb: (number | string)[]): number {
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return Math.sign(x - y);
    if (typeof x === 'number') return -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}
