/**
 * One metric's parts of the one-pass report query (compile.ts).
 *
 * Every matched event row is scored once (`scored`) for every metric: per metric, its
 * increments `a` and `b` from that row (0 when the row does not count for it), or, for a
 * funnel, one flag per step. Per unit and day the increments are summed (`inc`), cumulated
 * per unit in one window pass into the unit's value at the end of each day (`v`) and the day
 * before (`pv`, from `ca - a`, `cb - b`) (`val`), and summed per (day, variant) once for all
 * metrics (`totals`): Σ(v − pv) and Σ(v² − pv²), summed up to any day, are that day's Σx and
 * Σx² (stats-lambda/src/metrics.ts keeps the same daily deltas event by event). Per type:
 *
 * | type               | a (per event)   | b              | value (scaled)                               |
 * | ------------------ | --------------- | -------------- | -------------------------------------------- |
 * | unique_conversions | 1               | –              | 1 once a > 0                                 |
 * | event_totals       | 1               | –              | count, capped at `capValue`                  |
 * | property_sum       | 1 if valid      | the value      | Σ, capped at ±`capValue`                     |
 * | property_average   | 1 if valid      | the value      | round(Σ / count), capped; n: 1 on its first  |
 * | ratio              | numerator       | denominator    | `K` Σx, `K:den` Σy, `K:cross` Σxy; n = units |
 * | funnel             | 1 on conversion | –              | 1 from the day of the last step              |
 * | retention          | 1 in day N      | –              | 1 once a > 0                                 |
 *
 * Where copies of an event (one id) would change the value (counts and sums: `counted`) the
 * increments are summed over distinct ids; where they cannot (a conversion's, a retention's
 * "a > 0" on the day of its first event, a funnel's times) over the rows as they are, which
 * spares the de-duplication of the rows they read.
 *
 * Capped types (event totals, sums, averages) also move the unit between histogram buckets
 * (`<key>~<bucket>`) when its value changes: −1 from the old bucket, +1 into the new (0 has
 * no bucket), as shared/stats/winsorize.ts expects.
 */
import { VALUE_SCALE } from "../../../shared/metric-values.js";
import { type EventSelector, isCappedMetric, type MetricDefinition } from "../../../shared/metrics/definition.js";
import type { Dialect } from "./dialect.js";
import {
  clamp,
  DAY_MS,
  dayOf,
  dec,
  histogramBucketSql,
  jsRound,
  scaledValue,
  seriesRow,
  VALUE_LIMIT,
} from "./expressions.js";
import { selectorSql } from "./filters.js";
import { sqlIdent, sqlInteger, sqlString } from "./sql.js";

const HOUR_MS = 3_600_000;
const hours = (h: number) => sqlInteger(Math.round(h * HOUR_MS));
const CUMULATIVE = "OVER (PARTITION BY unit_key ORDER BY day_no ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)";
const LATER = "OVER (PARTITION BY unit_key ORDER BY event_ms ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)";

/** The event selectors a metric reads, each with whether it sums a property of its events. */
export function selectorsOf(metric: MetricDefinition): { selector: EventSelector; summed: boolean }[] {
  if (metric.type === "ratio")
    return [metric.numerator, metric.denominator].map((side) => ({
      selector: side,
      summed: side.property !== undefined,
    }));
  if (metric.type === "funnel") return metric.steps.map((step) => ({ selector: step, summed: false }));
  return [{ selector: metric, summed: metric.type === "property_sum" || metric.type === "property_average" }];
}

/** Every event type the metrics read. */
export const eventTypesOf = (metrics: readonly MetricDefinition[]): string[] =>
  [...new Set(metrics.flatMap(selectorsOf).map(({ selector }) => selector.eventType))].sort();

/**
 * How a metric is computed: a conversion (the unit's first qualifying day, over the rows as
 * they are), increments summed over distinct event ids, or its funnel pass.
 */
export type MetricSource = "conversion" | "counted" | "funnel";

export const sourceOf = (metric: MetricDefinition): MetricSource =>
  metric.type === "funnel"
    ? "funnel"
    : metric.type === "unique_conversions" || metric.type === "retention"
      ? "conversion"
      : "counted";

