/**
 * One metric's part of the query (compile.ts): its CTEs and its series rows.
 *
 * Every type first yields per unit and day two increments, `a` and `b`, from the unit's
 * matching events in its window (`<name>_inc`); `<name>_val` cumulates them per unit (`ca`,
 * `cb`: up to the end of the day) and computes the unit's value then (`v`) and the day
 * before (`pv`, from `ca - a`, `cb - b`). A series row is Σ(v − pv) and Σ(v² − pv²) per
 * (day, variant): summed up to any day, they are that day's Σx and Σx² (stats-lambda/src/
 * metrics.ts keeps the same daily deltas event by event). Per type:
 *
 * | type               | a               | b              | value (scaled)                               |
 * | ------------------ | --------------- | -------------- | -------------------------------------------- |
 * | unique_conversions | events          | 0              | 1 once a > 0                                 |
 * | event_totals       | events          | 0              | count, capped at `capValue`                  |
 * | property_sum       | valid values    | Σ property     | Σ, capped at ±`capValue`                     |
 * | property_average   | valid values    | Σ property     | round(Σ / count), capped; n: 1 on its first  |
 * | ratio              | numerator       | denominator    | `K` Σx, `K:den` Σy, `K:cross` Σxy; n = units |
 * | funnel             | 1 on conversion | 0              | 1 from the day of the last step              |
 * | retention          | events in day N | 0              | 1 once a > 0                                 |
 *
 * Capped types (event totals, sums, averages) also move the unit between histogram buckets
 * (`<key>~<bucket>`) when its value changes: −1 from the old bucket, +1 into the new (0 has
 * no bucket), as shared/stats/winsorize.ts expects.
 */
import { VALUE_SCALE } from "../../../shared/metric-values.js";
import { isCappedMetric, type MetricDefinition } from "../../../shared/metrics/definition.js";
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

/** Every event type a metric reads. */
export function eventTypesOf(metrics: readonly MetricDefinition[]): string[] {
  const types = new Set<string>();
  for (const metric of metrics) {
    if (metric.type === "ratio") types.add(metric.numerator.eventType).add(metric.denominator.eventType);
    else if (metric.type === "funnel") for (const step of metric.steps) types.add(step.eventType);
    else types.add(metric.eventType);
  }
  return [...types].sort();
}

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

/** The increments CTE `<name>_inc` (unit_key, variant, day, a, b). */
function incrementsSql(metric: MetricDefinition, name: string, dialect: Dialect): string[] {
  const inc = (from: string) =>
    `${name}_inc AS (SELECT unit_key, variant, ${dayOf("event_ms")} AS day_no, ${from} GROUP BY 1, 2, 3)`;
  const properties = `e.${sqlIdent("properties")}`;
  switch (metric.type) {
    case "unique_conversions":
    case "event_totals":
      return [
        inc(
          `count(*) AS a, 0 AS b FROM matched e WHERE ${selectorSql(metric, "e", dialect)} AND ${windowSql(metric, "e")}`,
        ),
      ];
    case "property_sum":
    case "property_average":
      return [
        `${name}_raw AS (SELECT e.unit_key, e.variant, e.event_ms, ${scaledValue(dialect.jsonText(properties, metric.property))} AS x ` +
          `FROM matched e WHERE ${selectorSql(metric, "e", dialect)} AND ${windowSql(metric, "e")})`,
        inc(`count(*) AS a, sum(x) AS b FROM ${name}_raw WHERE x IS NOT NULL`),
      ];
    case "ratio": {
      const side = (s: typeof metric.numerator) => {
        const amount =
          s.property === undefined ? String(VALUE_SCALE) : scaledValue(dialect.jsonText(properties, s.property));
        return `CASE WHEN ${selectorSql(s, "e", dialect)} THEN COALESCE(${amount}, 0) ELSE 0 END`;
      };
      const either = `(${selectorSql(metric.numerator, "e", dialect)}) OR (${selectorSql(metric.denominator, "e", dialect)})`;
      return [
        `${name}_raw AS (SELECT e.unit_key, e.variant, e.event_ms, ${side(metric.numerator)} AS x, ${side(metric.denominator)} AS y ` +
          `FROM matched e WHERE (${either}) AND ${windowSql(metric, "e")})`,
        inc(`sum(x) AS a, sum(y) AS b FROM ${name}_raw`),
      ];
    }
    case "retention": {
      const from = metric.mode === "within" ? Math.min(1, metric.day) : metric.day;
      const days = `e.event_ms >= e.exposed_ms + ${sqlInteger(from * DAY_MS)} AND e.event_ms < e.exposed_ms + ${sqlInteger((metric.day + 1) * DAY_MS)}`;
      return [
        inc(
          `count(*) AS a, 0 AS b FROM matched e WHERE ${selectorSql(metric, "e", dialect)} AND ${windowSql(metric, "e")} AND ${days}`,
        ),
      ];
    }
    case "funnel": {
      // Per first step (inside the window), the earliest completion of each next step after
      // the previous one (the earliest is never worse for the steps after it), within the
      // conversion window of the first; the unit converts at its earliest last step.
      const within = hours(metric.conversionWindowHours);
      const [first, ...rest] = metric.steps;
      const steps = [
        `${name}_f0 AS (SELECT e.unit_key, e.variant, e.event_ms AS first_ms, e.event_ms AS step_ms ` +
          `FROM matched e WHERE ${selectorSql(first!, "e", dialect)} AND ${windowSql(metric, "e")})`,
      ];
      rest.forEach((step, i) => {
        steps.push(
          `${name}_f${i + 1} AS (SELECT f.unit_key, f.variant, f.first_ms, min(e.event_ms) AS step_ms ` +
            `FROM ${name}_f${i} f JOIN matched e ON e.unit_key = f.unit_key AND e.event_ms > f.step_ms AND e.event_ms < f.first_ms + ${within} ` +
            `WHERE ${selectorSql(step, "e", dialect)} GROUP BY 1, 2, 3)`,
        );
      });
      steps.push(
        `${name}_inc AS (SELECT unit_key, variant, ${dayOf("min(step_ms)")} AS day_no, 1 AS a, 0 AS b ` +
          `FROM ${name}_f${rest.length} GROUP BY 1, 2)`,
      );
      return steps;
    }
  }
}

