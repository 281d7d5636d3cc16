/**
 * Stage 4: the verdict of each comparison at each look, from its intervals at the look's
 * corrected level (shared/stats/sequence.ts), so verdict, sign, p-value and both intervals
 * agree. Guardrails: one-sided for harm, a move against the metric's `direction`; the
 * sequential interval at α is conservative for one side, the t-test's at 2α exact.
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
  { metric, series }: AnalysedMetric,
  corrected: Corrected,
  { method, alpha }: { method: Method; alpha: number },
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
    const testedSoFar = comparison.looks.slice(0, day + 1).some((l) => l.tested);
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
      relativeCi: relativeCi ?? null,
      pValue,
      verdict,
      level,
      stable,
    };
  };
}
