/**
 * The version ordering used by the `version …` operators, as the Amplitude engine
 * defines it: `major.minor[.patch[-prerelease]]`, a missing patch is 0, a prerelease
 * sorts before its release, and two prereleases compare as plain strings (not by
 * SemVer 2.0 identifier rules: parity with the reference engine wins over the spec).
 */
export interface SemanticVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly preRelease: string | undefined;
}

/**
 * The reference engine's pattern is `^(\d+)\.(\d+)(\.(\d+)(-(([-\w]+\.?)*))?)?$`, whose nested
 * quantifier backtracks exponentially on inputs like `1.0.0-aaaa…!` (a request could
 * stall an isolate). parseUncached accepts the same language with the same groups by one
 * pass over the text (semver.test.ts holds it to the pattern): a prerelease is words
 * joined by single dots, optionally ending in one. Not a regex: a fresh isolate compiles a
 * regex on its first test and again on its second (V8's tier-up), about 0.25 ms for this
 * one, on the first evaluation of every cold start.
 */

// Version strings repeat across users (app versions), so parses are cached, boundedly; the
// last one apart, since one evaluation compares the same value against several flags' filters.
const parsed = new Map<string, SemanticVersion | null>();
const MAX_CACHED = 4096;
let lastText: string | undefined;
let lastVersion: SemanticVersion | undefined;

export function parseVersion(text: string): SemanticVersion | undefined {
  if (text === lastText) return lastVersion;
  let version: SemanticVersion | undefined;
  const cached = parsed.get(text);
  if (cached !== undefined) version = cached ?? undefined;
  else {
    version = parseUncached(text);
    if (parsed.size >= MAX_CACHED) parsed.clear();
    parsed.set(text, version ?? null);
  }
  lastText = text;
  lastVersion = version;
  return version;
}

/** Where the run of ASCII digits from `from` ends. */
function digitsEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    i++;
  }
  return i;
}

/** `([-\w]+\.?)*` from `from` to the end: word characters and `-`, single dots between or after them. */
function isPreRelease(text: string, from: number): boolean {
  let afterDot = true; // no dot first, nor two in a row
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (afterDot) return false;
      afterDot = true;
    } else if (
      (c >= 48 && c <= 57) ||
      (c >= 65 && c <= 90) ||
      (c >= 97 && c <= 122) ||
      c === 95 /* _ */ ||
      c === 45 /* - */
    )
      afterDot = false;
    else return false;
  }
  return true;
}

function parseUncached(text: string): SemanticVersion | undefined {
  const majorEnd = digitsEnd(text, 0);
  if (majorEnd === 0 || text.charCodeAt(majorEnd) !== 46 /* . */) return undefined;
  const minorEnd = digitsEnd(text, majorEnd + 1);
  if (minorEnd === majorEnd + 1) return undefined;
  const major = Number(text.slice(0, majorEnd));
  const minor = Number(text.slice(majorEnd + 1, minorEnd));
  let patch = 0;
  let preRelease: string | undefined;
  if (minorEnd < text.length) {
    if (text.charCodeAt(minorEnd) !== 46) return undefined;
    const patchEnd = digitsEnd(text, minorEnd + 1);
    if (patchEnd === minorEnd + 1) return undefined;
    patch = Number(text.slice(minorEnd + 1, patchEnd));
    if (patchEnd < text.length) {
      if (text.charCodeAt(patchEnd) !== 45 /* - */ || !isPreRelease(text, patchEnd + 1)) return undefined;
      preRelease = text.slice(patchEnd); // with its "-", as the reference's group 5
    }
  }
  return Object.freeze({ major, minor, patch, preRelease });
}

export function compareVersions(a: SemanticVersion, b: SemanticVersion): number {
  if (a.major !== b.major) return a.major > b.major ? 1 : -1;
  if (a.minor !== b.minor) return a.minor > b.minor ? 1 : -1;
  if (a.patch !== b.patch) return a.patch > b.patch ? 1 : -1;
  if (a.preRelease && !b.preRelease) return -1;
  if (!a.preRelease && b.preRelease) return 1;
  if (a.preRelease && b.preRelease && a.preRelease !== b.preRelease) return a.preRelease > b.preRelease ? 1 : -1;
  return 0;
}
