/**
 * An experiment's metrics as one logical query over the event store's views `exposures` and
 * `events` (event-store/columns.ts, plus the partition columns `project` and `date`),
 * rendered for a dialect (dialect.ts). It returns only sufficient statistics: per day and
 * variant, the rows of stats-lambda/src/store.ts's `AggregateRow` (daily deltas of n, Σx,
 * Σx², exact scaled integers), so the report reads them exactly as it read DynamoDB's.
 *
 * Stages (each a CTE):
 * 1. `exposed`: the experiment's trusted exposures in its analysis period (by number, and
 *    within its start/stop times); `units`: each unit's first exposure (its variant, day,
 *    allocation and user properties).
 * 2. `deduped`: the project's events of the metrics' event types in the period, one row per
 *    id, with their unit by the experiment's bucketing unit; `matched`: joined to their
 *    unit, from its first exposure on, whenever they were delivered.
 * 3. Per metric (metric-sql.ts): each unit's increments per day (`a`, `b`), cumulated per
 *    unit into its value at the end of each day and the day before, and the change summed
 *    per (day, variant): the unit's value as of any day is the sum of its rows up to it.
 * 4. The pseudo-series: `$exposures`, `$multipleVariants` (units seen in another variant,
 *    on the day first seen there), `$alloc:<allocation>`.
 * Days are UTC day numbers (epoch ms / 86,400,000), turned into ISO dates by the runner.
 */
import type { EventSelector, MetricDefinition } from "../../../shared/metrics/definition.js";
import { ALLOCATION_PREFIX, EXPOSURES, MULTIPLE_VARIANTS } from "../store.js";
import type { Dialect } from "./dialect.js";
import {
  cumulatedColumns,
  eventTypesOf,
  funnelCtes,
  hasSum,
  type MetricSource,
  scoredColumns,
  seriesSql,
  sourceOf,
  totalColumns,
  valueColumns,
} from "./metric-sql.js";
import { dayOf, DAY_MS, seriesRow } from "./expressions.js";
import { sqlIdent as id, sqlInteger, sqlString } from "./sql.js";

export type BucketingUnit = "user_id" | "device_id" | "group";

export interface MetricQuery {
  project: string;
  /**
   * The experiment whose exposures count, with its analysis period's number; absent: every
   * trusted exposure of the project (the console's metric preview).
   */
  experiment?: { key: string; period: number } | undefined;
  bucketing: { unit: BucketingUnit; groupType?: string | undefined };
  /** Epoch ms: the analysis period's start (exposures from it on)… */
  from: number;
  /** …and its stop, when stopped (exposures and events before it). */
  until?: number | undefined;
  metrics: readonly MetricDefinition[];
}

/** Each row: `day_no` (a UTC day number), `variant`, `metric`, `n`, and `s`, `q` (Σx, Σx² as decimal text). */
export const OUTPUT_COLUMNS = ["day_no", "variant", "metric", "n", "s", "q"] as const;

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Time and partition bounds of a table's rows (the `date` bound prunes partitions). */
function bounds(query: MetricQuery): string {
  const parts = [
    `${id("project")} = ${sqlString(query.project)}`,
    `${id("time")} >= ${sqlInteger(query.from)}`,
    `${id("date")} >= ${sqlString(isoDay(query.from))}`,
  ];
  if (query.until !== undefined)
    parts.push(`${id("time")} < ${sqlInteger(query.until)}`, `${id("date")} <= ${sqlString(isoDay(query.until))}`);
  return parts.join(" AND ");
}

/** The unit an event belongs to, as the ingest path decides it (ingest/work.ts `unitOf`). */
function eventUnit(query: MetricQuery, dialect: Dialect): string {
  const { unit, groupType } = query.bucketing;
  if (unit === "group") {
    if (groupType === undefined) throw new Error("A group-bucketed experiment needs its group type");
    return dialect.jsonText(id("groups"), groupType);
  }
  return unit === "device_id" ? id("device_id") : `COALESCE(${id("user_id")}, ${id("device_id")})`;
}

const USER_COLUMNS = ["country", "platform", "os", "app_version", "user_properties"].map(id);

interface CompiledMetric {
  metric: MetricDefinition;
  /** Its columns' prefix. */
  name: string;
  source: MetricSource;
}

/**
 * A dialect that reads each JSON member once: `jsonText` names a column of the row `e`
 * (`e."p<k>"`), and `extracted` lists the expressions that compute them, for the select below.
 */
function extractingDialect(base: Dialect): {
  dialect: Dialect;
  extracted: Map<string, { column: string; member: string }>;
} {
  const extracted = new Map<string, { column: string; member: string }>();
  const names = new Map<string, string>();
  const dialect: Dialect = {
    ...base,
    jsonText(column, name) {
      const key = JSON.stringify([column, name]);
      let column_ = names.get(key);
      if (column_ === undefined) {
        column_ = `p${names.size}`;
        names.set(key, column_);
        extracted.set(column_, { column, member: name });
      }
      return `e.${id(column_)}`;
    },
  };
  return { dialect, extracted };
}

