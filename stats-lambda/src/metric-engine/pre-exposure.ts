/**
 * CUPED's covariate (stats-lambda/src/report/cuped.ts): per metric `K`, each unit's value of
 * K over the PRE_EXPOSURE_DAYS before its first exposure, x, and the two series the report
 * pairs it with y by:
 *
 * | series        | day                         | n                  | sum            | sumSquares |
 * | ------------- | --------------------------- | ------------------ | -------------- | ---------- |
 * | `K:pre`       | the unit's exposure day     | units with history | Σx (scaled)    | Σx²        |
 * | `K:pre:cross` | the day the unit's y moves  | 0                  | Σx·(y − y_prev) | 0         |
 *
 * "History" is any event of K's event type in the window (filters aside); a unit without one
 * has x = 0, as gbstats fills it. x is the metric's own value rule without its window (the
 * window is relative to exposure, which has not happened yet): a unique conversion's 1 once
 * a qualifying event occurred, an event total's count, a property sum's Σ, each capped at the
 * metric's fixed `capValue` like y. Copies of an event (one id) count once.
 *
 * Only the metrics CUPED can use get a covariate: unique conversions, event totals and
 * property sums (cuped.ts refuses ratios and averages; a funnel's or a retention's value
 * before exposure is not the same metric). The window's events are read by a scan of their
 * own (`pre_rows`, from the period's start less the window), joined to `units`.
 */
import { VALUE_SCALE } from "../../../shared/metric-values.js";
import type { MetricDefinition } from "../../../shared/metrics/definition.js";
import { clamp, DAY_MS, dayOf, dec, scaledValue, seriesRow, VALUE_LIMIT } from "./expressions.js";
import { selectorSql } from "./filters.js";
import type { QueryParts } from "./query-parts.js";
import { sqlIdent as id, sqlInteger, sqlString } from "./sql.js";

/** The pre-exposure window, in days (the report's PRE_EXPOSURE_DAYS names the same). */
export const PRE_EXPOSURE_DAYS = 14;
const WINDOW_MS = PRE_EXPOSURE_DAYS * DAY_MS;

type Covaried = Extract<MetricDefinition, { type: "unique_conversions" | "event_totals" | "property_sum" }>;

export const hasCovariate = (metric: MetricDefinition): metric is Covaried =>
  metric.type === "unique_conversions" || metric.type === "event_totals" || metric.type === "property_sum";

