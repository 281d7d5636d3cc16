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
 *    allocation, and the user properties a filter reads), numbered.
 * 2. `event_rows`: the project's events of the metrics' event types in the period, with their
 *    unit by the experiment's bucketing unit; `matched`: joined to their unit, from its first
 *    exposure on, whenever they were delivered (copies kept: each family below decides).
 * 3. Per family (`eventCtes`, metric-sql.ts): conversions as each unit's first qualifying day;
 *    funnels by one ordered pass per unit; counts and sums per unit and day over distinct
 *    ids, cumulated per unit into its value at the end of each day and the day before, and
 *    the change summed per (day, variant).
 * 4. Metrics with a window end: the same series over the units whose window closed
 *    (closed-window.ts; funnels once their last step's time is up too; per epoch on request).
 * 5. The pseudo-series: `$exposures`, `$multipleVariants` (units seen in another variant,
 *    on the day first seen there), `$alloc:<allocation>`.
 * Days are UTC day numbers (epoch ms / 86,400,000), turned into ISO dates by the runner.
 */
import { BREAKDOWN_PROPERTIES } from "../../../shared/events.js";
import type { MetricDefinition } from "../../../shared/metrics/definition.js";
import { ALLOCATION_PREFIX, EXPOSURES, MULTIPLE_VARIANTS } from "../store.js";
import type { Dialect } from "./dialect.js";
import {
  conditionSql,
  type ConversionMetric,
  cumulatedColumns,
  eventTypesOf,
  funnelCtes,
  type MetricSource,
  scoredColumns,
  selectorsOf,
  seriesSql,
  sourceOf,
  totalColumns,
  valueColumns,
} from "./metric-sql.js";
import { closedWindowSql } from "./closed-window.js";
import { unattributedSql } from "./unattributed.js";
import { dayOf, DAY_MS, seriesRow } from "./expressions.js";
import { analysisParts, type AnalysisOptions } from "./query-parts.js";
import { sqlIdent as id, sqlInteger, sqlString } from "./sql.js";

export type BucketingUnit = "user_id" | "device_id" | "group";

export interface MetricQuery extends AnalysisOptions {
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

/**
 * How the unit state (unit-state.ts) runs the query in parts (DuckDB only). Every series is a
 * sum over units of what each unit's own exposures and events give it, once what depends on
 * the whole report is left out (`deferred`), so the query over some units alone (`units`)
 * gives the change those units bring, and the query without the pseudo-series and the data
 * quality is a metric's part alone. Its `$` series are then those of the units alone (the
 * closed windows' units, a breakdown's exposures), the same in every metric's part that has them.
 */
export interface CompileOptions {
  /** Whether to include $exposures, $multipleVariants and $alloc:… (default true). */
  pseudoSeries?: boolean;
  /** Whether to include the metrics' own series (default true; false: only what the others ask for). */
  metricSeries?: boolean;
  /** Whether to include $beforeExposure and $neverExposed (unattributed.ts; default true)… */
  dataQuality?: boolean;
  /** …per event type, as `<series>|<event type>` (unattributed.ts `byType`; deferred only). */
  dataQualityByType?: boolean;
  /**
   * Nothing that depends on the whole report: no horizon (the closed windows and the
   * never-exposed events count from their `cut_ms` on), no condition over all units (the
   * epochs' rows marked with their `gate`); the rows grouped by both as well (expressions.ts
   * `RowVisibility`). The state applies them when it reads a report.
   */
  deferred?: boolean;
  /**
   * Deferred: a horizon the rows are known to be read at or after (epoch ms), so a cut at most
   * it is dropped in the query (the row counts in every report) instead of after it: the rows
   * of units whose windows closed by then are summed, not kept one per unit.
   */
  settledAt?: bigint;
  /** Only the units whose key's 64-bit `hash()` is in column `uh` of table `dirty`, from these tables. */
  units?: { dirty: string; exposures: string; events: string };
}

/**
 * Each row: `day_no` (a UTC day number), `variant`, `metric`, `n`, and `s`, `q` (Σx, Σx² as
 * decimal text); `deferred`, also `cut_ms` and `gate` after `metric`, and `s`, `q` as
 * DECIMAL(38,0) (the unit state sums them again; DuckDB parses such text slowly).
 */
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
export function eventUnit(query: MetricQuery, dialect: Dialect): string {
  const { unit, groupType } = query.bucketing;
  if (unit === "group") {
    if (groupType === undefined) throw new Error("A group-bucketed experiment needs its group type");
    return dialect.jsonText(id("groups"), groupType);
  }
  return unit === "device_id" ? id("device_id") : `COALESCE(${id("user_id")}, ${id("device_id")})`;
}

/** The unit columns recorded with each exposure (event-store/columns.ts) that a user-scope filter can read. */
const USER_COLUMNS = [...BREAKDOWN_PROPERTIES, "user_properties"] as const;

export interface CompiledMetric {
  metric: MetricDefinition;
  /** Its columns' prefix. */
  name: string;
  source: MetricSource;
}

/**
 * A dialect that reads each JSON member once: `jsonText` names a column of the row `e`
 * (`e."p<k>"`), and `extracted` lists the expressions that compute them, for the selects below.
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

/** The unit columns the metrics' user-scope filters read as columns (not JSON members). */
const userColumnsRead = (metrics: readonly MetricDefinition[]): string[] =>
  [
    ...new Set(
      metrics
        .flatMap(selectorsOf)
        .flatMap(({ selector }) => selector.filters)
        .filter((f) => f.scope === "user" && (USER_COLUMNS as readonly string[]).includes(f.property))
        .map((f) => f.property),
    ),
  ].sort();

/**
 * The metric parts of the query over `matched` (each unit's events from its first exposure
 * on, one row per delivered copy, the unit as an integer `unit_key`):
 * - conversions (unique conversions, retention): each unit's first qualifying day, in one
 *   aggregate per unit for all of them (`conversions`);
 * - funnels: one ordered pass per unit over its step events (metric-sql.ts `funnelCtes`);
 * - counts and sums: increments per unit and day over distinct event ids (`counted`, `inc`),
 *   cumulated per unit (`val`), summed per (day, variant) (`totals`).
 * Only the columns a family reads go into it, so no wide row is carried through a sort.
 */
function eventCtes(
  query: MetricQuery,
  base: Dialect,
  { dialect, extracted }: ReturnType<typeof extractingDialect>,
  metrics: readonly CompiledMetric[],
  only: CompileOptions["units"],
): string[] {
  const conversions = metrics.filter((m) => m.source === "conversion");
  const counted = metrics.filter((m) => m.source === "counted");
  const funnels = metrics.filter((m) => m.source === "funnel");
  // Rendered first: rendering records the JSON members the metrics read (`extracted`).
  const converts = conversions.map(({ metric }) => conditionSql(metric as ConversionMetric, dialect));
  const conversionDays = conversions.map(
    ({ name }, i) => `min(CASE WHEN ${converts[i]} THEN ${dayOf("e.event_ms")} END) AS ${name}_day`,
  );
  type Scored = Exclude<MetricDefinition, ConversionMetric>;
  const countedScores = counted.flatMap(({ metric, name }) => scoredColumns(metric as Scored, name, dialect));
  const funnelFlags = funnels.map(({ metric, name }) => scoredColumns(metric as Scored, name, dialect));

  const eventProperties = `e.${id("properties")}`;
  const [ofEvent, ofUnit] = [
    [...extracted].filter(([, x]) => x.column === eventProperties),
    [...extracted].filter(([, x]) => x.column !== eventProperties),
  ];
  // Every read of an event's member is behind its selector's event type: only those types' rows parse JSON.
  const parsed = `${id("event_type")} IN (${propertyEventTypes(query.metrics).map(sqlString).join(", ")})`;
  const extraction = (name: string, json: string) => `, CASE WHEN ${parsed} THEN ${json} END AS ${id(name)}`;
  const unitColumns = [...userColumnsRead(query.metrics).map(id), ...ofUnit.map(([name]) => id(name))];
  const needsId = counted.length > 0;
  const eventFilter = [bounds(query), `${id("event_type")} IN (${eventTypes(query).map(sqlString).join(", ")})`];
  if (only) eventFilter.push(`hash(${eventUnit(query, base)}) IN (SELECT uh FROM ${only.dirty})`);
  const ctes = [
    `event_rows AS (SELECT ${eventUnit(query, base)} AS unit_key, ${id("event_type")} AS event_type, ` +
      `${id("time")} AS event_ms${needsId ? `, ${base.idKey(id("id"))} AS event_id` : ""}` +
      `${ofEvent.map(([name, x]) => extraction(name, base.jsonText(id("event_properties"), x.member))).join("")} ` +
      `FROM ${only?.events ?? "events"} WHERE ${eventFilter.join(" AND ")})`,
    // Joined once on the unit's text id; from here on the unit is its number.
    `matched ${base.sharedCte} (SELECT u.uno AS unit_key, u.variant, u.exposed_ms, e.event_ms, e.event_type` +
      `${needsId ? ", e.event_id" : ""}${ofEvent.map(([name]) => `, e.${id(name)}`).join("")}` +
      `${unitColumns.map((c) => `, u.${c}`).join("")} ` +
      "FROM event_rows e JOIN units u ON e.unit_key = u.unit_key WHERE e.event_ms >= u.exposed_ms)",
  ];
  if (conversions.length > 0)
    ctes.push(
      `conversions AS (SELECT e.unit_key, e.variant, ${conversionDays.join(", ")} FROM matched e ` +
        `WHERE ${converts.map((c) => `(${c})`).join(" OR ")} GROUP BY 1, 2)`,
    );
  funnels.forEach(({ metric, name }, i) => {
    const flags = funnelFlags[i]!;
    ctes.push(
      `${name}_rows AS (SELECT * FROM (SELECT e.unit_key, e.variant, e.event_ms${flags.map(([flag, sql]) => `, ${sql} AS ${flag}`).join("")} ` +
        `FROM matched e) AS f WHERE ${flags.map(([flag]) => `${flag} = 1`).join(" OR ")})`,
      ...funnelCtes(metric as Extract<MetricDefinition, { type: "funnel" }>, name),
    );
  });
  if (counted.length > 0) {
    const columns = countedScores.map(([name]) => name);
    // Copies of an event (one id) are identical: one per unit and id, of the rows that add to a count or sum.
    const any = (c: string) => `arbitrary(${c}) AS ${c}`;
    ctes.push(
      `counted AS (SELECT unit_key, ${["variant", "day_no", ...columns].map(any).join(", ")} FROM (` +
        `SELECT e.unit_key, e.variant, ${dayOf("e.event_ms")} AS day_no, e.event_id` +
        `${countedScores.map(([name, sql]) => `, ${sql} AS ${name}`).join("")} FROM matched e) AS c ` +
        `WHERE ${columns.map((c) => `${c} <> 0`).join(" OR ")} GROUP BY unit_key, event_id)`,
      `inc AS (SELECT unit_key, variant, day_no, ${columns.map((c) => `sum(${c}) AS ${c}`).join(", ")} FROM counted GROUP BY 1, 2, 3)`,
      `val AS (SELECT unit_key, day_no, variant, ${counted.flatMap(({ metric, name }) => valueColumns(metric, name)).join(", ")} FROM (` +
        `SELECT *, ${counted.flatMap(({ metric, name }) => cumulatedColumns(metric, name)).join(", ")} FROM inc) AS cumulated)`,
      `totals AS (SELECT day_no, variant, ${counted.flatMap(({ metric, name }) => totalColumns(metric, name)).join(", ")} FROM val GROUP BY 1, 2)`,
    );
  }
  return ctes;
}

/** The event types of the selectors that read a property (a filter, a summed property). */
const propertyEventTypes = (metrics: readonly MetricDefinition[]): string[] =>
  [
    ...new Set(
      metrics
        .flatMap(selectorsOf)
        .filter(({ selector, summed }) => summed || selector.filters.length > 0)
        .map(({ selector }) => selector.eventType),
    ),
  ].sort();

const eventTypes = (query: MetricQuery) => eventTypesOf(query.metrics);

/** The condition on `exposures` of the query's trusted exposures in its period. */
const exposuresOf = (query: MetricQuery) => [
  bounds(query),
  `${id("untrusted")} = FALSE`,
  ...(query.experiment
    ? [
        `${id("experiment_key")} = ${sqlString(query.experiment.key)}`,
        `${id("analysis_period")} = ${sqlInteger(query.experiment.period)}`,
      ]
    : []),
];

/**
 * The data's horizon as the closed windows and the never-exposed events read it (closed-window.ts,
 * unattributed.ts, over `exposed` and `event_rows`): the latest time of the query's exposures
 * and of its metrics' events, 0 when none, from `tables` (the unit state: the files added).
 */
export function horizonSql(query: MetricQuery, tables = { exposures: "exposures", events: "events" }): string {
  const types = eventTypes(query);
  const latest = [
    `coalesce((SELECT max(${id("time")}) FROM ${tables.exposures} WHERE ${exposuresOf(query).join(" AND ")}), 0)`,
  ];
  if (types.length > 0)
    latest.push(
      `coalesce((SELECT max(${id("time")}) FROM ${tables.events} WHERE ${bounds(query)} ` +
        `AND ${id("event_type")} IN (${types.map(sqlString).join(", ")})), 0)`,
    );
  return `SELECT CAST(greatest(${latest.join(", ")}) AS BIGINT) AS ms`;
}

export function compileMetricQuery(query: MetricQuery, dialect: Dialect, options: CompileOptions = {}): string {
  const only = options.units;
  const deferred = options.deferred === true;
  if ((only || deferred) && dialect.name !== "duckdb")
    throw new Error("Only DuckDB runs the unit state's query (unit-state.ts)");
  const exposureFilter = [
    ...exposuresOf(query),
    ...(only ? [`hash(${id("unit_id")}) IN (SELECT uh FROM ${only.dirty})`] : []),
  ].join(" AND ");
  const metrics = query.metrics.map((metric, index) => ({ metric, name: `m${index}`, source: sourceOf(metric) }));
  const reading = extractingDialect(dialect);
  // Rendered before `units`: rendering them records the user properties' members they read.
  const metricSeries = options.metricSeries !== false;
  const matchedCtes =
    eventTypesOf(query.metrics).length === 0
      ? []
      : metricSeries
        ? eventCtes(query, dialect, reading, metrics, only)
        : eventCtes(query, dialect, reading, [], only).slice(0, 1); // only `event_rows`
  const userMembers = [...reading.extracted].filter(([, x]) => x.column !== `e.${id("properties")}`);
  const unitColumns = userColumnsRead(query.metrics).map(id);
  // What `units` takes from each unit's first exposure beside variant, time and allocation.
  const firstColumns = [...unitColumns, ...(userMembers.length > 0 ? [id("user_properties")] : [])];
  const first = (value: string) => dialect.argMin(value, ["exposed_ms", "exposure_id"]);
  const ctes = [
    `exposed AS (SELECT ${id("unit_id")} AS unit_key, ${id("variant")} AS variant, ${id("time")} AS exposed_ms, ` +
      `${id("id")} AS exposure_id, ${id("allocation")} AS allocation` +
      `${firstColumns.map((c) => `, ${c}`).join("")} FROM ${only?.exposures ?? "exposures"} WHERE ${exposureFilter})`,
    // Each unit's first exposure (by time, then id), numbered: later stages group and sort on the number.
    `units ${dialect.sharedCte} (SELECT unit_key, variant, exposed_ms, allocation${unitColumns.map((c) => `, ${c}`).join("")}` +
      `${userMembers.map(([name, x]) => `, ${dialect.jsonText(id("user_properties"), x.member)} AS ${id(name)}`).join("")}, ` +
      "row_number() OVER () AS uno FROM (" +
      `SELECT unit_key, ${first("variant")} AS variant, min(exposed_ms) AS exposed_ms, ${first("allocation")} AS allocation` +
      `${firstColumns.map((c) => `, ${first(c)} AS ${c}`).join("")} ` +
      "FROM exposed GROUP BY unit_key) AS firsts)",
    ...matchedCtes,
  ];
  const pseudoSeries = [
    `${seriesRow(dayOf("exposed_ms"), "variant", sqlString(EXPOSURES), "count(*)", "0", "0")} FROM units GROUP BY 1, 2`,
    seriesRow(dayOf("exposed_ms"), "variant", `${sqlString(ALLOCATION_PREFIX)} || allocation`, "count(*)", "0", "0") +
      " FROM units WHERE allocation IS NOT NULL GROUP BY 1, 2, 3",
    seriesRow(dayOf("min(x.exposed_ms)"), "u.variant", sqlString(MULTIPLE_VARIANTS), "1", "0", "0") +
      " FROM exposed x JOIN units u ON x.unit_key = u.unit_key AND x.variant <> u.variant GROUP BY u.unit_key, u.variant",
  ];
  const series = options.pseudoSeries === false ? [] : pseudoSeries;

  if (metricSeries) {
    const compiled = metrics.map(({ metric, name }) => seriesSql(metric, name));
    ctes.push(...compiled.flatMap((s) => s.ctes));
    series.push(...compiled.flatMap((s) => s.series));
    // Metrics with a window end: their units once the window closed (closed-window.ts).
    const closed = closedWindowSql(metrics, {
      covariates: query.covariates,
      epochs: query.epochs,
      deferred,
      settledAt: options.settledAt,
    });
    ctes.push(...closed.ctes);
    series.push(...closed.series);
  }
  // Events no metric counts, for data quality (unattributed.ts).
  if (matchedCtes.length > 0 && options.dataQuality !== false) {
    const unattributed = unattributedSql(deferred, deferred && options.dataQualityByType === true, options.settledAt);
    ctes.push(...unattributed.ctes);
    series.push(...unattributed.series);
  }
  // CUPED's covariates, epochs, a breakdown's segments: each on request (query-parts.ts).
  const extra = metricSeries
    ? analysisParts({
        query,
        dialect,
        reading,
        metrics,
        unitColumns,
        eventUnit: matchedCtes.length > 0 ? eventUnit(query, dialect) : "",
        exposureFilter,
        tables: { exposures: only?.exposures ?? "exposures", events: only?.events ?? "events" },
        deferred,
      })
    : { ctes: [], series: [] };
  ctes.push(...extra.ctes);
  series.push(...extra.series);
  // No series at all (the data quality of a query with no event): one that gives no row.
  if (series.length === 0) series.push(`${seriesRow("0", "''", "''", "0", "0", "0")} WHERE FALSE`);

  const keys = deferred ? "day_no, variant, metric, cut_ms, gate" : "day_no, variant, metric";
  const sums = deferred ? "DECIMAL(38,0)" : "VARCHAR";
  return [
    `WITH ${ctes.join(",\n")}`,
    `SELECT ${keys}, CAST(sum(n) AS BIGINT) AS n, CAST(sum(s) AS ${sums}) AS s, CAST(sum(q) AS ${sums}) AS q`,
    `FROM (\n${series.join("\nUNION ALL\n")}\n) AS series`,
    `GROUP BY ${keys}`,
    "HAVING sum(n) <> 0 OR sum(s) <> 0 OR sum(q) <> 0",
    `ORDER BY ${keys}`,
  ].join("\n");
}

export { DAY_MS };
