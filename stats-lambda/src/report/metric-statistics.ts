/**
 * Stage 2a: a metric's statistics per variant per look, by kind of metric. Each kind says
 * how its series become SufficientStats (what the tests consume) and which gate it has:
 *
 * - binary (unique conversions, funnels, retention): mean = the share of units with a 1,
 *   over exposed units; gated on 25 converted units per arm.
 * - counts (event totals): over exposed units; no conversion gate; capped like sums when the
 *   source sends their histogram (the metric engine does, ingest does not).
 * - sums and averages: over exposed units (averages: over units with an event), capped at a
 *   quantile of their non-zero values' histogram unless a fixed cap or percentile 1 is set
 *   (unset: between the 97.5th and 99.5th percentile by the smallest arm's units with a value);
 *   gated on 25 units with a non-zero value per arm. Each look's cap reports the share of
 *   units it capped and of the total it removed. Uncapped (percentile 1), the metric is
 *   flagged heavy-tailed when the default cap would remove ≥ HEAVY_TAIL_REMOVED_SHARE of its
 *   total: the t statistic is then skewed, most at unequal splits (12.95% A/A false
 *   positives at 90/10 for lognormal(3, 2) revenue, issue 22).
 * - ratios: Σx/Σy per variant from `K`, `K:den`, `K:cross` by the delta method
 *   (shared/stats/delta-method.ts); no conversion gate (a ratio without a denominator has no
 *   variance, which the tests already refuse).
 */
import { DEFAULT_CAP_PERCENTILE } from "../../../shared/authoring/schema.js";
import { VALUE_SCALE } from "../../../shared/metric-values.js";
import {
  capEffect,
  capStatistics,
  defaultCapPercentile,
  fromExactSums,
  quantileCaps,
  ratioStatistics,
  type CapEffect,
  type Caps,
  type RatioSums,
  type SufficientStats,
} from "../../../shared/stats/index.js";
import type { Cumulative } from "./cumulative.js";
import { isBinaryMetric } from "../../../shared/metrics/binary.js";
import type { MetricDefinitionLike } from "./registration.js";

/** The series a ratio metric `K` arrives as: numerator (n = units, Σx, Σx²), denominator (Σy, Σy²), Σxy. */
export const ratioSeries = (key: string) => ({ numerator: key, denominator: `${key}:den`, cross: `${key}:cross` });

export type MetricKind = "binary" | "count" | "distribution" | "ratio";

const DISTRIBUTION_TYPES = new Set(["property_sum", "property_average"]);

export function kindOf(metric: Pick<MetricDefinitionLike, "type">): MetricKind {
  if (isBinaryMetric(metric)) return "binary";
  if (DISTRIBUTION_TYPES.has(metric.type)) return "distribution";
  if (metric.type === "ratio") return "ratio";
  return "count";
}

/** Uncapped, a metric is heavy-tailed when the default cap would remove this share of its total or more. */
export const HEAVY_TAIL_REMOVED_SHARE = 0.05;

export interface MetricStatistics {
  kind: MetricKind;
  /** Whether the metric is capped at a quantile (then `caps` holds each look's cap). */
  capped: boolean;
  caps: Caps[];
  /** Each look's cap percentile (capped metrics): the metric's own, or the default by the smallest arm. */
  capPercentiles?: number[];
  /** What the cap does at a look (capped metrics only): shares of units capped and of the total removed. */
  capEffect?: (day: number) => CapEffect;
  /** Sums and averages set to percentile 1: whether the values are heavy-tailed at a look. */
  heavyTail?: (day: number) => boolean;
  /** The analysed statistics: capped, when the metric is. */
  stats(variant: string, day: number): SufficientStats;
  /** Before any quantile cap. */
  raw(variant: string, day: number): SufficientStats;
  /** A ratio's exact sums (numerator, denominator, cross) at a look: ratios only. */
  ratioSums?: (variant: string, day: number) => RatioSums;
  /** Units with a non-zero value, for the conversion gate; undefined for kinds without it. */
  nonZero: ((variant: string, day: number) => number) | undefined;
}

const NO_CAPS: Caps = { upper: undefined, lower: undefined };