const capOf = (metric: Covaried) =>
  metric.type !== "unique_conversions" && metric.capValue !== undefined
    ? Math.min(VALUE_LIMIT, Math.round(metric.capValue * VALUE_SCALE))
    : VALUE_LIMIT;

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The CTEs and series rows of every covariate; none when the query asks for none or no metric has one. */
export function preExposureParts(parts: QueryParts): { ctes: string[]; series: string[] } {
  const { query, dialect, reading, metrics } = parts;
  const covaried = metrics.filter((m) => hasCovariate(m.metric));
  if (!query.covariates || covaried.length === 0) return { ctes: [], series: [] };

  // Per row of `pre_matched` (alias e): whether it is history, and the metric's increments.
  const when = (condition: string, then: string) => `CASE WHEN ${condition} THEN ${then} ELSE 0 END`;
  const scores = covaried.flatMap(({ metric, name }) => {
    const m = metric as Covaried;
    const selected = selectorSql(m, "e", reading.dialect);
    const columns: [string, string][] = [
      [`${name}_h`, when(`e.event_type = ${sqlString(m.eventType)}`, "1")],
      [`${name}_a`, when(selected, "1")],
    ];
    if (m.type === "property_sum")
      columns.push([
        `${name}_b`,
        when(selected, `COALESCE(${scaledValue(reading.dialect.jsonText(`e.${id("properties")}`, m.property))}, 0)`),
      ]);
    return columns;
  });
  const rendered = scores.map(([, sql]) => sql).join(" ");
  // The JSON members these scores read: event members are extracted in `pre_rows`, unit ones come from `units`.
  const used = [...reading.extracted].filter(([name]) => rendered.includes(`e.${id(name)}`));
  const eventProperties = `e.${id("properties")}`;
  const ofEvent = used.filter(([, x]) => x.column === eventProperties);
  const ofUnit = [...parts.unitColumns, ...used.filter(([, x]) => x.column !== eventProperties).map(([n]) => id(n))];
  const types = [...new Set(covaried.map(({ metric }) => (metric as Covaried).eventType))].sort().map(sqlString);

  const from = query.from - WINDOW_MS;
  const bounds = [
    `${id("project")} = ${sqlString(query.project)}`,
    `${id("time")} >= ${sqlInteger(from)}`,
    `${id("date")} >= ${sqlString(isoDay(from))}`,
    `${id("event_type")} IN (${types.join(", ")})`,
  ];
  if (query.until !== undefined)
    bounds.push(`${id("time")} < ${sqlInteger(query.until)}`, `${id("date")} <= ${sqlString(isoDay(query.until))}`);

  const values = covaried.map(({ metric, name }) => {
    const m = metric as Covaried;
    const value =
      m.type === "unique_conversions"
        ? `CASE WHEN sum(${name}_a) > 0 THEN ${VALUE_SCALE} ELSE 0 END`
        : m.type === "event_totals"
          ? clamp(`sum(${name}_a) * ${VALUE_SCALE}`, capOf(m))
          : clamp(`sum(${name}_b)`, capOf(m));
    return `max(${name}_h) AS ${name}_h, ${value} AS ${name}_x`;
  });
  const scoreNames = scores.map(([name]) => name);
  const ctes = [
    `pre_rows AS (SELECT ${parts.eventUnit} AS unit_key, ${id("event_type")} AS event_type, ${id("time")} AS event_ms, ` +
      `${dialect.idKey(id("id"))} AS event_id` +
      `${ofEvent.map(([name, x]) => `, ${dialect.jsonText(id("event_properties"), x.member)} AS ${id(name)}`).join("")} ` +
      `FROM ${parts.tables.events} WHERE ${bounds.join(" AND ")})`,
    `pre_matched AS (SELECT u.uno AS unit_key, u.variant, u.exposed_ms, e.event_id, e.event_type` +
      `${ofEvent.map(([name]) => `, e.${id(name)}`).join("")}${ofUnit.map((c) => `, u.${c}`).join("")} ` +
      `FROM pre_rows e JOIN units u ON e.unit_key = u.unit_key ` +
      `WHERE e.event_ms < u.exposed_ms AND e.event_ms >= u.exposed_ms - ${sqlInteger(WINDOW_MS)})`,
    // Copies of an event are identical: one row per unit and id.
    `pre_events AS (SELECT unit_key, arbitrary(variant) AS variant, arbitrary(exposed_ms) AS exposed_ms, ` +
      `${scoreNames.map((c) => `max(${c}) AS ${c}`).join(", ")} FROM (SELECT e.unit_key, e.variant, e.exposed_ms, e.event_id` +
      `${scores.map(([name, sql]) => `, ${sql} AS ${name}`).join("")} FROM pre_matched e) AS scored GROUP BY unit_key, event_id)`,
    `pre_units ${dialect.sharedCte} (SELECT unit_key, arbitrary(variant) AS variant, arbitrary(exposed_ms) AS exposed_ms, ` +
      `${values.join(", ")} FROM pre_events GROUP BY unit_key)`,
  ];

  const series = covaried.flatMap(({ metric, name, source }) => {
    const [x, cross] = [sqlString(`${metric.key}:pre`), sqlString(`${metric.key}:pre:cross`)];
    const xs = dec(`p.${name}_x`);
    const covariate =
      `${seriesRow(dayOf("p.exposed_ms"), "p.variant", x, `sum(p.${name}_h)`, `sum(p.${name}_x)`, `sum(${xs} * ${xs})`)} ` +
      "FROM pre_units p GROUP BY 1, 2";
    // Σx·Δy: a conversion's y moves once, by the scale, on its day; a count's or sum's whenever its value changes.
    const moved =
      source === "conversion"
        ? `${seriesRow(`c.${name}_day`, "c.variant", cross, "0", `sum(${xs} * ${VALUE_SCALE})`, "0")} ` +
          `FROM conversions c JOIN pre_units p ON c.unit_key = p.unit_key WHERE c.${name}_day IS NOT NULL AND p.${name}_x <> 0 GROUP BY 1, 2`
        : `${seriesRow("v.day_no", "v.variant", cross, "0", `sum(${xs} * (${dec(`v.${name}_v`)} - ${dec(`v.${name}_pv`)}))`, "0")} ` +
          `FROM val v JOIN pre_units p ON v.unit_key = p.unit_key WHERE p.${name}_x <> 0 GROUP BY 1, 2`;
    return [covariate, moved];
  });
  return { ctes, series };
}
