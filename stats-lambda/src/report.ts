/**
 * The experiment report, from the daily aggregates only (so its cost does not grow with
 * users): per metric and variant the units, mean, absolute and relative difference to
 * control with intervals, p-value, verdict and whether it can be trusted; the analysis
 * period and its settings; a sequential sample-ratio check; data quality and freshness;
 * the sample plan when a minimum detectable effect is set; and every look (day) of every
 * comparison, for the interval-over-time chart. docs/statistics.md explains each rule.
 *
 * - Gates: a comparison is tested from the first day both arms have 100 units (and 25
 *   conversions for conversion metrics) and some variance; earlier days feed nothing.
 * - Verdicts come from the interval (shared/stats/sequence.ts): verdict, sign, p-value and
 *   both intervals agree at every look.
 * - Corrections: the primary metric over treatments, secondary metrics over treatments ×
 *   metrics, by the experiment's correction; guardrails alone, one-sided for harm.
 * - Sums and averages are capped at a quantile of their values (shared/stats/winsorize.ts).
 * - A sample-ratio mismatch or an unstable effect marks verdicts untrustworthy.
 */
import {
  analysisSettingsSchema,
  DEFAULT_CAP_PERCENTILE,
  isLegacyMetric,
  type AnalysisPeriod,
  type AnalysisSettings,
  type Flag,
  type Metric,
} from "../../shared/authoring/schema.js";
import { VALUE_SCALE } from "../../shared/metric-values.js";
import {
  adjust,
  capStatistics,
  compareSeries,
  excludesZero,
  fromExactSums,
  quantileCaps,
  samplePlan,
  SRM_ALPHA,
  srmPValue,
  variance,
  type Caps,
  type ComparisonSeries,
  type Histogram,
  type IntervalResult,
  type SufficientStats,
} from "../../shared/stats/index.js";
import { metricsOf } from "./catalog.js";
import type {
  Comparison,
  LookPoint,
  MetricReport,
  Report,
  VariantResult,
  Verdict,
  Warning,
} from "../../shared/report-schema.js";
import {
  ALLOCATION_PREFIX,
  BUCKET_SEPARATOR,
  EXPOSURES,
  MULTIPLE_VARIANTS,
  parseAllocation,
  type AggregateRow,
  type Quality,
} from "./store.js";

export const MIN_EXPOSURES = 100;
/** Units with a non-zero value (conversions, for conversion metrics) per arm, for every metric but event totals. */
export const MIN_CONVERSIONS = 25;

export type { Report } from "../../shared/report-schema.js";

/** Exact cumulative sums of one aggregate series. */
interface ExactSums {
  n: number;
  sum: bigint;
  sumSquares: bigint;
}
const NO_SUMS: ExactSums = { n: 0, sum: 0n, sumSquares: 0n };
const addSums = (a: ExactSums, b: ExactSums): ExactSums => ({
  n: a.n + b.n,
  sum: a.sum + b.sum,
  sumSquares: a.sumSquares + b.sumSquares,
});

/** The daily rows, cumulated per (variant, series) at the end of each day. */
class Cumulative {
  readonly days: string[];
  private readonly series = new Map<string, ExactSums[]>();
  /** Histogram buckets seen per (variant, metric). */
  private readonly buckets = new Map<string, Set<number>>();
  /** Allocation strata seen. */
  readonly allocations = new Set<string>();
  /** Histograms built so far, by (variant, metric, day): a look reads each many times. */
  private readonly histograms = new Map<string, Histogram>();

  constructor(rows: readonly AggregateRow[]) {
    this.days = [...new Set(rows.map((r) => r.day))].sort();
    const index = new Map(this.days.map((day, i) => [day, i]));
    const daily = new Map<string, ExactSums[]>();
    for (const row of rows) {
      const name = `${row.variant}|${row.metric}`;
      let values = daily.get(name);
      if (!values) daily.set(name, (values = this.days.map(() => NO_SUMS)));
      const i = index.get(row.day)!;
      values[i] = addSums(values[i]!, row);
      const separator = row.metric.indexOf(BUCKET_SEPARATOR);
      if (separator > 0) {
        const key = `${row.variant}|${row.metric.slice(0, separator)}`;
        const set = this.buckets.get(key) ?? new Set<number>();
        set.add(Number(row.metric.slice(separator + 1)));
        this.buckets.set(key, set);
      }
      if (row.metric.startsWith(ALLOCATION_PREFIX)) this.allocations.add(row.metric.slice(ALLOCATION_PREFIX.length));
    }
    for (const [name, values] of daily) {
      let running = NO_SUMS;
      this.series.set(
        name,
        values.map((value) => (running = addSums(running, value))),
      );
    }
  }

