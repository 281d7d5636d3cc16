/**
 * The experiment report, from the daily aggregates only (so its cost does not grow
 * with users): per metric and variant the exposures, mean, absolute and relative
 * difference to control with intervals, p-value, verdict; the method; a sample-ratio
 * check; data quality; and cumulative daily values for a confidence-interval-over-time
 * chart.
 *
 * Corrections (Bonferroni): the primary metric across treatments; secondary and
 * guardrail metrics across treatments × those metrics. Verdicts wait for a minimum
 * sample: 100 exposures per arm, and 25 conversions per arm for conversion metrics.
 */
import type { Flag } from "../../shared/authoring/schema.js";
import { bonferroniAlpha, bonferroniP, mean, sequentialTest, srmTest, welchTTest, type SufficientStats, type TestResult } from "../../shared/stats/index.js";
import { metricsOf } from "./catalog.js";
import { EXPOSURES, MULTIPLE_VARIANTS, type AggregateRow, type Quality } from "./store.js";

export const MIN_EXPOSURES = 100;
export const MIN_CONVERSIONS = 25;

export type Verdict = "significant_positive" | "significant_negative" | "not_yet_significant" | "insufficient_data";

/** What cannot be estimated yet is NaN or ±Infinity: null in the JSON, empty in the CSV. */
export interface Comparison {
  difference: number;
  lift: number;
  ci: [number, number];
  relativeCi: [number, number];
  pValue: number;
  verdict: Verdict;
}

export interface VariantResult {
  variant: string;
  control: boolean;
  exposures: number;
  n: number;
  mean: number;
  comparison?: Comparison;
}

export interface Report {
  experiment: { key: string; name: string; status: string; method: "sequential" | "ttest"; confidenceLevel: number; hypothesis?: Flag["hypothesis"] };
  variants: Array<{ key: string; exposures: number; expectedShare: number }>;
  srm: { pValue: number; mismatch: boolean };
  dataQuality: { multipleVariantUsers: number; rejectedExposures: number; droppedValues: Record<string, number> };
  /**
   * How current the numbers are: when ingest last wrote for this experiment and how long
   * the messages of that delivery had waited in the queue. Events still in the queue are
   * not in the report yet.
   */
  freshness: { lastIngestedAt: string | null; secondsSinceIngest: number | null; queueLagSeconds: number | null };
  metrics: Array<{
    key: string;
    name?: string | undefined;
    role: "primary" | "secondary" | "guardrail";
    type: string;
    eventType: string;
    comparisons: number;
    variants: VariantResult[];
    timeSeries: Array<{ day: string; variants: Array<{ variant: string; exposures: number; mean: number; ci?: [number, number]; relativeCi?: [number, number]; pValue?: number }> }>;
  }>;
}

const ZERO: SufficientStats = { n: 0, sum: 0, sumSquares: 0 };
const add = (a: SufficientStats, b: SufficientStats): SufficientStats => ({ n: a.n + b.n, sum: a.sum + b.sum, sumSquares: a.sumSquares + b.sumSquares });

