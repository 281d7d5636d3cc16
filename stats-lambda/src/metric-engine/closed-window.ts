/**
 * The closed-window series of metrics with a window end (report/closed-window.ts reads them):
 * a fixed estimand for values that grow with time since exposure. Per window end H (hours):
 *
 * - `closed_h<H>`: the units whose window `[exposure, exposure + H)` has ended by the data's
 *   horizon (the latest exposure or event time read: a window ending later is still open),
 *   each with its closing day, `dayOf(exposure + H)`;
 * - `$closed:<H>`: those units per closing day and variant;
 * - per metric `K:closed` (`:closed:den`, `:closed:cross`, `:closed~<bucket>`): their value in
 *   the window, on the closing day. Conversions and retention from `conversions` (a converting
 *   day at most the closing day); counts, sums, averages and ratios from `val`, the changes of
 *   the unit's value up to its closing day, which add up to its window value (and their squares
 *   to its square, their histogram moves to its bucket), grouped on the closing day.
 *
 * - with covariates, per metric with one (pre-exposure.ts) `K:closed:pre` and
 *   `K:closed:pre:cross`: CUPED's sums over the closed units (closedCovariateSeries);
 * - with epochs (strata.ts), every series above but CUPED's again per allocation epoch, over
 *   the epoch's closed units, named as store.ts `epochSeries` (`K:closed@<allocation>`,
 *   `K:closed@<allocation>~<bucket>`, `$closed:<H>@<allocation>`), under the epochs' condition
 *   (more than one allocation among the units; deferred: the gate `EPOCHS_GATE`). The pooled
 *   series are grouped per allocation too and summed again by the final GROUP BY, so both
 *   come from one pass over each closed window's rows.
 *
 * A funnel closes later than its window's end H: its first step may come just before the end
 * and its last `conversionWindowHours` (C) after the first, so its value is final at exposure
 * + H + C (shared/metrics/definition.ts `closingHoursOf`), and its units are those of
 * `closed_h<H + C>`, `K:closed` from its conversions (`<m>_inc`).
 * Joined on the unit's number (`units.uno`, `val.unit_key`).
 *
 * `deferred` (the unit state, compile.ts): no horizon; every unit's window counts as closed,
 * its rows carrying the window's end as `cut_ms` (expressions.ts `RowVisibility`), so the
 * state cuts them at the horizon of the report that reads them.
 */
import { VALUE_SCALE } from "../../../shared/metric-values.js";
import { closingHoursOf, isCappedMetric, type MetricDefinition } from "../../../shared/metrics/definition.js";
import { BUCKET_SEPARATOR, CLOSED_SUFFIX, CLOSED_UNITS_PREFIX, EPOCH_SEPARATOR } from "../store.js";
import { cutBy, dayOf, dec, histogramBucketSql, type RowVisibility, seriesRow } from "./expressions.js";
import { type MetricSource, totalColumns } from "./metric-sql.js";
import { hasCovariate } from "./pre-exposure.js";
import { sqlInteger, sqlString } from "./sql.js";
import { EPOCHS_GATE } from "./strata.js";

const HOUR_MS = 3_600_000;

interface Compiled {
  metric: MetricDefinition;
  name: string;
  source: MetricSource;
}

/** The metrics with a closed-window series, by the hours after exposure their window closes (`closingHoursOf`). */
function byClosingHours(metrics: readonly Compiled[]): Map<number, Compiled[]> {
  const ends = new Map<number, Compiled[]>();
  for (const m of metrics) {
    const end = closingHoursOf(m.metric);
    if (end === undefined) continue;
    ends.set(end, [...(ends.get(end) ?? []), m]);
  }
  return ends;
}

/**
 * How a series over a relation `alias` (with `allocation`) is named and filtered, and when its
 * rows count: pooled, or per allocation epoch (`K@<allocation>`, store.ts `epochSeries`, `where`
 * the epochs' condition, deferred their gate).
 */
interface Split {
  name(alias: string, base: string, bucket?: string): string;
  where(alias: string): string;
  visibility(alias: string): RowVisibility;
}

function splitsOf(epochs: boolean, deferred: boolean, settledCut: (alias: string) => RowVisibility): Split[] {
  const bucketed = (bucket: string | undefined) =>
    bucket === undefined ? "" : ` || ${sqlString(BUCKET_SEPARATOR)} || ${bucket}`;
  const pooled: Split = {
    name: (_, base, bucket) => `${sqlString(base)}${bucketed(bucket)}`,
    where: () => "TRUE",
    visibility: settledCut,
  };
  if (!epochs) return [pooled];
  const epoch: Split = {
    name: (alias, base, bucket) =>
      `${sqlString(`${base}${EPOCH_SEPARATOR}`)} || ${alias}.allocation${bucketed(bucket)}`,
    // As strata.ts `epochParts`: only when the units came under more than one allocation (deferred: its gate).
    where: (alias) =>
      `${alias}.allocation IS NOT NULL${deferred ? "" : " AND (SELECT count(DISTINCT allocation) FROM units) > 1"}`,
    visibility: (alias) => ({ ...settledCut(alias), ...(deferred ? { gate: sqlString(EPOCHS_GATE) } : {}) }),
  };
  return [pooled, epoch];
}

