/**
 * Every metric's series again over a partition of the units into strata, each unit in the
 * stratum of its first exposure: the allocation it was assigned under (epochs, for the
 * report's post-stratification, report/analyse.ts) or the value of a user property recorded
 * with that exposure (breakdowns, breakdowns.ts). The series are the main query's (compile.ts,
 * metric-sql.ts), summed per stratum as well as per day and variant, from the same per-unit
 * CTEs (`conversions`, a funnel's `<m>_inc`, `val`), so a stratum's rows are exactly the rows
 * the query would give over its units alone.
 *
 * Naming: epochs as store.ts `epochSeries` (`K@<allocation>`, `K@<allocation>~<bucket>`),
 * the exposures per epoch being the main query's `$alloc:<allocation>`; segments as
 * `<series>#<value>` for every series, `$exposures` included (`#` is in no metric key or
 * series suffix, so everything after the first `#` is the value, whatever it holds).
 */
import { BREAKDOWN_PROPERTIES } from "../../../shared/events.js";
import { VALUE_SCALE } from "../../../shared/metric-values.js";
import { isCappedMetric } from "../../../shared/metrics/definition.js";
import { EXPOSURES } from "../store.js";
import { dayOf, dec, histogramBucketSql, seriesRow } from "./expressions.js";
import { totalColumns } from "./metric-sql.js";
import type { QueryParts } from "./query-parts.js";
import { sqlIdent as id, sqlString } from "./sql.js";

/** Where the units' strata come from, and how a stratum's series are named. */
interface Strata {
  /** The CTEs' prefix. */
  prefix: string;
  /** CTEs ending in `<prefix>_units (unit_key, stratum)`, unit_key being `units.uno`. */
  ctes: string[];
  /** The name of series `base` (and its histogram bucket, an SQL text expression) in a stratum `stratum`. */
  name(base: string, bucket?: string): string;
  /** Whether to send the exposures per stratum (epochs have theirs already: `$alloc:`). */
  exposures: boolean;
  /** The condition on the whole report its rows need, left to the unit state (expressions.ts `RowVisibility`). */
  gate?: string | undefined;
}

/**
 * The epochs' condition, more than one allocation among the units: a count over all units,
 * so the unit state's query (`deferred`) sends the rows of every stratum marked with it and
 * the state applies it to the report it reads (unit-state.ts).
 */
export const EPOCHS_GATE = "epochs";

export const SEGMENT_SEPARATOR = "#";

