/**
 * Stage 5b: the Bayesian readout of each treatment at the latest look, beside the
 * frequentist comparison (shared/stats/bayesian.ts, gbstats' default flat prior on the
 * relative effect). It reads the same statistics the tests do: CUPED-adjusted where CUPED
 * applied (gbstats' relative effect with the covariance terms), capped where the metric is
 * capped. It informs; the verdict stays the sequential test's.
 */
import type { Report } from "../../../shared/report-schema.js";
import { bayesianReadout, relativeEffect, type SufficientStats } from "../../../shared/stats/index.js";
import type { AnalysedMetric } from "./analyse.js";
import type { Cumulative } from "./cumulative.js";
import type { Experiment } from "./experiment.js";

export type BayesianResult = NonNullable<Report["metrics"][number]["variants"][number]["bayesian"]>;

/** A SufficientStats as a pair without covariate: θ = 0 leaves the plain delta method. */
const unpaired = (y: SufficientStats) => ({ y, x: { n: y.n, mean: 0, m2: 0 }, cross: 0 });

export function bayesianOf(
  { metric, statistics, cuped, series }: Pick<AnalysedMetric, "metric" | "statistics" | "cuped" | "series">,
  experiment: Pick<Experiment, "controlKey" | "alpha">,
  data: Cumulative,
  treatment: string,
): BayesianResult | undefined {
  const day = data.last;
  // Only where the frequentist test ran too: past the minimum-sample gates, with variance.
  if (day < 0 || !series.get(treatment)?.looks[day]?.tested) return undefined;
  const { controlKey, alpha } = experiment;
  const effect = cuped
    ? relativeEffect(cuped.paired(controlKey, day), cuped.paired(treatment, day), cuped.at(day).theta)
    : relativeEffect(unpaired(statistics.stats(controlKey, day)), unpaired(statistics.stats(treatment, day)), 0);
  if (!effect) return undefined;
  const readout = bayesianReadout(effect, { alpha, decrease: metric.direction === "decrease" });
  if (!readout) return undefined;
  return {
    chanceToBeatControl: readout.chanceToBeatControl,
    expectedLoss: readout.expectedLoss,
    credibleInterval: readout.credibleInterval,
    prior: "flat",
  };
}
