/**
 * Breakdowns (issue 27): a report's metrics within each value of a user property recorded
 * with the units' first exposures (country, platform, os, app_version, or a member of the
 * exposures' `user_properties`). The metric engine sends every series per value as
 * `<series>#<value>` (metric-engine/strata.ts); here the most common TOP values each become
 * a segment and the rest one `$other` segment (rows are daily sums over units, so merging
 * values is adding rows), and each segment is analysed as a small experiment of its own:
 *
 * - at the latest look, Welch's t-test per treatment (a fixed-horizon read of what is there:
 *   segments are chosen after the fact, so they are exploratory and never verdicts), behind
 *   the report's minimum-sample gates (analyse.ts `eligibleAt`);
 * - Bonferroni over the metric's family, tested segments × treatments: the chance of any
 *   false "significant" segment of a metric in an A/A test stays ≤ α (breakdowns.simulation.test.ts);
 * - a heterogeneity check per treatment: Cochran's Q over the tested segments' differences
 *   weighted by their inverse variances, χ² with k − 1 degrees of freedom (Cochran 1954,
 *   "The combination of estimates from different experiments"), and Higgins' I²; flagged
 *   when p < α over the treatments.
 */
import chisquareCdf from "@stdlib/stats-base-dists-chisquare-cdf";
import type { Breakdown } from "../../../shared/breakdown-schema.js";
import { variance, welchTTest } from "../../../shared/stats/index.js";
import { EXPOSURES, type AggregateRow } from "../store.js";
import { eligibleAt } from "./analyse.js";
import { Cumulative } from "./cumulative.js";
import type { Experiment } from "./experiment.js";
import { metricStatistics } from "./metric-statistics.js";

/** How many values are shown on their own by default. */
export const BREAKDOWN_TOP = 10;
export const OTHER_SEGMENT = "$other";
const SEPARATOR = "#";

/** The rows of a breakdown query split: the experiment's own, and each value's (renamed to plain series). */
export function splitSegmentRows(rows: readonly AggregateRow[]): {
  main: AggregateRow[];
  segments: Map<string, AggregateRow[]>;
} {
  const main: AggregateRow[] = [];
  const segments = new Map<string, AggregateRow[]>();
  for (const row of rows) {
    const at = row.metric.indexOf(SEPARATOR);
    if (at < 0) {
      main.push(row);
      continue;
    }
    const value = row.metric.slice(at + 1);
    const list = segments.get(value) ?? [];
    list.push({ ...row, metric: row.metric.slice(0, at) });
    segments.set(value, list);
  }
  return { main, segments };
}

const unitsOf = (rows: readonly AggregateRow[]) =>
  rows.reduce((sum, r) => (r.metric === EXPOSURES ? sum + r.n : sum), 0);

/** The TOP most common values, then `$other` holding the rest (when there is any). */
export function topSegments(
  segments: ReadonlyMap<string, AggregateRow[]>,
  top = BREAKDOWN_TOP,
): Array<{ value: string; label: string; rows: AggregateRow[] }> {
  const ranked = [...segments].sort(([a, x], [b, y]) => unitsOf(y) - unitsOf(x) || (a < b ? -1 : 1));
  const shown = ranked
    .slice(0, top)
    .map(([value, rows]) => ({ value, label: value === "" ? "(not set)" : value, rows }));
  const rest = ranked.slice(top);
  if (rest.length > 0)
    shown.push({
      value: OTHER_SEGMENT,
      label: `Other (${rest.length} value${rest.length === 1 ? "" : "s"})`,
      rows: rest.flatMap(([, rows]) => rows),
    });
  return shown;
}

/** Cochran's Q and I² over estimates with their variances; undefined with fewer than two. */
export function cochranQ(estimates: ReadonlyArray<{ estimate: number; variance: number }>) {
  const usable = estimates.filter((e) => e.variance > 0 && Number.isFinite(e.estimate));
  if (usable.length < 2) return undefined;
  const weights = usable.map((e) => 1 / e.variance);
  const total = weights.reduce((a, b) => a + b, 0);
  const pooled = usable.reduce((sum, e, i) => sum + weights[i]! * e.estimate, 0) / total;
  const q = usable.reduce((sum, e, i) => sum + weights[i]! * (e.estimate - pooled) ** 2, 0);
  const degreesOfFreedom = usable.length - 1;
  return {
    q,
    degreesOfFreedom,
    pValue: Math.max(0, 1 - chisquareCdf(q, degreesOfFreedom)),
    iSquared: q > 0 ? Math.max(0, (q - degreesOfFreedom) / q) : 0,
  };
}

