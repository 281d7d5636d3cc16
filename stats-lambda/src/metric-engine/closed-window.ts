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
 *   `K:closed:pre:cross`: CUPED's sums over the closed units (closedCovariateSeries).
 *
 * Funnels are left out: their last step may come `conversionWindowHours` after the window.
 * Joined on the unit's number (`units.uno`, `val.unit_key`).
 *
 * `deferred` (the unit state, compile.ts): no horizon; every unit's window counts as closed,
 * its rows carrying the window's end as `cut_ms` (expressions.ts `RowVisibility`), so the
 * state cuts them at the horizon of the report that reads them.
 */
import { VALUE_SCALE } from "../../../shared/metric-values.js";
import { isCappedMetric, type MetricDefinition } from "../../../shared/metrics/definition.js";
import { CLOSED_SUFFIX, CLOSED_UNITS_PREFIX } from "../store.js";
import { cutBy, dayOf, dec, histogramBucketSql, seriesRow } from "./expressions.js";
import { type MetricSource, totalColumns } from "./metric-sql.js";
import { hasCovariate } from "./pre-exposure.js";
import { sqlInteger, sqlString } from "./sql.js";

const HOUR_MS = 3_600_000;

interface Compiled {
  metric: MetricDefinition;
  name: string;
  source: MetricSource;
}

/** The metrics with a closed-window series, by window end. */
function byWindowEnd(metrics: readonly Compiled[]): Map<number, Compiled[]> {
  const ends = new Map<number, Compiled[]>();
  for (const m of metrics) {
    const end = m.metric.window?.endHours;
    if (end === undefined || m.source === "funnel") continue;
    ends.set(end, [...(ends.get(end) ?? []), m]);
  }
  return ends;
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
 * with `covariates`, CUPED's series over the closed units too (closedCovariateSeries).
 * `deferred`: see the module's comment.
 */
export function closedWindowSql(
  metrics: readonly Compiled[],
  {
    covariates = false,
    deferred = false,
    settledAt,
  }: { covariates?: boolean | undefined; deferred?: boolean; settledAt?: bigint | undefined } = {},
): { ctes: string[]; series: string[] } {
  const ends = byWindowEnd(metrics);
  if (ends.size === 0) return { ctes: [], series: [] };
  const ctes = deferred
    ? []
    : [
        "closed_horizon AS (SELECT greatest(coalesce((SELECT max(exposed_ms) FROM exposed), 0), " +
          "coalesce((SELECT max(event_ms) FROM event_rows), 0)) AS ms)",
      ];
  // Deferred: each row's window end, and the groups keep it (position 7, seriesRow's `cut_ms`).
  const cut = (c: string) => (deferred ? { cut: `${c}.cut_ms` } : {});
  const byCut = deferred ? ", 7" : "";
  const series: string[] = [];
  for (const [end, group] of ends) {
    const h = String(end).replace(/\W/g, "_");
    const closed = `closed_h${h}`;
    const ms = sqlInteger(Math.round(end * HOUR_MS));
    ctes.push(
      deferred
        ? `${closed} AS (SELECT u.uno, u.variant, ${dayOf(`(u.exposed_ms + ${ms})`)} AS closed_day, ${cutBy(`u.exposed_ms + ${ms}`, settledAt)} AS cut_ms FROM units u)`
        : `${closed} AS (SELECT u.uno, u.variant, ${dayOf(`(u.exposed_ms + ${ms})`)} AS closed_day FROM units u, closed_horizon c ` +
            `WHERE u.exposed_ms + ${ms} <= c.ms)`,
    );
    series.push(
      `${seriesRow("closed_day", "variant", sqlString(`${CLOSED_UNITS_PREFIX}${end}`), "count(*)", "0", "0", cut(closed))} FROM ${closed} GROUP BY 1, 2${byCut}`,
    );
    const counted = group.filter((m) => m.source === "counted");
    if (covariates)
      for (const m of group.filter((g) => hasCovariate(g.metric)))
        series.push(...closedCovariateSeries(closed, m, deferred));
    for (const { metric, name } of group.filter((m) => m.source === "conversion")) {
      const day = `x.${name}_day`;
      series.push(
        `${seriesRow("c.closed_day", "c.variant", sqlString(`${metric.key}${CLOSED_SUFFIX}`), "0", `count(*) * ${VALUE_SCALE}`, `count(*) * ${VALUE_SCALE * VALUE_SCALE}`, cut("c"))} ` +
          `FROM conversions x JOIN ${closed} c ON x.unit_key = c.uno WHERE ${day} IS NOT NULL AND ${day} <= c.closed_day GROUP BY 1, 2${byCut}`,
      );
    }
    if (counted.length === 0) continue;
    const totals = `${closed}_totals`;
    // val's changes up to each unit's closing day, dated on that day.
    const upTo = `val v JOIN ${closed} c ON v.unit_key = c.uno WHERE v.day_no <= c.closed_day`;
    ctes.push(
      `${totals} AS (SELECT c.closed_day AS day_no, c.variant AS variant${deferred ? ", c.cut_ms AS cut_ms" : ""}, ` +
        `${counted.flatMap(({ metric, name }) => totalColumns(metric, name)).join(", ")} FROM ${upTo} GROUP BY 1, 2${deferred ? ", 3" : ""})`,
    );
    for (const { metric, name } of counted) {
      const key = `${metric.key}${CLOSED_SUFFIX}`;
      const n = metric.type === "property_average" ? `${name}_n` : "0";
      const t = cut(totals);
      series.push(`${seriesRow("day_no", "variant", sqlString(key), n, `${name}_s`, `${name}_q`, t)} FROM ${totals}`);
      if (metric.type === "ratio")
        series.push(
          `${seriesRow("day_no", "variant", sqlString(`${key}:den`), "0", `${name}_ys`, `${name}_yq`, t)} FROM ${totals}`,
          `${seriesRow("day_no", "variant", sqlString(`${key}:cross`), "0", `${name}_xy`, "0", t)} FROM ${totals}`,
          ...[key, `${key}:den`].map(
            (s) =>
              `${seriesRow("closed_day", "variant", sqlString(s), "count(*)", "0", "0", cut(closed))} FROM ${closed} GROUP BY 1, 2${byCut}`,
          ),
        );
      if (isCappedMetric(metric)) {
        const [v, pv] = [`v.${name}_v`, `v.${name}_pv`];
        const c = deferred ? ", c.cut_ms AS cut_ms" : "";
        const moves =
          `SELECT c.closed_day AS day_no, c.variant AS variant${c}, ${v} AS x, 1 AS dir FROM ${upTo} AND ${v} <> ${pv} AND ${v} <> 0 ` +
          `UNION ALL SELECT c.closed_day AS day_no, c.variant AS variant${c}, ${pv} AS x, -1 AS dir FROM ${upTo} AND ${v} <> ${pv} AND ${pv} <> 0`;
        series.push(
          `${seriesRow("day_no", "variant", `${sqlString(`${key}~`)} || CAST(bucket AS VARCHAR)`, "sum(dir)", `sum(${dec("dir * x")})`, `sum(${dec("dir")} * ${dec("x")} * ${dec("x")})`, cut("moves"))} ` +
            `FROM (SELECT *, ${histogramBucketSql("x")} AS bucket FROM (${moves}) AS m) AS moves GROUP BY 1, 2, 3${byCut}`,
        );
      }
    }
  }
  return { ctes, series };
}
