/**
 * Stage 2: analyse each metric. Its statistics per variant per look (metric-statistics.ts),
 * the gates of each look, and per treatment the comparison across looks
 * (shared/stats/sequence.ts), whose p-values are level-free: the correction stage chooses
 * the levels afterwards.
 *
 * Gates: a look is tested from the first day both arms have 100 exposed units (and, for
 * kinds with the conversion gate, 25 units with a non-zero value) and some variance;
 * earlier looks feed nothing.
 */
import { compareSeries, type ComparisonSeries } from "../../../shared/stats/index.js";
import type { Cumulative } from "./cumulative.js";
import { withCuped, type CupedLooks } from "./cuped.js";
import type { Experiment } from "./experiment.js";
import { metricStatistics, type MetricStatistics } from "./metric-statistics.js";
import type { ReportedMetric } from "./registration.js";

export const MIN_EXPOSURES = 100;
/** Units with a non-zero value (conversions, for binary metrics) per arm, for kinds with the conversion gate. */
export const MIN_CONVERSIONS = 25;

export interface AnalysedMetric {
  metric: ReportedMetric;
  statistics: MetricStatistics;
  /** Per treatment: the comparison against control at every look. */
  series: Map<string, ComparisonSeries>;
  /** CUPED's looks where it applied (cuped.ts): then `statistics.stats` are the adjusted ones. */
  cuped?: CupedLooks | undefined;
}

/** Whether a look of treatment against control passes the minimum-sample gates. */
export function eligibleAt(
  data: Cumulative,
  statistics: Pick<MetricStatistics, "nonZero">,
  control: string,
  treatment: string,
  day: number,
): boolean {
  const { nonZero } = statistics;
  return (
    data.exposures(control, day) >= MIN_EXPOSURES &&
    data.exposures(treatment, day) >= MIN_EXPOSURES &&
    (!nonZero || (nonZero(control, day) >= MIN_CONVERSIONS && nonZero(treatment, day) >= MIN_CONVERSIONS))
  );
}

export function analyseMetric(experiment: Experiment, data: Cumulative, metric: ReportedMetric): AnalysedMetric {
  const { controlKey, treatments, variantKeys, alpha, method, familySizes, settings } = experiment;
  const { statistics, cuped } = withCuped(metric, metricStatistics(metric, data, variantKeys), data, variantKeys);
  const { stats } = statistics;
  // The mixture is tuned at the family's Bonferroni level: fixed before any data.
  const tuningAlpha = metric.role === "guardrail" ? alpha : alpha / familySizes[metric.role];
  const mde = settings.minimumDetectableEffect;
  const series = new Map(
    treatments.map((treatment) => [
      treatment,
      compareSeries(
        data.days.map((_, day) => {
          const control = stats(controlKey, day);
          return {
            control,
            treatment: stats(treatment, day),
            eligible: eligibleAt(data, statistics, controlKey, treatment, day),
            ...(mde ? { minimumDetectableDifference: mde * Math.abs(control.mean) } : {}),
          };
        }),
        method,
        { alpha: tuningAlpha },
      ),
    ]),
  );
  return { metric, statistics, series, cuped };
}