export function metricSql(
  metric: MetricDefinition,
  name: string,
  dialect: Dialect,
): { ctes: string[]; series: string[] } {
  const ratio = metric.type === "ratio";
  const values = [
    `${valueSql(metric, "ca", "cb")} AS v`,
    `${valueSql(metric, "ca - a", "cb - b")} AS pv`,
    ...(ratio ? [`${clamp("cb", VALUE_LIMIT)} AS w`, `${clamp("(cb - b)", VALUE_LIMIT)} AS pw`] : []),
    `CASE WHEN ca > 0 AND ca - a = 0 THEN 1 ELSE 0 END AS is_first`,
  ];
  const ctes = [
    ...incrementsSql(metric, name, dialect),
    `${name}_val AS (SELECT variant, day_no, ${values.join(", ")} FROM (` +
      `SELECT *, sum(a) ${CUMULATIVE} AS ca, sum(b) ${CUMULATIVE} AS cb FROM ${name}_inc) AS cumulated)`,
  ];
  const key = sqlString(metric.key);
  const deltas = (v: string, pv: string) => [
    `sum(${dec(v)} - ${dec(pv)})`,
    `sum(${dec(v)} * ${dec(v)} - ${dec(pv)} * ${dec(pv)})`,
  ];
  const [s, q] = deltas("v", "pv");
  const n = metric.type === "property_average" ? "sum(is_first)" : "0";
  const series = [`${seriesRow("day_no", "variant", key, n, s!, q!)} FROM ${name}_val GROUP BY 1, 2`];
  if (ratio) {
    const [ys, yq] = deltas("w", "pw");
    series.push(
      `${seriesRow("day_no", "variant", sqlString(`${metric.key}:den`), "0", ys!, yq!)} FROM ${name}_val GROUP BY 1, 2`,
      `${seriesRow("day_no", "variant", sqlString(`${metric.key}:cross`), "0", `sum(${dec("v")} * ${dec("w")} - ${dec("pv")} * ${dec("pw")})`, "0")} FROM ${name}_val GROUP BY 1, 2`,
      // n = the exposed units, on both sides.
      ...[metric.key, `${metric.key}:den`].map(
        (series) =>
          `${seriesRow(dayOf("exposed_ms"), "variant", sqlString(series), "count(*)", "0", "0")} FROM units GROUP BY 1, 2`,
      ),
    );
  }
  if (isCappedMetric(metric)) {
    ctes.push(
      `${name}_moves AS (SELECT day_no, variant, v AS x, 1 AS dir FROM ${name}_val WHERE v <> pv AND v <> 0 ` +
        `UNION ALL SELECT day_no, variant, pv AS x, -1 AS dir FROM ${name}_val WHERE v <> pv AND pv <> 0)`,
    );
    series.push(
      `${seriesRow("day_no", "variant", `${sqlString(`${metric.key}~`)} || CAST(bucket AS VARCHAR)`, "sum(dir)", `sum(${dec("dir * x")})`, `sum(${dec("dir")} * ${dec("x")} * ${dec("x")})`)} ` +
        `FROM (SELECT day_no, variant, x, dir, ${histogramBucketSql("x")} AS bucket FROM ${name}_moves) AS moves GROUP BY 1, 2, 3`,
    );
  }
  return { ctes, series };
}