/** The metric's window on row `alias` of `matched`: from exposure + startHours to exposure + endHours. */
function windowSql(metric: MetricDefinition, alias: string): string {
  const start = metric.window?.startHours ?? 0;
  const end = metric.window?.endHours;
  const parts = [`${alias}.event_ms >= ${alias}.exposed_ms + ${hours(start)}`];
  if (end !== undefined) parts.push(`${alias}.event_ms < ${alias}.exposed_ms + ${hours(end)}`);
  return parts.join(" AND ");
}

/** The scaled cap of a capped metric (its `capValue`, within the value bound). */
const capOf = (metric: MetricDefinition) =>
  "capValue" in metric && metric.capValue !== undefined
    ? Math.min(VALUE_LIMIT, Math.round(metric.capValue * VALUE_SCALE))
    : VALUE_LIMIT;

const binary = (count: string) => `CASE WHEN ${count} > 0 THEN ${VALUE_SCALE} ELSE 0 END`;

/** The unit's value from its cumulated increments (count `a`, sum `b`). */
function valueSql(metric: MetricDefinition, count: string, sum: string): string {
  const [a, b] = [`(${count})`, `(${sum})`];
  const cap = capOf(metric);
  switch (metric.type) {
    case "event_totals":
      return clamp(`${a} * ${VALUE_SCALE}`, cap);
    case "property_sum":
      return clamp(b, cap);
    case "property_average":
      return `CASE WHEN ${a} > 0 THEN ${clamp(jsRound(`CAST(${b} AS DOUBLE) / CAST(${a} AS DOUBLE)`), cap)} ELSE 0 END`;
    case "ratio":
      return clamp(a, VALUE_LIMIT);
    default:
      return binary(a);
  }
}

/** Whether the metric has a `b` increment (a sum beside its count). */
export const hasSum = (metric: MetricDefinition) =>
  metric.type === "property_sum" || metric.type === "property_average" || metric.type === "ratio";

const inWindowSql = (metric: MetricDefinition, selector: EventSelector, dialect: Dialect) =>
  `${selectorSql(selector, "e", dialect)} AND ${windowSql(metric, "e")}`;

/** Whether row `e` of `matched` converts the unit, for a conversion metric (unique conversions, retention). */
export type ConversionMetric = Extract<MetricDefinition, { type: "unique_conversions" | "retention" }>;

export function conditionSql(metric: ConversionMetric, dialect: Dialect): string {
  if (metric.type === "unique_conversions") return inWindowSql(metric, metric, dialect);
  const from = metric.mode === "within" ? Math.min(1, metric.day) : metric.day;
  const days = `e.event_ms >= e.exposed_ms + ${sqlInteger(from * DAY_MS)} AND e.event_ms < e.exposed_ms + ${sqlInteger((metric.day + 1) * DAY_MS)}`;
  return `${inWindowSql(metric, metric, dialect)} AND ${days}`;
}

/**
 * The metric's columns over row `e` of `matched`: a count or sum's increments `<name>_a`
 * (and `<name>_b`), or a funnel's step flags `<name>_s<k>` (1 or 0).
 */
export function scoredColumns(
  metric: Exclude<MetricDefinition, ConversionMetric>,
  name: string,
  dialect: Dialect,
): [string, string][] {
  const properties = `e.${sqlIdent("properties")}`;
  const when = (condition: string, then: string) => `CASE WHEN ${condition} THEN ${then} ELSE 0 END`;
  const inWindow = (selector: EventSelector) => inWindowSql(metric, selector, dialect);
  switch (metric.type) {
    case "event_totals":
      return [[`${name}_a`, when(inWindow(metric), "1")]];
    case "property_sum":
    case "property_average": {
      const x = scaledValue(dialect.jsonText(properties, metric.property));
      return [
        [`${name}_a`, when(`${inWindow(metric)} AND ${x} IS NOT NULL`, "1")],
        [`${name}_b`, when(inWindow(metric), `COALESCE(${x}, 0)`)],
      ];
    }
    case "ratio": {
      const side = (s: typeof metric.numerator) => {
        const amount =
          s.property === undefined ? String(VALUE_SCALE) : scaledValue(dialect.jsonText(properties, s.property));
        return when(inWindow(s), `COALESCE(${amount}, 0)`);
      };
      return [
        [`${name}_a`, side(metric.numerator)],
        [`${name}_b`, side(metric.denominator)],
      ];
    }
    case "funnel":
      // The first step inside the metric's window; the later ones any time after it.
      return metric.steps.map((step, k) => [
        `${name}_s${k}`,
        when(k === 0 ? inWindow(step) : selectorSql(step, "e", dialect), "1"),
      ]);
  }
}