/**
 * CUPED's covariate over a window's closed units (pre-exposure.ts's `pre_units`, read from the
 * final SELECT, so its CTE may come later): `K:closed:pre` (units with history, Σx, Σx²) and
 * `K:closed:pre:cross` (Σx·y, y the unit's window value), on the closing day. The report's
 * closed view reads them as `K:pre` and `K:pre:cross` (report/closed-window.ts).
 */
function closedCovariateSeries(closed: string, { metric, name, source }: Compiled, deferred: boolean): string[] {
  const key = `${metric.key}${CLOSED_SUFFIX}`;
  const xs = dec(`p.${name}_x`);
  const withHistory = `JOIN pre_units p ON p.unit_key = c.uno`;
  // Deferred (the unit state): each row keeps its window's end, as closedWindowSql's rows do.
  const cut = deferred ? { cut: "c.cut_ms" } : {};
  const byCut = deferred ? ", 7" : "";
  const covariate =
    `${seriesRow("c.closed_day", "c.variant", sqlString(`${key}:pre`), `sum(p.${name}_h)`, `sum(p.${name}_x)`, `sum(${xs} * ${xs})`, cut)} ` +
    `FROM ${closed} c ${withHistory} GROUP BY 1, 2${byCut}`;
  const day = `x.${name}_day`;
  const cross =
    source === "conversion"
      ? `${seriesRow("c.closed_day", "c.variant", sqlString(`${key}:pre:cross`), "0", `sum(${xs} * ${VALUE_SCALE})`, "0", cut)} ` +
        `FROM conversions x JOIN ${closed} c ON x.unit_key = c.uno ${withHistory} ` +
        `WHERE ${day} IS NOT NULL AND ${day} <= c.closed_day AND p.${name}_x <> 0 GROUP BY 1, 2${byCut}`
      : `${seriesRow("c.closed_day", "c.variant", sqlString(`${key}:pre:cross`), "0", `sum(${xs} * (${dec(`v.${name}_v`)} - ${dec(`v.${name}_pv`)}))`, "0", cut)} ` +
        `FROM val v JOIN ${closed} c ON v.unit_key = c.uno ${withHistory} ` +
        `WHERE v.day_no <= c.closed_day AND p.${name}_x <> 0 GROUP BY 1, 2${byCut}`;
  return [covariate, cross];
}

/**
 * The CTEs and series rows of the closed windows (none without a metric with a window end);
 * with `covariates`, CUPED's series over the closed units too (closedCovariateSeries); with
 * `epochs`, every series but CUPED's per allocation epoch as well. `deferred`: see the module's comment.
 */
