/**
 * Stage 6: one metric's section of the report — per variant the latest look (with the
 * comparison for treatments), every look for the interval-over-time chart, the cap used,
 * the size of its correction family and when it was registered.
 */
import { DEFAULT_CAP_PERCENTILE } from "../../../shared/authoring/schema.js";
import type { LookPoint, MetricReport, VariantResult } from "../../../shared/report-schema.js";
import type { AnalysedMetric } from "./analyse.js";
import { bayesianOf } from "./bayesian.js";
import { PRE_EXPOSURE_DAYS } from "./cuped.js";
import type { Cumulative } from "./cumulative.js";
import type { Experiment } from "./experiment.js";
import type { MetricDefinitionLike } from "./registration.js";
import type { DecisionAt } from "./verdicts.js";
import { comparisonOf } from "./warnings.js";

/** The event type a metric is listed under: its own, a ratio's numerator's, a funnel's first step's. */
export const eventTypeOf = (metric: MetricDefinitionLike): string =>
  metric.eventType ?? metric.numerator?.eventType ?? metric.steps?.[0]?.eventType ?? "";

export function metricReportOf(
  analysed: AnalysedMetric,
  decide: DecisionAt,
  data: Cumulative,
  experiment: Pick<Experiment, "variantKeys" | "controlKey" | "treatments" | "familySizes" | "alpha">,
  srmMismatch: boolean,
): MetricReport {
  const { metric, statistics, cuped, closed } = analysed;
  const { variantKeys, controlKey, treatments, familySizes } = experiment;
  const { stats, raw, capped, caps } = statistics;
  const { last } = data;
  const at = (treatment: string, day: number) => comparisonOf(decide(treatment, day), srmMismatch);

  const variants: VariantResult[] = variantKeys.map((variant) => {
    const s = last >= 0 ? stats(variant, last) : { n: 0, mean: 0, m2: 0 };
    const base: VariantResult = {
      variant,
      control: variant === controlKey,
      exposures: data.latestExposures(variant),
      n: s.n,
      mean: s.n > 0 ? s.mean : 0,
    };
    if (capped && last >= 0) base.uncappedMean = raw(variant, last).mean;
    if (cuped && last >= 0) base.unadjustedMean = raw(variant, last).mean;
    if (!treatments.includes(variant) || last < 0) return base;
    const bayesian = bayesianOf(analysed, experiment, data, variant);
    return { ...base, comparison: at(variant, last), ...(bayesian ? { bayesian } : {}) };
  });

  const timeSeries = data.days.map((day, d) => ({
    day,
    variants: variantKeys.map((variant): LookPoint => {
      const s = stats(variant, d);
      const point: LookPoint = { variant, exposures: data.exposures(variant, d), mean: s.n > 0 ? s.mean : 0 };
      if (!treatments.includes(variant)) return point;
      const c = at(variant, d);
      return { ...point, ci: c.ci, relativeCi: c.relativeCi, pValue: c.pValue, verdict: c.verdict };
    }),
  }));

  const cap = caps[last];
  const effect = last >= 0 ? statistics.capEffect?.(last) : undefined;
  const capReport: MetricReport["cap"] =
    metric.capValue !== undefined
      ? { value: metric.capValue }
      : capped
        ? {
            percentile: statistics.capPercentiles?.[last] ?? metric.capPercentile ?? DEFAULT_CAP_PERCENTILE,
            upper: cap?.upper?.value ?? null,
            lower: cap?.lower?.value ?? null,
            cappedShare: effect?.cappedShare ?? 0,
            removedShare: effect?.removedShare ?? 0,
          }
        : null;
  return {
    key: metric.key,
    name: metric.name,
    role: metric.role,
    type: metric.type,
    eventType: eventTypeOf(metric),
    direction: metric.direction ?? "increase",
    comparisons: familySizes[metric.role],
    registeredAt: metric.registeredAt,
    cap: capReport,
    ...(cuped && last >= 0
      ? {
          cuped: {
            varianceReduction: cuped.at(last).varianceReduction,
            theta: cuped.at(last).theta,
            preExposureDays: PRE_EXPOSURE_DAYS,
            unitsWithHistory: variantKeys.reduce((sum, v) => sum + cuped.unitsWithHistory(v, last), 0),
          },
        }
      : {}),
    ...(closed
      ? {
          window: {
            endHours: closed.endHours,
            closedUnits: last >= 0 ? variantKeys.reduce((sum, v) => sum + closed.units(v, last), 0) : 0,
          },
        }
      : {}),
    variants,
    timeSeries,
  };
}