/**
 * The CTEs from the events to `totals`: every metric in one pass over the matched events
 * (metric-sql.ts), then one per-unit cumulation and one per-(day, variant) sum for all.
 */
function eventCtes(query: MetricQuery, base: Dialect, metrics: readonly CompiledMetric[]): string[] {
  const { dialect, extracted } = extractingDialect(base);
  const scored = metrics.flatMap(({ metric, name }) => scoredColumns(metric, name, dialect));
  const counted = metrics.filter((m) => m.source === "counted");
  const rows = metrics.filter((m) => m.source === "rows");
  const funnels = metrics.filter((m) => m.source === "funnel");
  const columnsOf = (m: CompiledMetric) => [`${m.name}_a`, ...(hasSum(m.metric) ? [`${m.name}_b`] : [])];
  const incColumns = metrics.filter((m) => m.source !== "funnel").flatMap(columnsOf);
  const funnelColumns = funnels.map((m) => `${m.name}_a`);

  const eventFilter = [bounds(query), `${id("event_type")} IN (${eventTypes(query).map(sqlString).join(", ")})`];
  const needsId = counted.length > 0;
  // Every read of a member is behind its selector's event type: only those types' rows parse JSON.
  const parsed = `${id("event_type")} IN (${propertyEventTypes(query.metrics).map(sqlString).join(", ")})`;
  const extraction = (name: string, json: string) => `, CASE WHEN ${parsed} THEN ${json} END AS ${id(name)}`;
  // Event properties are read before the join (the JSON text goes no further), the unit's after it.
  const eventProperties = `e.${id("properties")}`;
  const [ofEvent, ofUnit] = [
    [...extracted].filter(([, x]) => x.column === eventProperties),
    [...extracted].filter(([, x]) => x.column !== eventProperties),
  ];
  const inner =
    `SELECT u.unit_key, u.variant, u.exposed_ms, e.event_ms, e.event_type, e.event_id${ofEvent.map(([name]) => `, e.${id(name)}`).join("")}, ${USER_COLUMNS.map((c) => `u.${c}`).join(", ")} ` +
    "FROM event_rows e JOIN units u ON e.unit_key = u.unit_key WHERE e.event_ms >= u.exposed_ms";
  const withProperties = `SELECT e.*${ofUnit.map(([name, x]) => extraction(name, base.jsonText(x.column, x.member))).join("")} FROM (${inner}) AS e`;
  const ctes = [
    `event_rows AS (SELECT ${eventUnit(query, base)} AS unit_key, ${id("event_type")} AS event_type, ` +
      `${id("time")} AS event_ms, ${id("id")} AS event_id` +
      `${ofEvent.map(([name, x]) => extraction(name, base.jsonText(id("event_properties"), x.member))).join("")} ` +
      `FROM events WHERE ${eventFilter.join(" AND ")})`,
    // Only the rows that count for some metric, with what they count for; no JSON text past here.
    `scored ${base.sharedCte} (SELECT * FROM (SELECT e.unit_key, e.variant, e.event_ms, ${dayOf("e.event_ms")} AS day_no` +
      `${needsId ? ", e.event_id" : ""}${scored.map(([name, sql]) => `, ${sql} AS ${name}`).join("")} ` +
      `FROM (${withProperties}) AS e) AS s WHERE ${scored.map(([name]) => `${name} <> 0`).join(" OR ")})`,
  ];
  const parts: string[] = [];
  /** A part of `inc`: its own columns as `from` has them (or as `given`), 0 for every other. */
  const select = (own: readonly string[], from: string, given: Record<string, string> = {}) =>
    `SELECT unit_key, variant, day_no, ${[...incColumns, ...funnelColumns]
      .map((c) => (given[c] !== undefined ? `${given[c]} AS ${c}` : own.includes(c) ? c : `0 AS ${c}`))
      .join(", ")} FROM ${from}`;
  if (rows.length > 0) {
    const own = rows.flatMap(columnsOf);
    parts.push(`${select(own, "scored")} WHERE ${own.map((c) => `${c} <> 0`).join(" OR ")}`);
  }
  if (counted.length > 0) {
    const own = counted.flatMap(columnsOf);
    // Copies of an event (one id) are identical: one per id, of the rows that add to a count or sum.
    ctes.push(
      `counted AS (SELECT DISTINCT unit_key, variant, day_no, event_id, ${own.join(", ")} FROM scored ` +
        `WHERE ${own.map((c) => `${c} <> 0`).join(" OR ")})`,
    );
    parts.push(select(own, "counted"));
  }
  for (const { metric, name } of funnels) {
    ctes.push(...funnelCtes(metric as Extract<MetricDefinition, { type: "funnel" }>, name));
    parts.push(select([], `${name}_inc`, { [`${name}_a`]: "1" }));
  }
  const all = [...incColumns, ...funnelColumns];
  ctes.push(
    `inc AS (SELECT unit_key, variant, day_no, ${all.map((c) => `sum(${c}) AS ${c}`).join(", ")} ` +
      `FROM (${parts.join(" UNION ALL ")}) AS parts GROUP BY 1, 2, 3)`,
    `val AS (SELECT day_no, variant, ${metrics.flatMap(({ metric, name }) => valueColumns(metric, name)).join(", ")} FROM (` +
      `SELECT *, ${metrics.flatMap(({ metric, name }) => cumulatedColumns(metric, name)).join(", ")} FROM inc) AS cumulated)`,
    `totals AS (SELECT day_no, variant, ${metrics.flatMap(({ metric, name }) => totalColumns(metric, name)).join(", ")} FROM val GROUP BY 1, 2)`,
  );
  return ctes;
}