export function closedWindowSql(
  metrics: readonly Compiled[],
  {
    covariates = false,
    epochs = false,
    deferred = false,
    settledAt,
  }: {
    covariates?: boolean | undefined;
    epochs?: boolean | undefined;
    deferred?: boolean;
    settledAt?: bigint | undefined;
  } = {},
): { ctes: string[]; series: string[] } {
  const ends = byClosingHours(metrics);
  if (ends.size === 0) return { ctes: [], series: [] };
  const ctes = deferred
    ? []
    : [
        "closed_horizon AS (SELECT greatest(coalesce((SELECT max(exposed_ms) FROM exposed), 0), " +
          "coalesce((SELECT max(event_ms) FROM event_rows), 0)) AS ms)",
      ];
  // Deferred: each row's window end, and the groups keep it (position 7, seriesRow's `cut_ms`).
  const cut = (c: string): RowVisibility => (deferred ? { cut: `${c}.cut_ms` } : {});
  // Grouped by day, variant, series (and the cut, position 7, deferred).
  const groupBy = `GROUP BY 1, 2, 3${deferred ? ", 7" : ""}`;
  const splits = splitsOf(epochs === true, deferred, cut);
  const series: string[] = [];
  /** A series grouped per closing day and variant (and per split) from `from`, `alias` its relation with the closed unit's columns. */
  const grouped = (alias: string, base: string, n: string, s: string, q: string, from: string, where = "TRUE") =>
    splits.map(
      (split) =>
        `${seriesRow(`${alias}.closed_day`, `${alias}.variant`, split.name(alias, base), n, s, q, split.visibility(alias))} ` +
        `FROM ${from} WHERE ${where} AND ${split.where(alias)} ${groupBy}`,
    );
  for (const [end, group] of ends) {
    const h = String(end).replace(/\W/g, "_");
    const closed = `closed_h${h}`;
    const ms = sqlInteger(Math.round(end * HOUR_MS));
    ctes.push(
      deferred
        ? `${closed} AS (SELECT u.uno, u.variant, u.allocation, ${dayOf(`(u.exposed_ms + ${ms})`)} AS closed_day, ${cutBy(`u.exposed_ms + ${ms}`, settledAt)} AS cut_ms FROM units u)`
        : `${closed} AS (SELECT u.uno, u.variant, u.allocation, ${dayOf(`(u.exposed_ms + ${ms})`)} AS closed_day FROM units u, closed_horizon c ` +
            `WHERE u.exposed_ms + ${ms} <= c.ms)`,
    );
    const units = (base: string) => grouped("c", base, "count(*)", "0", "0", `${closed} c`);
    series.push(...units(`${CLOSED_UNITS_PREFIX}${end}`));
    const counted = group.filter((m) => m.source === "counted");
    if (covariates)
      for (const m of group.filter((g) => hasCovariate(g.metric)))
        series.push(...closedCovariateSeries(closed, m, deferred));
    const converted = (key: string, from: string, day: string) =>
      grouped(
        "c",
        key,
        "0",
        `count(*) * ${VALUE_SCALE}`,
        `count(*) * ${VALUE_SCALE * VALUE_SCALE}`,
        `${from} x JOIN ${closed} c ON x.unit_key = c.uno`,
        `${day} IS NOT NULL AND ${day} <= c.closed_day`,
      );
    for (const { metric, name, source } of group) {
      const key = `${metric.key}${CLOSED_SUFFIX}`;
      if (source === "conversion") series.push(...converted(key, "conversions", `x.${name}_day`));
      // A funnel's conversion day is before its closing day: its last step came before the window closed.
      else if (source === "funnel") series.push(...converted(key, `${name}_inc`, "x.day_no"));
    }
    if (counted.length === 0) continue;
    const totals = `${closed}_totals`;
    // val's changes up to each unit's closing day, dated on that day (per allocation with epochs).
    const upTo = `val v JOIN ${closed} c ON v.unit_key = c.uno WHERE v.day_no <= c.closed_day`;
    const keys = ["c.closed_day AS closed_day", "c.variant AS variant"];
    if (epochs) keys.push("c.allocation AS allocation");
    if (deferred) keys.push("c.cut_ms AS cut_ms");
    ctes.push(
      `${totals} AS (SELECT ${keys.join(", ")}, ${counted.flatMap(({ metric, name }) => totalColumns(metric, name)).join(", ")} ` +
        `FROM ${upTo} GROUP BY ${keys.map((_, i) => i + 1).join(", ")})`,
    );
    /** A series of the totals: one row per group (the final GROUP BY sums the allocations' rows of the pooled one). */
    const ofTotals = (base: string, n: string, s: string, q: string) =>
      splits.map(
        (split) =>
          `${seriesRow("t.closed_day", "t.variant", split.name("t", base), n, s, q, split.visibility("t"))} ` +
          `FROM ${totals} t WHERE ${split.where("t")}`,
      );
    for (const { metric, name } of counted) {
      const key = `${metric.key}${CLOSED_SUFFIX}`;
      const n = metric.type === "property_average" ? `t.${name}_n` : "0";
      series.push(...ofTotals(key, n, `t.${name}_s`, `t.${name}_q`));
      if (metric.type === "ratio")
        series.push(
          ...ofTotals(`${key}:den`, "0", `t.${name}_ys`, `t.${name}_yq`),
          ...ofTotals(`${key}:cross`, "0", `t.${name}_xy`, "0"),
          ...units(key),
          ...units(`${key}:den`),
        );
      if (isCappedMetric(metric)) {
        const [v, pv] = [`v.${name}_v`, `v.${name}_pv`];
        const c = `c.closed_day AS closed_day, c.variant AS variant, c.allocation AS allocation${deferred ? ", c.cut_ms AS cut_ms" : ""}`;
        const moves =
          `SELECT ${c}, ${v} AS x, 1 AS dir FROM ${upTo} AND ${v} <> ${pv} AND ${v} <> 0 ` +
          `UNION ALL SELECT ${c}, ${pv} AS x, -1 AS dir FROM ${upTo} AND ${v} <> ${pv} AND ${pv} <> 0`;
        series.push(
          ...splits.map(
            (split) =>
              `${seriesRow("moves.closed_day", "moves.variant", split.name("moves", key, "CAST(bucket AS VARCHAR)"), "sum(dir)", `sum(${dec("dir * x")})`, `sum(${dec("dir")} * ${dec("x")} * ${dec("x")})`, split.visibility("moves"))} ` +
              `FROM (SELECT *, ${histogramBucketSql("x")} AS bucket FROM (${moves}) AS m) AS moves WHERE ${split.where("moves")} ${groupBy}`,
          ),
        );
      }
    }
  }
  return { ctes, series };
}