  at(variant: string, metric: string, day: number): ExactSums {
    return this.series.get(`${variant}|${metric}`)?.[day] ?? NO_SUMS;
  }

  exposures = (variant: string, day: number) => this.at(variant, EXPOSURES, day).n;

  histogram(variant: string, metric: string, day: number): Histogram {
    const id = `${variant}|${metric}|${day}`;
    const built = this.histograms.get(id);
    if (built) return built;
    const histogram = new Map<number, SufficientStats>();
    for (const bucket of this.buckets.get(`${variant}|${metric}`) ?? []) {
      const sums = this.at(variant, `${metric}${BUCKET_SEPARATOR}${bucket}`, day);
      if (sums.n > 0) histogram.set(bucket, fromExactSums(sums.n, sums.sum, sums.sumSquares, VALUE_SCALE));
    }
    this.histograms.set(id, histogram);
    return histogram;
  }
}

/** The settings of the analysis period reported on (the current ones for an experiment never started). */
export function periodOf(
  flag: Flag,
  index?: number,
): { index: number; period: AnalysisPeriod | undefined; settings: AnalysisSettings } {
  const periods = flag.analysisPeriods ?? [];
  const chosen = index ?? periods.length;
  const period = periods[chosen - 1];
  return { index: chosen, period, settings: analysisSettingsSchema.parse(period?.settings ?? flag) };
}

