/**
 * Stage 4: the verdict of each comparison at each look, from its intervals at the look's
 * corrected level (shared/stats/sequence.ts), so verdict, sign, p-value and both intervals
 * agree. Guardrails: one-sided for harm, a move against the metric's `direction`; the
 * sequential interval at α is conservative for one side, the t-test's at 2α exact.
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
  { metric, series, statistics }: AnalysedMetric,
  corrected: Corrected,
  { method, alpha }: { method: Method; alpha: number },
  { read = () => "any", multipleVariantShare = () => 0 }: LookContext = {},
): DecisionAt {
  const guardrail = metric.role === "guardrail";
  const harmSign = metric.direction === "decrease" ? 1 : -1; // the sign of a harmful difference
  const drawn = new Map<string, IntervalResult[]>();
  return (treatment, day) => {
    const comparison = series.get(treatment)!;
    const look = comparison.looks[day]!;
    const family = corrected.get(correctionId(metric.key, treatment));
    const level = guardrail ? (method === "ttest" ? 2 * alpha : alpha) : family!.levels[day]!;
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
      pValue =
        method === "ttest"
          ? Math.sign(look.difference) === harmSign
            ? look.pValue / 2
            : 1 - look.pValue / 2
          : comparison.harmPValue(day, harmSign);
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
      stable,
      read: lookRead,
      multipleVariantShare: multipleVariantShare(day),
      heavyTail: statistics?.heavyTail?.(day) ?? false,
    };
  };
}