/**
 * A funnel's conversions CTE `<name>_inc` (unit_key, variant, day_no), one ordered pass per
 * unit over its step rows (`<name>_rows`) instead of joins. The rows of one (unit, time) are
 * merged first, so "the next rows" are the strictly later times. (A RANGE frame over the
 * milliseconds says the same without the merge, but DuckDB runs it at twice the cost.)
 * Backwards from the last step, `c<k>` is the time a unit completes the steps from k on when
 * it does step k at this row, taking the earliest next step each time (the earliest is never
 * worse for the steps after it, so the completion only grows with the start, and the
 * earliest completion among the later rows of step k + 1 is that of the first of them). The
 * unit converts at its earliest completion within the conversion window of the first step.
 */
export function funnelCtes(metric: Extract<MetricDefinition, { type: "funnel" }>, name: string): string[] {
  const n = metric.steps.length;
  const flags = metric.steps.map((_, k) => `${name}_s${k}`);
  const ctes = [
    `${name}_t AS (SELECT unit_key, variant, event_ms, ${flags.map((f) => `max(${f}) AS ${f}`).join(", ")}, ` +
      `CASE WHEN max(${flags[n - 1]}) = 1 THEN event_ms END AS ${name}_c${n - 1} FROM ${name}_rows GROUP BY 1, 2, 3)`,
  ];
  let from = `${name}_t`;
  for (let k = n - 2; k >= 0; k--) {
    ctes.push(
      `${name}_c${k} AS (SELECT *, CASE WHEN ${flags[k]} = 1 THEN min(${name}_c${k + 1}) ${LATER} END AS ${name}_c${k} FROM ${from})`,
    );
    from = `${name}_c${k}`;
  }
  ctes.push(
    `${name}_inc AS (SELECT unit_key, variant, ${dayOf(`min(${name}_c0)`)} AS day_no FROM ${from} ` +
      `WHERE ${name}_c0 < event_ms + ${hours(metric.conversionWindowHours)} GROUP BY 1, 2)`,
  );
  return ctes;
}

/** The metric's columns of `val` (from `inc`'s `<name>_a`, `<name>_b` and their cumulations). */
export function valueColumns(metric: MetricDefinition, name: string): string[] {
  const [a, b, ca, cb] = [`${name}_a`, `${name}_b`, `${name}_ca`, `${name}_cb`];
  const sum = hasSum(metric);
  return [
    `${valueSql(metric, ca, sum ? cb : "0")} AS ${name}_v`,
    `${valueSql(metric, `${ca} - ${a}`, sum ? `${cb} - ${b}` : "0")} AS ${name}_pv`,
    ...(metric.type === "ratio"
      ? [`${clamp(cb, VALUE_LIMIT)} AS ${name}_w`, `${clamp(`(${cb} - ${b})`, VALUE_LIMIT)} AS ${name}_pw`]
      : []),
    ...(metric.type === "property_average"
      ? [`CASE WHEN ${ca} > 0 AND ${ca} - ${a} = 0 THEN 1 ELSE 0 END AS ${name}_first`]
      : []),
  ];
}

/** The cumulations of `inc`'s increments, per unit up to the end of each day. */
export const cumulatedColumns = (metric: MetricDefinition, name: string): string[] => [
  `sum(${name}_a) ${CUMULATIVE} AS ${name}_ca`,
  ...(hasSum(metric) ? [`sum(${name}_b) ${CUMULATIVE} AS ${name}_cb`] : []),
];

