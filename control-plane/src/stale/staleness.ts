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
  /** How long it has been so: whole days serving that one variant, or since the last evaluation (or creation). */
  days?: number;
  /** Human-readable: why, with how long ("one variant to everyone for 34 days (on)"). */
  message?: string;
  lastEvaluatedDay?: string;
  /** Evaluations by variant over the window. */
  variants: Record<string, number>;
}

export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const DAY_MS = 86_400_000;
/** Whole days from the start of `day` (UTC) to `now`. */
const daysSince = (day: string, now: number) => Math.floor((now - Date.parse(day)) / DAY_MS);

/** How the list names a variant: the default by what it is, any other by its key. */
const variantName = (variant: string) => (variant === NO_VARIANT ? "the default" : variant);

/**
 * The first day of the run, up to the last day evaluated, on which `flag` served `variant` and nothing else (across
 * deployments): the day after the last day anything else was served, else the first day evaluated.
 */
function singleVariantSince(mine: readonly DailyCount[], variant: string): string {
  const days = [...new Set(mine.map((c) => c.day))].sort();
  let since = days[0]!;
  for (const day of days) {
    const other = mine.some(
      (c) => c.day === day && Object.entries(c.variants).some(([v, n]) => v !== variant && n > 0),
    );
    if (other) since = dayOf(Date.parse(day) + DAY_MS);
  }
  return since;
}

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
  if (served.length === 0) {
    // Since the last evaluation, or since the flag was made when it never had one.
    const days = lastEvaluatedDay
      ? daysSince(lastEvaluatedDay, now)
      : Math.floor((now - Date.parse(flag.createdAt)) / DAY_MS);
    return {
      ...base,
      stale: true,
      reason: "not_evaluated",
      days,
      message: `not evaluated for ${days} days${lastEvaluatedDay ? ` (last on ${lastEvaluatedDay})` : ""}`,
    };
  }
  // One variant to everyone, for the whole window: evaluated since before it began.
  const variant = served[0]![0];
  const since = served.length === 1 ? singleVariantSince(mine, variant) : undefined;
  if (since !== undefined && since <= windowStart) {
    const days = daysSince(since, now);
    return {
      ...base,
      stale: true,
      reason: "single_variant",
      days,
      message: `one variant to everyone for ${days} days (${variantName(variant)})`,
    };
  }
  return { ...base, stale: false };
}