export function metricStatistics(
  metric: MetricDefinitionLike,
  data: Cumulative,
  variantKeys: readonly string[],
): MetricStatistics {
  const kind = kindOf(metric);
  const caps = data.days.map(() => NO_CAPS);
  const exact = (variant: string, day: number, units: number) => {
    const sums = data.at(variant, metric.key, day);
    return fromExactSums(units, sums.sum, sums.sumSquares, VALUE_SCALE);
  };
  const overExposed = (variant: string, day: number) => exact(variant, day, data.exposures(variant, day));

  if (kind === "binary") {
    const nonZero = (variant: string, day: number) =>
      Number(data.at(variant, metric.key, day).sum / BigInt(VALUE_SCALE));
    return { kind, capped: false, caps, stats: overExposed, raw: overExposed, nonZero };
  }
  if (kind === "count" && !data.hasHistogram(metric.key))
    return { kind, capped: false, caps, stats: overExposed, raw: overExposed, nonZero: undefined };
  if (kind === "ratio") {
    const series = ratioSeries(metric.key);
    const ratioSums = (variant: string, day: number): RatioSums => {
      const x = data.at(variant, series.numerator, day);
      const y = data.at(variant, series.denominator, day);
      return {
        n: x.n,
        sumX: x.sum,
        sumXSquares: x.sumSquares,
        sumY: y.sum,
        sumYSquares: y.sumSquares,
        sumXY: data.at(variant, series.cross, day).sum,
      };
    };
    const ratio = (variant: string, day: number) => ratioStatistics(ratioSums(variant, day));
    return { kind, capped: false, caps, stats: ratio, raw: ratio, nonZero: undefined, ratioSums };
  }

  // Sums and averages, and counts with a histogram.
  const nonZero = (variant: string, day: number) => {
    let count = 0;
    for (const s of data.histogram(variant, metric.key, day).values()) count += s.n;
    return count;
  };
  // Unset, the percentile follows the smallest arm's units with a value (shared/stats/winsorize.ts).
  const percentileAt = (day: number) =>
    metric.capPercentile ?? defaultCapPercentile(Math.min(...variantKeys.map((v) => nonZero(v, day))));
  const capped = metric.capValue === undefined && (metric.capPercentile ?? DEFAULT_CAP_PERCENTILE) < 1;
  const units = (variant: string, day: number) =>
    metric.type === "property_average" ? data.at(variant, metric.key, day).n : data.exposures(variant, day);
  const raw = (variant: string, day: number) => exact(variant, day, units(variant, day));
  const capsAt = (day: number, at: number) =>
    quantileCaps(
      variantKeys.map((v) => data.histogram(v, metric.key, day)),
      variantKeys.reduce((sum, v) => sum + units(v, day), 0),
      at,
      VALUE_SCALE,
    );
  const capPercentiles = data.days.map((_, day) => (capped ? percentileAt(day) : 1));
  const lookCaps: Caps[] = data.days.map((_, day) => (capped ? capsAt(day, capPercentiles[day]!) : NO_CAPS));
  const cappedAt = (variant: string, day: number, cap: Caps): SufficientStats =>
    cap.upper || cap.lower
      ? capStatistics(data.histogram(variant, metric.key, day), units(variant, day), cap)
      : raw(variant, day);
  const stats = (variant: string, day: number) => cappedAt(variant, day, lookCaps[day]!);
  const effectOf = (day: number, cap: Caps) =>
    capEffect(
      variantKeys.map((v) => data.histogram(v, metric.key, day)),
      variantKeys.map((v) => raw(v, day)),
      variantKeys.map((v) => cappedAt(v, day, cap)),
      cap,
    );
  const extra: Pick<MetricStatistics, "capEffect" | "heavyTail"> = capped
    ? { capEffect: (day) => effectOf(day, lookCaps[day]!) }
    : metric.capValue === undefined && kind === "distribution"
      ? {
          heavyTail: (day) =>
            effectOf(day, capsAt(day, DEFAULT_CAP_PERCENTILE)).removedShare >= HEAVY_TAIL_REMOVED_SHARE,
        }
      : {};
  return {
    kind,
    capped,
    caps: lookCaps,
    ...(capped ? { capPercentiles } : {}),
    stats,
    raw,
    nonZero: kind === "distribution" ? nonZero : undefined,
    ...extra,
  };
}