const deltas = (v: string, pv: string) => [
  `sum(${dec(v)} - ${dec(pv)})`,
  `sum(${dec(v)} * ${dec(v)} - ${dec(pv)} * ${dec(pv)})`,
];

/** The metric's columns of `totals` (per day and variant, over `val`). */
export function totalColumns(metric: MetricDefinition, name: string): string[] {
  const [s, q] = deltas(`${name}_v`, `${name}_pv`);
  const columns = [`${s} AS ${name}_s`, `${q} AS ${name}_q`];
  if (metric.type === "property_average") columns.push(`sum(${name}_first) AS ${name}_n`);
  if (metric.type === "ratio") {
    const [ys, yq] = deltas(`${name}_w`, `${name}_pw`);
    columns.push(
      `${ys} AS ${name}_ys`,
      `${yq} AS ${name}_yq`,
      `sum(${dec(`${name}_v`)} * ${dec(`${name}_w`)} - ${dec(`${name}_pv`)} * ${dec(`${name}_pw`)}) AS ${name}_xy`,
    );
  }
  return columns;
}

/**
 * A binary metric's series from one row per converted unit with its day `day`: on that day
 * its value goes from 0 to 1 (scaled), so Σx and Σx² grow by the scale and its square.
 */
const conversionSeries = (key: string, day: string, from: string) =>
  `${seriesRow(day, "variant", key, "0", `count(*) * ${VALUE_SCALE}`, `count(*) * ${VALUE_SCALE * VALUE_SCALE}`)} ` +
  `FROM ${from} WHERE ${day} IS NOT NULL GROUP BY 1, 2`;

/** The metric's series rows (from `conversions`, a funnel's, `totals`, `units`, `val`) and its CTEs after them. */
export function seriesSql(metric: MetricDefinition, name: string): { ctes: string[]; series: string[] } {
  const key = sqlString(metric.key);
  const source = sourceOf(metric);
  if (source === "conversion") return { ctes: [], series: [conversionSeries(key, `${name}_day`, "conversions")] };
  if (source === "funnel") return { ctes: [], series: [conversionSeries(key, "day_no", `${name}_inc`)] };
  const n = metric.type === "property_average" ? `${name}_n` : "0";
  const series = [`${seriesRow("day_no", "variant", key, n, `${name}_s`, `${name}_q`)} FROM totals`];
  const ctes: string[] = [];
  if (metric.type === "ratio") {
    series.push(
      `${seriesRow("day_no", "variant", sqlString(`${metric.key}:den`), "0", `${name}_ys`, `${name}_yq`)} FROM totals`,
      `${seriesRow("day_no", "variant", sqlString(`${metric.key}:cross`), "0", `${name}_xy`, "0")} FROM totals`,
      // n = the exposed units, on both sides.
      ...[metric.key, `${metric.key}:den`].map(
        (series) =>
          `${seriesRow(dayOf("exposed_ms"), "variant", sqlString(series), "count(*)", "0", "0")} FROM units GROUP BY 1, 2`,
      ),
    );
  }
  if (isCappedMetric(metric)) {
    const [v, pv] = [`${name}_v`, `${name}_pv`];
    ctes.push(
      `${name}_moves AS (SELECT day_no, variant, ${v} AS x, 1 AS dir FROM val WHERE ${v} <> ${pv} AND ${v} <> 0 ` +
        `UNION ALL SELECT day_no, variant, ${pv} AS x, -1 AS dir FROM val WHERE ${v} <> ${pv} AND ${pv} <> 0)`,
    );
    series.push(
      `${seriesRow("day_no", "variant", `${sqlString(`${metric.key}~`)} || CAST(bucket AS VARCHAR)`, "sum(dir)", `sum(${dec("dir * x")})`, `sum(${dec("dir")} * ${dec("x")} * ${dec("x")})`)} ` +
        `FROM (SELECT day_no, variant, x, dir, ${histogramBucketSql("x")} AS bucket FROM ${name}_moves) AS moves GROUP BY 1, 2, 3`,
    );
  }
  return { ctes, series };
}
