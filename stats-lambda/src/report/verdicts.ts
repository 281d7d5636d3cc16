/**
 * Stage 4: the verdict of each comparison at each look, from its intervals at the look's
 * corrected level (shared/stats/sequence.ts), so verdict, sign, p-value and both intervals
 * agree. Guardrails: one-sided for harm, a move against the metric's `direction`, at their
 * family's corrected level: the one-sided mixture's sequence (sequential), the t-test's
 * two-sided interval at twice the level (exact for one side).
 */
import { excludesZero, type IntervalResult, type Method } from "../../../shared/stats/index.js";
import type { Verdict } from "../../../shared/report-schema.js";
import type { AnalysedMetric } from "./analyse.js";
import { correctionId, type Corrected } from "./correct.js";

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
}

export type DecisionAt = (treatment: string, day: number) => Decision;

/** The decisions of one analysed metric, for any treatment and look (intervals drawn once per level). */
export function decisionsOf(
  { metric, series, moved }: AnalysedMetric,
  corrected: Corrected,
  { method }: { method: Method; alpha: number },
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
    const testedSoFar = comparison.looks.slice(0, day + 1).some((l) => l.tested);
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
      relativeCi: relativeCi ?? null,
      pValue,
      verdict,
      level,
      // An effect that left its own interval, or moved with time since exposure (novelty.ts).
      stable: stable && !moved?.get(treatment)?.[day],
    };
  };
}
