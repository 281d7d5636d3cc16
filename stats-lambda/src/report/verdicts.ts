/**
 * Stage 4: the verdict of each comparison at each look, from its intervals at the look's
 * corrected level (shared/stats/sequence.ts), so verdict, sign, p-value and both intervals
 * agree. Guardrails: one-sided for harm, a move against the metric's `direction`, at their
 * family's corrected level: the one-sided mixture's sequence (sequential), the t-test's
 * two-sided interval at twice the level (exact for one side).
 *
 * The relative interval is reported only on the verdict's side: the sequential intervals
 * are running intersections kept apart for the difference and for the lift, and the two
 * can part (a look whose Fieller set is unbounded narrows the difference only), leaving a
 * significant verdict beside a relative interval that holds 0. Such a relative interval
 * says nothing the verdict can stand on, so it is null (as an unbounded one is).
 *
 * A t-test look before its planned sample has no verdict (read-rule.ts); the decision also
 * carries what the warnings stage needs of the look: the read, the share of units seen in
 * two variants, whether uncapped values are heavy-tailed.
 */
import { excludesZero, type IntervalResult, type Method } from "../../../shared/stats/index.js";
import type { Verdict } from "../../../shared/report-schema.js";
import type { AnalysedMetric } from "./analyse.js";
import { correctionId, type Corrected } from "./correct.js";
import type { Read } from "./read-rule.js";

/** A comparison at a look before warnings: `stable` is false once the effect left its own interval. */
export interface Decision {
  difference: number;
  lift: number;
  ci: [number, number] | null;
  relativeCi: [number, number] | null;
  pValue: number;
  verdict: Verdict;
  level: number;
  stable: boolean;
  read: Read;
  multipleVariantShare: number;
  heavyTail: boolean;
  /** No unit's window has closed yet: running values, not tested (closed-window.ts). */
  windowPending: boolean;
}

/** What a look's decision needs beyond its comparison (defaults: any read, no multiple-variant units). */
export interface LookContext {
  read?: (day: number) => Read;
  multipleVariantShare?: (day: number) => number;
}

export type DecisionAt = (treatment: string, day: number) => Decision;

/** The side of 0 an interval lies on: 1, −1, or 0 when it holds 0 (or is missing). */
const sideOf = (interval: [number, number] | null | undefined) =>
  excludesZero(interval) ? (interval[0] > 0 ? 1 : -1) : 0;

/** The relative interval when it agrees with the absolute one about 0, else null. */
export const onVerdictSide = (
  ci: [number, number] | null | undefined,
  relativeCi: [number, number] | null | undefined,
): [number, number] | null => (relativeCi && sideOf(relativeCi) === sideOf(ci) ? relativeCi : null);

/** The decisions of one analysed metric, for any treatment and look (intervals drawn once per level). */
export function decisionsOf(
  { metric, series, statistics, moved, closed }: AnalysedMetric,
  corrected: Corrected,
  { method }: { method: Method; alpha: number },
  { read = () => "any", multipleVariantShare = () => 0 }: LookContext = {},
): DecisionAt {
  const guardrail = metric.role === "guardrail";
  const harmSign = metric.direction === "decrease" ? 1 : -1; // the sign of a harmful difference
  const drawn = new Map<string, IntervalResult[]>();
  return (treatment, day) => {
    const comparison = series.get(treatment)!;
    const look = comparison.looks[day]!;
    const family = corrected.get(correctionId(metric.key, treatment));
    const level = guardrail && method === "ttest" ? 2 * family!.levels[day]! : family!.levels[day]!;
    const cacheKey = `${treatment}|${level}`;
    let intervals = drawn.get(cacheKey);
    if (!intervals) drawn.set(cacheKey, (intervals = comparison.intervalsAt(level)));
    const { ci, relativeCi, stable } = intervals[day]!;
    const lookRead = read(day);
    // Before the planned sample a t-test has no verdict: as if nothing had been tested yet.
    const testedSoFar = lookRead !== "before_plan" && comparison.looks.slice(0, day + 1).some((l) => l.tested);
    let verdict: Verdict;
    let pValue: number;
    if (guardrail) {
      const harmful = excludesZero(ci) && (ci[0] > 0 ? 1 : -1) === harmSign;
      verdict = !testedSoFar ? "insufficient_data" : harmful ? "harm_detected" : "no_harm_detected";
      pValue = family!.pValues[day]!;
    } else {
      verdict = !testedSoFar
        ? "insufficient_data"
        : excludesZero(ci)
          ? ci[0] > 0
            ? "significant_positive"
            : "significant_negative"
          : "not_yet_significant";
      pValue = family!.pValues[day]!;
    }
    return {
      difference: look.difference,
      lift: look.lift,
      ci: ci ?? null,
      relativeCi: onVerdictSide(ci, relativeCi),
      pValue,
      verdict,
      level,
      // An effect that left its own interval, or moved with time since exposure (novelty.ts).
      stable: stable && !moved?.get(treatment)?.[day],
      read: lookRead,
      multipleVariantShare: multipleVariantShare(day),
      heavyTail: statistics?.heavyTail?.(day) ?? false,
      windowPending: closed?.pending ?? false,
    };
  };
}