export function buildReport(
  flag: Flag,
  rows: readonly AggregateRow[],
  quality: Quality,
  now: number,
  periodIndex?: number,
): Report {
  const { index, period, settings } = periodOf(flag, periodIndex);
  const data = new Cumulative(rows);
  const { days } = data;
  const last = days.length - 1;
  const variantKeys = flag.variants.map((v) => v.key);
  const [controlKey, ...treatments] = variantKeys as [string, ...string[]];
  const weights = variantKeys.map((key) => flag.weights?.[key] ?? 100 / variantKeys.length);
  const alpha = 1 - settings.confidenceLevel;
  const correction = settings.multipleTestingCorrection ?? "bonferroni";
  const method = settings.statisticalMethod;
  const metrics = metricsOf(settings).filter(isLegacyMetric); // the ones the per-unit ingest computes
  const exposures = (variant: string) => (last >= 0 ? data.exposures(variant, last) : 0);

  // Sample ratio: strata by the allocation each unit was assigned under; units recorded
  // without one are assumed to follow the flag's weights.
  const strataAt = (day: number) => {
    const recorded = new Map(variantKeys.map((v) => [v, 0]));
    const strata = [...data.allocations].map((allocation) => {
      const shares = parseAllocation(allocation);
      const counts = variantKeys.map((v) => data.at(v, `${ALLOCATION_PREFIX}${allocation}`, day).n);
      for (const [i, count] of counts.entries()) recorded.set(variantKeys[i]!, recorded.get(variantKeys[i]!)! + count);
      return { allocation: shares, counts, weights: variantKeys.map((v) => shares[v] ?? 0) };
    });
    const rest = variantKeys.map((v) => Math.max(0, data.exposures(v, day) - recorded.get(v)!));
    if (rest.some((count) => count > 0))
      strata.push({
        allocation: Object.fromEntries(variantKeys.map((v, i) => [v, weights[i]!])),
        counts: rest,
        weights,
      });
    return strata;
  };
  let srmP = 1;
  for (let day = 0; day <= last; day++) srmP = Math.min(srmP, srmPValue(strataAt(day)));
  const srmMismatch = srmP < SRM_ALPHA;

  const multipleVariantUnits =
    last >= 0 ? variantKeys.reduce((total, v) => total + data.at(v, MULTIPLE_VARIANTS, last).n, 0) : 0;
  const secondaryCount = metrics.filter((m) => m.role === "secondary").length;
  const familySize = (role: string) =>
    Math.max(
      1,
      role === "primary"
        ? treatments.length
        : role === "secondary"
          ? treatments.length * secondaryCount
          : treatments.length,
    );

  /** Per metric: its statistics per variant per day, its caps per day, and its comparisons. */
  const analysed = metrics.map((metric) => {
    const capped =
      (metric.type === "property_sum" || metric.type === "property_average") &&
      metric.capValue === undefined &&
      (metric.capPercentile ?? DEFAULT_CAP_PERCENTILE) < 1;
    const units = (variant: string, day: number) =>
      metric.type === "property_average" ? data.at(variant, metric.key, day).n : data.exposures(variant, day);
    const raw = (variant: string, day: number) => {
      const sums = data.at(variant, metric.key, day);
      return fromExactSums(units(variant, day), sums.sum, sums.sumSquares, VALUE_SCALE);
    };
    const caps: Caps[] = days.map((_, day) =>
      capped
        ? quantileCaps(
            variantKeys.map((v) => data.histogram(v, metric.key, day)),
            variantKeys.reduce((sum, v) => sum + units(v, day), 0),
            metric.capPercentile ?? DEFAULT_CAP_PERCENTILE,
            VALUE_SCALE,
          )
        : { upper: undefined, lower: undefined },
    );
    const stats = (variant: string, day: number): SufficientStats => {
      const cap = caps[day]!;
      return cap.upper || cap.lower
        ? capStatistics(data.histogram(variant, metric.key, day), units(variant, day), cap)
        : raw(variant, day);
    };
    /** Units with a non-zero value: conversions, or units in the histogram. */
    const nonZero = (variant: string, day: number) => {
      if (metric.type === "unique_conversions")
        return Number(data.at(variant, metric.key, day).sum / BigInt(VALUE_SCALE));
      let count = 0;
      for (const s of data.histogram(variant, metric.key, day).values()) count += s.n;
      return count;
    };
    const gated = metric.type !== "event_totals";
    const eligible = (treatment: string, day: number) =>
      data.exposures(controlKey, day) >= MIN_EXPOSURES &&
      data.exposures(treatment, day) >= MIN_EXPOSURES &&
      (!gated || (nonZero(controlKey, day) >= MIN_CONVERSIONS && nonZero(treatment, day) >= MIN_CONVERSIONS));
    // The mixture is tuned at the family's Bonferroni level: fixed before any data.
    const tuningAlpha = metric.role === "guardrail" ? alpha : alpha / familySize(metric.role);
    const series = new Map<string, ComparisonSeries>(
      treatments.map((treatment) => [
        treatment,
        compareSeries(
          days.map((_, day) => {
            const control = stats(controlKey, day);
            const mde = settings.minimumDetectableEffect;
            return {
              control,
              treatment: stats(treatment, day),
              eligible: eligible(treatment, day),
              ...(mde ? { minimumDetectableDifference: mde * Math.abs(control.mean) } : {}),
            };
          }),
          method,
          { alpha: tuningAlpha },
        ),
      ]),
    );
    return { metric, capped, caps, raw, stats, series };
  });

  /**
   * Adjusted p-values and interval levels per (metric, treatment) per day, from the correction of each family at that
   * day.
   */
  const corrected = new Map<string, { pValues: number[]; levels: number[] }>();
  for (const family of ["primary", "secondary"] as const) {
    const members = analysed
      .filter((a) => a.metric.role === family)
      .flatMap((a) => treatments.map((t) => ({ id: `${a.metric.key}|${t}`, series: a.series.get(t)! })));
    for (const member of members) corrected.set(member.id, { pValues: [], levels: [] });
    days.forEach((_, day) => {
      const at = adjust(
        members.map((m) => m.series.looks[day]!.pValue),
        alpha,
        correction,
      );
      members.forEach((member, i) => {
        const entry = corrected.get(member.id)!;
        entry.pValues.push(at.pValues[i]!);
        entry.levels.push(at.levels[i]!);
      });
    });
  }

  const reportMetrics: MetricReport[] = analysed.map(({ metric, capped, caps, raw, stats, series }) => {
    const guardrail = metric.role === "guardrail";
    const harmSign = metric.direction === "decrease" ? 1 : -1; // the sign of a harmful difference
    /** A comparison at a look: intervals at the look's corrected level, the verdict from them. */
    const cache = new Map<string, IntervalResult[]>();
    const at = (treatment: string, day: number): Comparison => {
      const comparisonSeries = series.get(treatment)!;
      const look = comparisonSeries.looks[day]!;
      // Guardrails: one-sided at α. The sequential interval at α is conservative for one side; the t-test's at 2α is
      // exact.
      const family = corrected.get(`${metric.key}|${treatment}`);
      const level = guardrail ? (method === "ttest" ? 2 * alpha : alpha) : family!.levels[day]!;
      const cacheKey = `${treatment}|${level}`;
      let intervals = cache.get(cacheKey);
      if (!intervals) cache.set(cacheKey, (intervals = comparisonSeries.intervalsAt(level)));
      const { ci, relativeCi, stable } = intervals[day]!;
      const testedSoFar = comparisonSeries.looks.slice(0, day + 1).some((l) => l.tested);
      let verdict: Verdict;
      let pValue: number;
      if (guardrail) {
        const harmful = excludesZero(ci) && Math.sign(ci[0] > 0 ? 1 : -1) === harmSign;
        verdict = !testedSoFar ? "insufficient_data" : harmful ? "harm_detected" : "no_harm_detected";
        pValue =
          method === "ttest"
            ? Math.sign(look.difference) === harmSign
              ? look.pValue / 2
              : 1 - look.pValue / 2
            : comparisonSeries.harmPValue(day, harmSign);
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
      const warnings: Warning[] = [];
      if (srmMismatch) warnings.push("sample_ratio_mismatch");
      if (!stable) warnings.push("effect_not_stable");
      return {
        difference: look.difference,
        lift: look.lift,
        ci: ci ?? null,
        relativeCi: relativeCi ?? null,
        pValue,
        verdict,
        trustworthy: warnings.length === 0,
        warnings,
        level,
      };
    };

    const variants: VariantResult[] = variantKeys.map((variant) => {
      const s = last >= 0 ? stats(variant, last) : { n: 0, mean: 0, m2: 0 };
      const base: VariantResult = {
        variant,
        control: variant === controlKey,
        exposures: exposures(variant),
        n: s.n,
        mean: s.n > 0 ? s.mean : 0,
      };
      if (capped && last >= 0) base.uncappedMean = raw(variant, last).mean;
      return treatments.includes(variant) && last >= 0 ? { ...base, comparison: at(variant, last) } : base;
    });

    const timeSeries = days.map((day, d) => ({
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
    const capReport: MetricReport["cap"] =
      metric.capValue !== undefined
        ? { value: metric.capValue }
        : capped
          ? {
              percentile: metric.capPercentile ?? DEFAULT_CAP_PERCENTILE,
              upper: cap?.upper?.value ?? null,
              lower: cap?.lower?.value ?? null,
            }
          : null;
    return {
      key: metric.key,
      name: metric.name,
      role: metric.role,
      type: metric.type,
      eventType: metric.eventType,
      direction: metric.direction ?? "increase",
      comparisons: familySize(metric.role),
      cap: capReport,
      variants,
      timeSeries,
    };
  });

  return {
    experiment: {
      key: flag.key,
      name: flag.name,
      status: flag.status,
      method,
      confidenceLevel: settings.confidenceLevel,
      correction,
      minimumDetectableEffect: settings.minimumDetectableEffect ?? null,
      ...(flag.hypothesis ? { hypothesis: flag.hypothesis } : {}),
    },
    analysisPeriod: {
      index,
      startedAt: period?.startedAt ?? null,
      stoppedAt: period?.stoppedAt ?? null,
      settings,
      periods: flag.analysisPeriods?.length ?? 0,
    },
    variants: variantKeys.map((key, i) => ({
      key,
      exposures: exposures(key),
      expectedShare: weights[i]! / weights.reduce((a, b) => a + b, 0),
    })),
    srm: {
      pValue: srmP,
      mismatch: srmMismatch,
      test: "sequential-dirichlet-multinomial",
      strata:
        last >= 0
          ? strataAt(last).map((s) => ({
              allocation: s.allocation,
              counts: Object.fromEntries(variantKeys.map((v, i) => [v, s.counts[i]!])),
            }))
          : [],
    },
    dataQuality: {
      multipleVariantUnits,
      rejectedExposures: quality.rejectedExposures,
      droppedValues: quality.droppedValues,
    },
    freshness: {
      lastIngestedAt: quality.lastIngestedAt === undefined ? null : new Date(quality.lastIngestedAt).toISOString(),
      secondsSinceIngest:
        quality.lastIngestedAt === undefined ? null : Math.max(0, Math.round((now - quality.lastIngestedAt) / 1000)),
      queueLagSeconds: quality.queueLagMs === undefined ? null : Math.round(quality.queueLagMs / 100) / 10,
    },
    plan: planOf(
      settings,
      analysed[0],
      controlKey,
      weights,
      variantKeys.reduce((sum, v) => sum + exposures(v), 0),
      days.length,
      alpha,
    ),
    metrics: reportMetrics,
  };
}

/** The primary metric's sample plan from the control's data so far and the traffic per day. */
function planOf(
  settings: AnalysisSettings,
  primary: { metric: Metric & { role: string }; stats: (variant: string, day: number) => SufficientStats } | undefined,
  controlKey: string,
  weights: number[],
  totalExposures: number,
  days: number,
  alpha: number,
): Report["plan"] {
  const mde = settings.minimumDetectableEffect;
  if (!mde || !primary || primary.metric.role !== "primary" || days === 0) return null;
  const control = primary.stats(controlKey, days - 1);
  const baseline = { mean: control.mean, variance: variance(control) };
  const unitsPerDay = Math.round(totalExposures / days);
  const plan = samplePlan({
    baselineMean: baseline.mean,
    baselineVariance: baseline.variance,
    minimumDetectableEffect: mde,
    alpha,
    weights,
    unitsPerDay,
    binary: primary.metric.type === "unique_conversions",
  });
  return plan ? { ...plan, baseline, unitsPerDay } : null;
}

const CSV_COLUMNS = [
  "metric",
  "role",
  "variant",
  "control",
  "exposures",
  "n",
  "mean",
  "uncapped_mean",
  "cap_upper",
  "cap_lower",
  "difference",
  "lift",
  "ci_low",
  "ci_high",
  "relative_ci_low",
  "relative_ci_high",
  "p_value",
  "verdict",
  "trustworthy",
  "warnings",
  "method",
  "correction",
  "analysis_period_start",
  "srm_p_value",
];

const csvCell = (value: unknown): string => {
  const text =
    value === undefined || value === null || (typeof value === "number" && !Number.isFinite(value))
      ? ""
      : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

export function reportCsv(report: Report): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const metric of report.metrics) {
    const cap = metric.cap && "percentile" in metric.cap ? metric.cap : undefined;
    const capValue = metric.cap && "value" in metric.cap ? metric.cap.value : undefined;
    for (const v of metric.variants) {
      const c = v.comparison;
      lines.push(
        [
          metric.key,
          metric.role,
          v.variant,
          v.control,
          v.exposures,
          v.n,
          v.mean,
          v.uncappedMean,
          cap?.upper ?? capValue,
          cap?.lower,
          c?.difference,
          c?.lift,
          c?.ci?.[0],
          c?.ci?.[1],
          c?.relativeCi?.[0],
          c?.relativeCi?.[1],
          c?.pValue,
          c?.verdict,
          c?.trustworthy,
          c?.warnings.join(" "),
          report.experiment.method,
          report.experiment.correction,
          report.analysisPeriod.startedAt,
          report.srm.pValue,
        ]
          .map(csvCell)
          .join(","),
      );
    }
  }
  return `${lines.join("\n")}\n`;
}
