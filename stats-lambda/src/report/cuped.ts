/**
 * Stage 2b: CUPED (shared/stats/cuped.ts) on a metric's statistics, where the source sends
 * each unit's pre-exposure value of the metric. On by default wherever it can apply: the
 * adjusted statistics replace the metric's `stats`, so the sequential test and the t-test,
 * the corrections, the verdicts and the sample plan all run on the reduced variance and
 * keep every guarantee they have; θ is pooled over every arm at each look.
 *
 * The source's series for a metric `K` (daily deltas, scaled like `K`, by exposure day):
 *
 * | series        | n                                  | sum          | sumSquares |
 * | ------------- | ---------------------------------- | ------------ | ---------- |
 * | `K:pre`       | units with any history (indicator) | Σx (scale)   | Σx² (scale²) |
 * | `K:pre:cross` | 0                                  | Σx·y (scale²) | 0         |
 *
 * x is the unit's value of K over the PRE_EXPOSURE_DAYS before its first exposure, 0 for a
 * unit without history (as gbstats fills it), y its value of K in the experiment; Σx·y's
 * daily delta is Σ x·(y at the end of the day − y the day before), so it cumulates like Σy.
 *
 * Where it does not apply, the metric is analysed as before: a source without the series
 * (ingest's store), ratios, averages (their units are the units with an event, not the
 * exposed units x is summed over), and metrics capped at a quantile (x·y of the capped y is
 * not in the sums; a fixed cap is applied by the source before summing, so those qualify).
 */
import { VALUE_SCALE } from "../../../shared/metric-values.js";
import {
  cupedAdjust,
  pairedFromExactSums,
  type CupedAdjustment,
  type PairedStats,
} from "../../../shared/stats/index.js";
import type { Cumulative } from "./cumulative.js";
import type { MetricStatistics } from "./metric-statistics.js";
import type { MetricDefinitionLike } from "./registration.js";

/** The pre-exposure window the source sums x over. */
export const PRE_EXPOSURE_DAYS = 14;

export const covariateSeries = (key: string) => ({ covariate: `${key}:pre`, cross: `${key}:pre:cross` });

/** CUPED's view of a metric across looks. */
export interface CupedLooks {
  /** Each variant's (y, x) at a look, unadjusted. */
  paired(variant: string, day: number): PairedStats;
  /** θ, the adjusted arms and the variance removed at a look. */
  at(day: number): CupedAdjustment;
  /** Exposed units with a pre-exposure history at a look, per variant. */
  unitsWithHistory(variant: string, day: number): number;
}

/** Whether CUPED can apply to a metric of this shape (not yet: whether the source sent x). */
export const cupedApplies = (metric: Pick<MetricDefinitionLike, "type">, statistics: MetricStatistics): boolean =>
  statistics.kind !== "ratio" && metric.type !== "property_average" && !statistics.capped;

function hasCovariate(data: Cumulative, key: string, variantKeys: readonly string[]): boolean {
  const { covariate } = covariateSeries(key);
  return variantKeys.some((v) => data.at(v, covariate, data.last).n > 0);
}

/**
 * The metric's statistics with CUPED, and CUPED's looks; the statistics unchanged and no
 * looks where it does not apply. `raw` stays the unadjusted statistics.
 */
export function withCuped(
  metric: MetricDefinitionLike,
  statistics: MetricStatistics,
  data: Cumulative,
  variantKeys: readonly string[],
): { statistics: MetricStatistics; cuped: CupedLooks | undefined } {
  if (!cupedApplies(metric, statistics) || data.last < 0 || !hasCovariate(data, metric.key, variantKeys))
    return { statistics, cuped: undefined };
  const series = covariateSeries(metric.key);
  const paired = (variant: string, day: number): PairedStats => {
    const y = data.at(variant, metric.key, day);
    const x = data.at(variant, series.covariate, day);
    return pairedFromExactSums(
      data.exposures(variant, day),
      {
        sumY: y.sum,
        sumYSquares: y.sumSquares,
        sumX: x.sum,
        sumXSquares: x.sumSquares,
        sumXY: data.at(variant, series.cross, day).sum,
      },
      VALUE_SCALE,
    );
  };
  const looks = data.days.map((_, day) => cupedAdjust(variantKeys.map((v) => paired(v, day))));
  const index = new Map(variantKeys.map((v, i) => [v, i]));
  const at = (day: number) => looks[day]!;
  const cuped: CupedLooks = {
    paired,
    at,
    unitsWithHistory: (variant, day) => data.at(variant, series.covariate, day).n,
  };
  return {
    statistics: { ...statistics, stats: (variant, day) => at(day).arms[index.get(variant)!]! },
    cuped,
  };
}
