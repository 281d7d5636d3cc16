/**
 * JSON Merge Patch (RFC 7396): objects merge key by key, `null` removes a key, anything
 * else (arrays included) replaces. A PATCH names only what changes, so a field left out
 * can never be reset to a default by mistake.
 */
import { isRecord } from "../../../shared/is-record.js";

/** The patch without its removals (what must survive validation). */
export function withoutNulls(patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  return Object.fromEntries(
    Object.entries(patch)
      .filter(([, value]) => value !== null)
      .map(([key, value]) => [key, withoutNulls(value)]),
  );
}

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  const result: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}