/** The strata's series: per metric, the rows the main query gives, per stratum. */
function strataParts(parts: QueryParts, strata: Strata): { ctes: string[]; series: string[] } {
  const { prefix, name } = strata;
  const shown = strata.gate === undefined ? {} : { gate: sqlString(strata.gate) };
  const units = `${prefix}_units`;
  const ctes = [...strata.ctes];
  const series: string[] = [];
  const scale = String(VALUE_SCALE);
  const converted = (key: string, day: string, from: string) =>
    `${seriesRow(day, "c.variant", name(key), "0", `count(*) * ${scale}`, `count(*) * ${VALUE_SCALE * VALUE_SCALE}`, shown)} ` +
    `FROM ${from} c JOIN ${units} s ON c.unit_key = s.unit_key WHERE ${day} IS NOT NULL GROUP BY 1, 2, 3`;
  const exposed = (base: string) =>
    `${seriesRow(dayOf("u.exposed_ms"), "u.variant", name(base), "count(*)", "0", "0", shown)} ` +
    `FROM units u JOIN ${units} s ON u.uno = s.unit_key GROUP BY 1, 2, 3`;
  const counted = parts.metrics.filter((m) => m.source === "counted");
  if (counted.length > 0) {
    ctes.push(
      `${prefix}_val ${parts.dialect.sharedCte} (SELECT v.*, s.stratum FROM val v JOIN ${units} s ON v.unit_key = s.unit_key)`,
      `${prefix}_totals AS (SELECT day_no, variant, stratum, ` +
        `${counted.flatMap(({ metric, name: m }) => totalColumns(metric, m)).join(", ")} FROM ${prefix}_val GROUP BY 1, 2, 3)`,
    );
  }
  if (strata.exposures) series.push(exposed(EXPOSURES));
  for (const { metric, name: m, source } of parts.metrics) {
    const key = metric.key;
    if (source === "conversion") series.push(converted(key, `c.${m}_day`, "conversions"));
    else if (source === "funnel") series.push(converted(key, "c.day_no", `${m}_inc`));
    else {
      const n = metric.type === "property_average" ? `${m}_n` : "0";
      series.push(`${seriesRow("day_no", "variant", name(key), n, `${m}_s`, `${m}_q`, shown)} FROM ${prefix}_totals`);
      if (metric.type === "ratio")
        series.push(
          `${seriesRow("day_no", "variant", name(`${key}:den`), "0", `${m}_ys`, `${m}_yq`, shown)} FROM ${prefix}_totals`,
          `${seriesRow("day_no", "variant", name(`${key}:cross`), "0", `${m}_xy`, "0", shown)} FROM ${prefix}_totals`,
          exposed(key),
          exposed(`${key}:den`),
        );
      if (isCappedMetric(metric)) {
        const [v, pv] = [`${m}_v`, `${m}_pv`];
        ctes.push(
          `${prefix}_${m}_moves AS (SELECT day_no, variant, stratum, ${v} AS x, 1 AS dir FROM ${prefix}_val WHERE ${v} <> ${pv} AND ${v} <> 0 ` +
            `UNION ALL SELECT day_no, variant, stratum, ${pv} AS x, -1 AS dir FROM ${prefix}_val WHERE ${v} <> ${pv} AND ${pv} <> 0)`,
        );
        series.push(
          `${seriesRow("day_no", "variant", name(key, "CAST(bucket AS VARCHAR)"), "sum(dir)", `sum(${dec("dir * x")})`, `sum(${dec("dir")} * ${dec("x")} * ${dec("x")})`, shown)} ` +
            `FROM (SELECT day_no, variant, stratum, x, dir, ${histogramBucketSql("x")} AS bucket FROM ${prefix}_${m}_moves) AS moves GROUP BY 1, 2, 3`,
        );
      }
    }
  }
  return { ctes, series };
}

/**
 * Per allocation epoch, when the units were assigned under more than one allocation (with
 * one, the report has nothing to stratify and the rows are not computed; `EPOCHS_GATE`).
 */
export function epochParts(parts: QueryParts): { ctes: string[]; series: string[] } {
  if (!parts.query.epochs) return { ctes: [], series: [] };
  const deferred = parts.deferred === true;
  return strataParts(parts, {
    prefix: "epoch",
    ctes: [
      "epoch_units AS (SELECT uno AS unit_key, allocation AS stratum FROM units WHERE allocation IS NOT NULL" +
        `${deferred ? "" : " AND (SELECT count(DISTINCT allocation) FROM units) > 1"})`,
    ],
    name: (base, bucket) => `${sqlString(`${base}@`)} || stratum${bucket === undefined ? "" : ` || '~' || ${bucket}`}`,
    exposures: false,
    gate: deferred ? EPOCHS_GATE : undefined,
  });
}

/** The unit's value of a breakdown property at an exposure: its column, else a member of `user_properties`. */
export const breakdownValueSql = (property: string, dialect: QueryParts["dialect"]) =>
  (BREAKDOWN_PROPERTIES as readonly string[]).includes(property)
    ? id(property)
    : dialect.jsonText(id("user_properties"), property);

/** Per value of the query's breakdown property at each unit's first exposure ('' when it had none). */
export function segmentParts(parts: QueryParts): { ctes: string[]; series: string[] } {
  const property = parts.query.breakdown;
  if (property === undefined) return { ctes: [], series: [] };
  const value = breakdownValueSql(property, parts.dialect);
  return strataParts(parts, {
    prefix: "segment",
    ctes: [
      `segment_first AS (SELECT ${id("unit_id")} AS unit_key, ${parts.dialect.argMin(value, [id("time"), id("id")])} AS segment ` +
        `FROM ${parts.tables.exposures} WHERE ${parts.exposureFilter} GROUP BY 1)`,
      "segment_units AS (SELECT u.uno AS unit_key, COALESCE(f.segment, '') AS stratum FROM units u " +
        "JOIN segment_first f ON u.unit_key = f.unit_key)",
    ],
    name: (base, bucket) =>
      `${sqlString(base)}${bucket === undefined ? "" : ` || '~' || ${bucket}`} || ${sqlString(SEGMENT_SEPARATOR)} || stratum`,
    exposures: true,
  });
}
