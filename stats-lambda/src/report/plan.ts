/**
 * The primary metric's sample plan (shared/stats/power.ts), when a minimum detectable
 * effect is set: from the control's statistics so far and the traffic per day. Binary
 * metrics are planned as proportions; a ratio with its delta-method variance per unit.
 */
import { samplePlan, variance } from "../../../shared/stats/index.js";
import type { Report } from "../../../shared/report-schema.js";
import type { AnalysedMetric } from "./analyse.js";
import type { Cumulative } from "./cumulative.js";
import type { Experiment } from "./experiment.js";

export function planOf(
  experiment: Pick<Experiment, "settings" | "controlKey" | "variantKeys" | "weights" | "alpha">,
  primary: Pick<AnalysedMetric, "metric" | "statistics"> | undefined,
  data: Cumulative,
): Report["plan"] {
  const { settings, controlKey, variantKeys, weights, alpha } = experiment;
  const mde = settings.minimumDetectableEffect;
  const days = data.days.length;
  if (!mde || !primary || primary.metric.role !== "primary" || days === 0) return null;
  const control = primary.statistics.stats(controlKey, days - 1);
  const baseline = { mean: control.mean, variance: variance(control) };
  const totalExposures = variantKeys.reduce((sum, v) => sum + data.latestExposures(v), 0);
  const unitsPerDay = Math.round(totalExposures / days);
  const plan = samplePlan({
    baselineMean: baseline.mean,
    baselineVariance: baseline.variance,
    minimumDetectableEffect: mde,
    alpha,
    weights,
    unitsPerDay,
    binary: primary.statistics.kind === "binary",
  });
  return plan ? { ...plan, baseline, unitsPerDay } : null;
}