export function buildReport(flag: Flag, rows: AggregateRow[], quality: Quality, now: number): Report {
  const multipleVariantUsers = rows.filter((r) => r.metric === MULTIPLE_VARIANTS).reduce((total, r) => total + r.n, 0);
  const variantKeys = flag.variants.map((v) => v.key);
  const [controlKey, ...treatments] = variantKeys as [string, ...string[]];
  const weights = variantKeys.map((key) => flag.weights?.[key] ?? 100 / variantKeys.length);
  const days = [...new Set(rows.map((r) => r.day))].sort();
  const alpha = 1 - flag.confidenceLevel;
  const metrics = metricsOf(flag);
  const secondaryCount = metrics.filter((m) => m.role !== "primary").length;

  /** Each day's statistics by (variant, metric), indexed once. */
  const daily = new Map<string, Map<string, SufficientStats>>();
  for (const row of rows) {
    const key = `${row.variant}#${row.metric}`;
    const byDay = daily.get(key) ?? new Map<string, SufficientStats>();
    byDay.set(row.day, add(byDay.get(row.day) ?? ZERO, row));
    daily.set(key, byDay);
  }
  /** Cumulative statistics of (variant, metric) at the end of each day. */
  const cumulative = new Map<string, SufficientStats[]>();
  const series = (variant: string, metric: string) => {
    const key = `${variant}#${metric}`;
    let values = cumulative.get(key);
    if (!values) {
      const byDay = daily.get(key);
      let running = ZERO;
      values = days.map((day) => (running = add(running, byDay?.get(day) ?? ZERO)));
      cumulative.set(key, values);
    }
    return values;
  };
  const exposuresAt = (variant: string, dayIndex: number) => series(variant, EXPOSURES)[dayIndex]?.n ?? 0;
  const exposures = (variant: string) => (days.length ? exposuresAt(variant, days.length - 1) : 0);

  const srm = srmTest(variantKeys.map(exposures), weights);

  const reportMetrics = metrics.map((metric) => {
    const average = metric.type === "property_average";
    /** The metric's statistics for a variant at a day: n is the exposures, except for averages. */
    const statsAt = (variant: string, dayIndex: number): SufficientStats => {
      const m = series(variant, metric.key)[dayIndex] ?? ZERO;
      return { n: average ? m.n : exposuresAt(variant, dayIndex), sum: m.sum, sumSquares: m.sumSquares };
    };
    const comparisons = Math.max(1, metric.role === "primary" ? treatments.length : treatments.length * secondaryCount);
    const testAlpha = bonferroniAlpha(alpha, comparisons);

    const compare = (treatment: string): Array<TestResult | undefined> => {
      let previous = 1;
      return days.map((_, d) => {
        const control = statsAt(controlKey, d);
        const variant = statsAt(treatment, d);
        if (flag.statisticalMethod === "ttest") return welchTTest(control, variant, { alpha: testAlpha });
        const result = sequentialTest(control, variant, { alpha: testAlpha, previousPValue: previous });
        previous = result.pValue;
        return result;
      });
    };
    const results = new Map(treatments.map((t) => [t, compare(t)]));
    const last = days.length - 1;

    const variants: VariantResult[] = variantKeys.map((variant) => {
      const s = last >= 0 ? statsAt(variant, last) : ZERO;
      const base: VariantResult = { variant, control: variant === controlKey, exposures: exposures(variant), n: s.n, mean: mean(s) };
      const test = results.get(variant)?.[last];
      if (!test) return base;
      const pValue = bonferroniP(test.pValue, comparisons);
      const control = statsAt(controlKey, last);
      const enough =
        base.exposures >= MIN_EXPOSURES &&
        exposures(controlKey) >= MIN_EXPOSURES &&
        (metric.type !== "unique_conversions" || (s.sum >= MIN_CONVERSIONS && control.sum >= MIN_CONVERSIONS));
      const verdict: Verdict = !enough ? "insufficient_data" : pValue < alpha ? (test.difference > 0 ? "significant_positive" : "significant_negative") : "not_yet_significant";
      return { ...base, comparison: { difference: test.difference, lift: test.lift, ci: test.ci, relativeCi: test.relativeCi, pValue, verdict } };
    });

    const timeSeries = days.map((day, d) => ({
      day,
      variants: variantKeys.map((variant) => {
        const s = statsAt(variant, d);
        const test = results.get(variant)?.[d];
        return { variant, exposures: exposuresAt(variant, d), mean: mean(s), ...(test ? { ci: test.ci, relativeCi: test.relativeCi, pValue: bonferroniP(test.pValue, comparisons) } : {}) };
      }),
    }));
    return { key: metric.key, name: metric.name, role: metric.role, type: metric.type, eventType: metric.eventType, comparisons, variants, timeSeries };
  });

  return {
    experiment: { key: flag.key, name: flag.name, status: flag.status, method: flag.statisticalMethod, confidenceLevel: flag.confidenceLevel, ...(flag.hypothesis ? { hypothesis: flag.hypothesis } : {}) },
    variants: variantKeys.map((key, i) => ({ key, exposures: exposures(key), expectedShare: weights[i]! / weights.reduce((a, b) => a + b, 0) })),
    srm: { pValue: srm.pValue, mismatch: srm.mismatch },
    dataQuality: { multipleVariantUsers, rejectedExposures: quality.rejectedExposures, droppedValues: quality.droppedValues },
    freshness: {
      lastIngestedAt: quality.lastIngestedAt === undefined ? null : new Date(quality.lastIngestedAt).toISOString(),
      secondsSinceIngest: quality.lastIngestedAt === undefined ? null : Math.max(0, Math.round((now - quality.lastIngestedAt) / 1000)),
      queueLagSeconds: quality.queueLagMs === undefined ? null : Math.round(quality.queueLagMs / 100) / 10,
    },
    metrics: reportMetrics,
  };
}

const CSV_COLUMNS = ["metric", "role", "variant", "control", "exposures", "n", "mean", "difference", "lift", "ci_low", "ci_high", "relative_ci_low", "relative_ci_high", "p_value", "verdict", "method", "srm_p_value"];

const csvCell = (value: unknown): string => {
  const text = value === undefined || value === null || (typeof value === "number" && !Number.isFinite(value)) ? "" : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

export function reportCsv(report: Report): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const metric of report.metrics) {
    for (const v of metric.variants) {
      const c = v.comparison;
      lines.push(
        [metric.key, metric.role, v.variant, v.control, v.exposures, v.n, v.mean, c?.difference, c?.lift, c?.ci[0], c?.ci[1], c?.relativeCi[0], c?.relativeCi[1], c?.pValue, c?.verdict, report.experiment.method, report.srm.pValue]
          .map(csvCell)
          .join(","),
      );
    }
  }
  return `${lines.join("\n")}\n`;
}
