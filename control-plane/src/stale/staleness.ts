/**
 * Which flags are dead: a flag is stale when, over the last 30 days, it has served one
 * variant to everyone (its code path can be inlined) or has not been evaluated at all (its
 * code path is gone or never runs). Decided from the edge's evaluation counts per day, a
 * pure function of the counts, the flag and the clock, so tests move the clock by hand.
 */
import type { Flag } from "../../../shared/authoring/schema.js";

export const STALE_AFTER_DAYS = 30;
/** The variant counted for an evaluation that served no variant (off, excluded, out of rollout). */
export const NO_VARIANT = "(default)";

/** One day's evaluations of a flag on one deployment, by variant served. */
export interface DailyCount {
  flag: string;
  deployment: string;
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  variants: Record<string, number>;
}

export type StaleReason = "single_variant" | "not_evaluated";

export interface Staleness {
  flag: string;
  stale: boolean;
  reason?: StaleReason;
  /** Human-readable: why. */
  message?: string;
  lastEvaluatedDay?: string;
  /** Evaluations by variant over the window. */
  variants: Record<string, number>;
}

export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const DAY_MS = 86_400_000;

/** The staleness of `flag` at `now`, from its daily counts (any window; older days are ignored). */
export function staleness(flag: Flag, counts: readonly DailyCount[], now: number): Staleness {
  const windowStart = dayOf(now - STALE_AFTER_DAYS * DAY_MS);
  const mine = counts.filter((c) => c.flag === flag.key);
  const recent = mine.filter((c) => c.day > windowStart);
  const variants: Record<string, number> = {};
  for (const day of recent)
    for (const [variant, n] of Object.entries(day.variants)) variants[variant] = (variants[variant] ?? 0) + n;
  const lastEvaluatedDay = mine
    .map((c) => c.day)
    .sort()
    .at(-1);
  const base = { flag: flag.key, variants, ...(lastEvaluatedDay ? { lastEvaluatedDay } : {}) };
  // Archived flags are retired already; a flag younger than the window has not had its chance.
  const oldEnough = Date.parse(flag.createdAt) <= now - STALE_AFTER_DAYS * DAY_MS;
  if (flag.status === "archived" || !oldEnough) return { ...base, stale: false };
  const served = Object.entries(variants).filter(([, n]) => n > 0);
  if (served.length === 0)
    return {
      ...base,
      stale: true,
      reason: "not_evaluated",
      message: `not evaluated for ${STALE_AFTER_DAYS} days${lastEvaluatedDay ? ` (last on ${lastEvaluatedDay})` : ""}`,
    };
  // One variant to everyone, for the whole window: evaluated since before it began.
  const firstDay = mine.map((c) => c.day).sort()[0]!;
  if (served.length === 1 && firstDay <= windowStart)
    return {
      ...base,
      stale: true,
      reason: "single_variant",
      message: `served only ${served[0]![0]} for ${STALE_AFTER_DAYS} days`,
    };
  return { ...base, stale: false };
}