/** The event types of the selectors that read a property (a filter, a summed property). */
function propertyEventTypes(metrics: readonly MetricDefinition[]): string[] {
  const types = new Set<string>();
  const add = (selector: EventSelector, summed = false) => {
    if (summed || selector.filters.length > 0) types.add(selector.eventType);
  };
  for (const metric of metrics) {
    if (metric.type === "ratio")
      for (const side of [metric.numerator, metric.denominator]) add(side, side.property !== undefined);
    else if (metric.type === "funnel") for (const step of metric.steps) add(step);
    else add(metric, metric.type === "property_sum" || metric.type === "property_average");
  }
  return [...types].sort();
}

const eventTypes = (query: MetricQuery) => eventTypesOf(query.metrics);

export function compileMetricQuery(query: MetricQuery, dialect: Dialect): string {
  const exposureFilter = [
    bounds(query),
    `${id("untrusted")} = FALSE`,
    ...(query.experiment
      ? [
          `${id("experiment_key")} = ${sqlString(query.experiment.key)}`,
          `${id("analysis_period")} = ${sqlInteger(query.experiment.period)}`,
        ]
      : []),
  ].join(" AND ");
  const ctes = [
    `exposed AS (SELECT ${id("unit_id")} AS unit_key, ${id("variant")} AS variant, ${id("time")} AS exposed_ms, ` +
      `${id("id")} AS exposure_id, ${id("allocation")} AS allocation, ${USER_COLUMNS.join(", ")} ` +
      `FROM exposures WHERE ${exposureFilter})`,
    `units ${dialect.sharedCte} (SELECT unit_key, variant, exposed_ms, allocation, ${USER_COLUMNS.join(", ")} FROM (` +
      `SELECT *, row_number() OVER (PARTITION BY unit_key ORDER BY exposed_ms, exposure_id) AS nth FROM exposed` +
      `) AS ranked WHERE nth = 1)`,
  ];
  const series = [
    `${seriesRow(dayOf("exposed_ms"), "variant", sqlString(EXPOSURES), "count(*)", "0", "0")} FROM units GROUP BY 1, 2`,
    seriesRow(dayOf("exposed_ms"), "variant", `${sqlString(ALLOCATION_PREFIX)} || allocation`, "count(*)", "0", "0") +
      " FROM units WHERE allocation IS NOT NULL GROUP BY 1, 2, 3",
    seriesRow(dayOf("min(x.exposed_ms)"), "u.variant", sqlString(MULTIPLE_VARIANTS), "1", "0", "0") +
      " FROM exposed x JOIN units u ON x.unit_key = u.unit_key AND x.variant <> u.variant GROUP BY u.unit_key, u.variant",
  ];

  const metrics = query.metrics.map((metric, index) => ({ metric, name: `m${index}`, source: sourceOf(metric) }));
  const eventTypes = eventTypesOf(query.metrics);
  if (eventTypes.length > 0) ctes.push(...eventCtes(query, dialect, metrics));
  const compiled = metrics.map(({ metric, name }) => seriesSql(metric, name));
  ctes.push(...compiled.flatMap((s) => s.ctes));
  series.push(...compiled.flatMap((s) => s.series));

  return [
    `WITH ${ctes.join(",\n")}`,
    `SELECT day_no, variant, metric, CAST(sum(n) AS BIGINT) AS n, CAST(sum(s) AS VARCHAR) AS s, CAST(sum(q) AS VARCHAR) AS q`,
    `FROM (\n${series.join("\nUNION ALL\n")}\n) AS series`,
    "GROUP BY day_no, variant, metric",
    "HAVING sum(n) <> 0 OR sum(s) <> 0 OR sum(q) <> 0",
    "ORDER BY day_no, variant, metric",
  ].join("\n");
}

export { DAY_MS };