export function buildBreakdown(
  experiment: Experiment,
  property: string,
  segmentRows: ReadonlyMap<string, AggregateRow[]>,
  top = BREAKDOWN_TOP,
): Breakdown {
  const { variantKeys, controlKey, treatments, alpha, metrics } = experiment;
  const segments = topSegments(segmentRows, top).map((s) => ({ ...s, data: new Cumulative(s.rows) }));
  return {
    property,
    exploratory: true,
    top,
    metrics: metrics.map((metric) => {
      const analysed = segments.map((segment) => {
        const { data } = segment;
        const statistics = metricStatistics(metric, data, variantKeys);
        const day = data.last;
        const tested = day < 0 ? [] : treatments.filter((t) => eligibleAt(data, statistics, controlKey, t, day));
        return { segment, statistics, day, tested };
      });
      const familySize = Math.max(
        1,
        analysed.reduce((sum, a) => sum + a.tested.length, 0),
      );
      const level = alpha / familySize;
      const perTreatment = new Map(treatments.map((t) => [t, [] as Array<{ estimate: number; variance: number }>]));
      const out = analysed.map(({ segment, statistics, day, tested }) => ({
        value: segment.value,
        label: segment.label,
        units: day < 0 ? 0 : variantKeys.reduce((sum, v) => sum + segment.data.exposures(v, day), 0),
        variants: variantKeys.map((key) => {
          const stats = day < 0 ? undefined : statistics.stats(key, day);
          return { key, exposures: day < 0 ? 0 : segment.data.exposures(key, day), mean: stats?.n ? stats.mean : null };
        }),
        comparisons: tested.flatMap((treatment) => {
          const [c, t] = [statistics.stats(controlKey, day), statistics.stats(treatment, day)];
          const result = welchTTest(c, t, { alpha: level });
          if (!result) return [];
          perTreatment.get(treatment)!.push({
            estimate: result.difference,
            variance: variance(c) / c.n + variance(t) / t.n,
          });
          const adjustedPValue = Math.min(1, result.pValue * familySize);
          return [
            {
              treatment,
              difference: result.difference,
              lift: Number.isFinite(result.lift) ? result.lift : null,
              ci: result.ci,
              pValue: result.pValue,
              adjustedPValue,
              significant: adjustedPValue < alpha,
            },
          ];
        }),
      }));
      return {
        key: metric.key,
        familySize,
        segments: out,
        heterogeneity: treatments.flatMap((treatment) => {
          const q = cochranQ(perTreatment.get(treatment)!);
          return q ? [{ treatment, ...q, flagged: q.pValue < alpha / treatments.length }] : [];
        }),
      };
    }),
  };
}

const BREAKDOWN_CSV_COLUMNS = [
  "property",
  "metric",
  "segment",
  "label",
  "units",
  "treatment",
  "difference",
  "lift",
  "ci_lower",
  "ci_upper",
  "p_value",
  "adjusted_p_value",
  "significant",
  "family_size",
  "heterogeneity_p_value",
  "heterogeneity_flagged",
  "exploratory",
];

const csvCell = (value: unknown) => {
  if (value === undefined || value === null) return "";
  const text = typeof value === "number" && !Number.isFinite(value) ? "" : String(value);
  // A segment's value is user input: quoted, a leading =, +, - or @ is not read as a formula by spreadsheets.
  const formula = typeof value === "string" && /^[=+\-@\t]/.test(text);
  return /[",\n\r]/.test(text) || formula ? `"${formula ? "'" : ""}${text.replaceAll('"', '""')}"` : text;
};

/** One line per metric, segment and treatment (a segment too small to test: one line without a comparison). */
export function breakdownCsv(breakdown: Breakdown): string {
  const lines = [BREAKDOWN_CSV_COLUMNS.join(",")];
  for (const metric of breakdown.metrics)
    for (const segment of metric.segments) {
      const comparisons = segment.comparisons.length > 0 ? segment.comparisons : [undefined];
      for (const c of comparisons) {
        const q = c && metric.heterogeneity.find((h) => h.treatment === c.treatment);
        lines.push(
          [
            breakdown.property,
            metric.key,
            segment.value,
            segment.label,
            segment.units,
            c?.treatment,
            c?.difference,
            c?.lift,
            c?.ci[0],
            c?.ci[1],
            c?.pValue,
            c?.adjustedPValue,
            c?.significant,
            metric.familySize,
            q?.pValue,
            q?.flagged,
            true,
          ]
            .map(csvCell)
            .join(","),
        );
      }
    }
  return `${lines.join("\n")}\n`;
}
