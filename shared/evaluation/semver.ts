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
 * stall an isolate). This one accepts the same language with the same groups and runs
 * in linear time: a prerelease is words joined by single dots, optionally ending in one.
 */
export const VERSION_PATTERN = /^(\d+)\.(\d+)(\.(\d+)(-(?:[-\w]+(?:\.[-\w]+)*\.?)?)?)?$/;

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

function parseUncached(text: string): SemanticVersion | undefined {
  if (!text) return undefined;
  const match = VERSION_PATTERN.exec(text);
  if (!match) return undefined;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  if (Number.isNaN(major) || Number.isNaN(minor)) return undefined;
  return Object.freeze({ major, minor, patch: Number(match[4]) || 0, preRelease: match[5] || undefined });
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
