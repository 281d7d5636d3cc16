/**
 * The unit state: a report's series kept summed beside the store and brought up to date by
 * the units that new files touch, instead of a scan of every event for every report. It
 * carries every series the full scan returns (unit-state.property.test.ts), and is the
 * engine's default (index.ts).
 *
 * Every series of the metric query (compile.ts) is a sum over units of what each unit's own
 * exposures and events give it, once what depends on the whole report is left out of the
 * query and kept on its rows instead (compile.ts `deferred`, expressions.ts `RowVisibility`):
 * - the data's horizon (the latest time read), which decides which units' windows closed
 *   and which never-exposed events count: each such row carries its `cut_ms`, the time from
 *   which it counts, and the report keeps the rows its horizon reaches;
 * - a condition over all units (the epochs need more than one allocation): each such row
 *   carries its `gate`, which the report evaluates over its parts (`gates` below). A gate
 *   this module does not know makes the report fall back to the scan (`UnitStateFallback`,
 *   counted in `fallbacks`), never a wrong row.
 * So when files are added, only the units whose keys occur in them can change, and a part
 * changes by exactly what its query over those units alone gives on the new files minus what
 * it gave on the files before. A report is cut into parts, each its own query, kept as totals
 * per (day, variant, series, cut_ms, gate) with the files folded in and its own horizon:
 * - the pseudo-series ($exposures, $multipleVariants, $alloc:…) of the experiment's period;
 * - each metric alone (its series), so a metric added later costs one scan of its own (the
 *   first report that names it builds its part from all files), and the others stay;
 * - the data quality ($beforeExposure, $neverExposed) per event type: sums over event types,
 *   so metrics sharing one count its events once, as the scan does.
 * A metric's part also has the series of the units alone that its query sends (its window's
 * `$closed:<H>`, a breakdown's `$exposures#…`: compile.ts `CompileOptions`): the same in every
 * part that has them, so a report takes each such row once, and checks that its parts agree.
 *
 * Parts new to the state are built from all files in one query (`together`: its rows split
 * among them by series name, about one scan), a part it cannot give by its own. Folding the added
 * files (`fold`), all parts that folded the same files before together:
 * 1. `dirty`: the 64-bit hashes of the unit keys in the added files (exposures' `unit_id`,
 *    events' unit as the experiment buckets). Two units sharing a hash are both recomputed,
 *    which changes nothing: the restriction only chooses whom to recompute.
 * 2. Those units' rows of every file, read once (`fold_exposures`, `fold_events`, with their
 *    file); the parts' queries over them on the files before and on all files now, together
 *    as a build's are; each part's totals become totals − before + after, in one
 *    transaction with the new file lists and horizons, so a fold that fails leaves the parts
 *    as they were.
 * A row whose cut is at most its part's horizon counts in every report (a report's horizon is
 * at least each of its parts'), so its cut is dropped: only the rows of windows and bounds
 * still open at the latest data keep theirs.
 * A file rewritten in place (a redelivery writes the same name with the same rows) is read
 * as added. A file removed (compaction, retention) rebuilds the part from all files.
 * Results are exactly those of the full query: sums of exact integers (BIGINT n,
 * DECIMAL(38,0) Σx and Σx²) are the same in any order.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { createHash } from "node:crypto";
import { closingHoursOf, type MetricDefinition } from "../../../shared/metrics/definition.js";
import type { TableName } from "../event-store/columns.js";
import {
  ALLOCATION_PREFIX,
  BEFORE_EXPOSURE,
  BUCKET_SEPARATOR,
  CLOSED_UNITS_PREFIX,
  EPOCH_SEPARATOR,
  EXPOSURES,
  MULTIPLE_VARIANTS,
  NEVER_EXPOSED,
  type AggregateRow,
} from "../store.js";
import { compileMetricQuery, type CompileOptions, eventUnit, horizonSql, type MetricQuery } from "./compile.js";
import { duckdb } from "./dialect.js";
import { eventTypesOf } from "./metric-sql.js";
import { runSql } from "./run.js";
import { sqlIdent, sqlString } from "./sql.js";
import { EPOCHS_GATE, SEGMENT_SEPARATOR } from "./strata.js";
import { EVENT_TYPE_SEPARATOR } from "./unattributed.js";
import { type StoreFiles, tableSource } from "./views.js";

/** The attached database holding every part (in memory unless the engine names a file). */
export const STATE_SCHEMA = "unit_state";
/** The parts' files and horizons (a new name whenever what a part keeps changes: older files are built again). */
const PARTS = `${STATE_SCHEMA}.parts_v2`;

export interface UnitStateStats {
  /** Parts built from all files, and folds of added files (one per group of parts). */
  builds: number;
  folds: number;
  /** Reports the state could not give exactly, given by the full scan instead (index.ts). */
  fallbacks: number;
}

/** The state cannot give this report exactly (a gate it does not know, parts that disagree): scan instead. */
export class UnitStateFallback extends Error {}

export interface UnitState {
  /** The query's rows from its parts' totals, each part first brought up to the files `files`. */
  aggregates(connection: DuckDBConnection, query: MetricQuery, files: StoreFiles): Promise<AggregateRow[]>;
  readonly stats: UnitStateStats;
}

interface Part {
  /** The table of its totals in the state schema. */
  table: string;
  query: MetricQuery;
  options: CompileOptions;
  /** The pseudo-series, one metric, or the data quality of one event type (`eventType`). */
  kind: "pseudo" | "metric" | "quality";
  eventType?: string;
  /**
   * Whether its `$` series add to the other parts' (the data quality, per event type), or
   * are the units' own, the same in every part that has them (taken once).
   */
  adds: boolean;
}

/** What a data-quality part's query reads: the events of one type (no series of its own: `metricSeries`). */
const eventsOfType = (eventType: string): MetricDefinition => ({
  key: "data-quality",
  type: "event_totals",
  eventType,
  filters: [],
});

/** The report's parts: the pseudo-series, each metric alone, the data quality per event type. */
function partsOf(query: MetricQuery): Part[] {
  const parts: Array<Omit<Part, "table">> = [
    { query: { ...query, metrics: [] }, options: {}, kind: "pseudo", adds: false },
    ...query.metrics.map((metric) => ({
      query: { ...query, metrics: [metric] },
      options: { pseudoSeries: false, dataQuality: false },
      kind: "metric" as const,
      adds: false,
    })),
    ...eventTypesOf(query.metrics).map((eventType) => ({
      query: { ...query, metrics: [eventsOfType(eventType)] },
      options: { pseudoSeries: false, metricSeries: false },
      kind: "quality" as const,
      eventType,
      adds: true,
    })),
  ];
  // Named by the part's whole query (project, experiment, period, bounds, bucketing, options, metric).
  return parts.map((part) => {
    const sql = partSql(part);
    return { ...part, table: `part_${createHash("sha256").update(sql).digest("hex").slice(0, 32)}` };
  });
}

const partSql = (part: Pick<Part, "query" | "options">, units?: CompileOptions["units"]) =>
  compileMetricQuery(part.query, duckdb, { ...part.options, deferred: true, ...(units ? { units } : {}) });

const totals = (table: string) => `${STATE_SCHEMA}.${sqlIdent(table)}`;
const COLUMNS = "day_no, variant, metric, cut_ms, gate";
/** The columns of parts' rows being built or folded, with the part's index. */
const ROWS =
  "(part INTEGER, day_no BIGINT, variant VARCHAR, metric VARCHAR, cut_ms BIGINT, gate VARCHAR, n BIGINT, s DECIMAL(38,0), q DECIMAL(38,0))";
/** The query's rows as totals' rows (compile.ts `deferred`: Σ and Σ² as DECIMAL(38,0)). */
const asTotals = (sql: string, sign: "" | "-" = "") =>
  `SELECT ${COLUMNS}, ${sign}n AS n, ${sign}s AS s, ${sign}q AS q FROM (${sql}) AS r`;
/** Totals' rows summed, a cut the horizon `ms` reached dropped (the row counts in every report now). */
const settled = (rows: string, ms: bigint) =>
  `SELECT day_no, variant, metric, CASE WHEN cut_ms <= ${String(ms)} THEN NULL ELSE cut_ms END AS cut_ms, gate, ` +
  `CAST(sum(n) AS BIGINT) AS n, sum(s) AS s, sum(q) AS q FROM (${rows}) AS t ` +
  "GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0 OR sum(s) <> 0 OR sum(q) <> 0";

/** What separates a metric's key from the rest of its series' names (store.ts, strata.ts): no key holds one. */
const KEY_SEPARATORS = [":", BUCKET_SEPARATOR, EPOCH_SEPARATOR, SEGMENT_SEPARATOR];

/**
 * One query for several parts new to the state, and which of its rows (`where`, the series
 * renamed by `metric`) are each part's: the new metrics' series, the pseudo-series, and the
 * data quality of the new metrics' event types (`dataQualityByType`), with the units' own
 * series (`$closed:<H>`, a breakdown's `$exposures#…`) given to every part whose own query
 * sends them. A part's rows are exactly its own query's: every series is summed over units
 * (see the module's comment), so no series depends on the other metrics of the query.
 * Undefined when fewer than two parts would share it.
 */
function together(parts: readonly Part[]) {
  const pseudo = parts.find((p) => p.kind === "pseudo");
  const keys = parts.flatMap((p) => (p.kind === "metric" ? [p.query.metrics[0]!.key] : []));
  // A key twice (two definitions under one key) cannot be split by name: those parts are built alone.
  const metrics = parts.filter(
    (p) => p.kind === "metric" && keys.indexOf(p.query.metrics[0]!.key) === keys.lastIndexOf(p.query.metrics[0]!.key),
  );
  const types = new Set(eventTypesOf(metrics.map((p) => p.query.metrics[0]!)));
  const quality = parts.filter((p) => p.kind === "quality" && types.has(p.eventType!));
  if ((pseudo ? 1 : 0) + metrics.length + quality.length < 2) return undefined;
  const base = (pseudo ?? metrics[0] ?? quality[0])!.query;
  const segments =
    base.breakdown === undefined ? [] : [`starts_with(metric, ${sqlString(`${EXPOSURES}${SEGMENT_SEPARATOR}`)})`];
  const rows = new Map<Part, { where: string; metric: string }>();
  if (pseudo)
    rows.set(pseudo, {
      where: [
        `metric IN (${sqlString(EXPOSURES)}, ${sqlString(MULTIPLE_VARIANTS)})`,
        `starts_with(metric, ${sqlString(ALLOCATION_PREFIX)})`,
        ...segments,
      ].join(" OR "),
      metric: "metric",
    });
  for (const part of metrics) {
    const metric = part.query.metrics[0]!;
    const end = closingHoursOf(metric);
    const own = [
      `metric = ${sqlString(metric.key)}`,
      ...KEY_SEPARATORS.map((sep) => `starts_with(metric, ${sqlString(metric.key + sep)})`),
      ...(end === undefined
        ? []
        : [
            `metric = ${sqlString(`${CLOSED_UNITS_PREFIX}${end}`)}`,
            `starts_with(metric, ${sqlString(`${CLOSED_UNITS_PREFIX}${end}${EPOCH_SEPARATOR}`)})`,
          ]),
      ...segments,
    ];
    rows.set(part, { where: own.join(" OR "), metric: "metric" });
  }
  for (const part of quality) {
    const series = [BEFORE_EXPOSURE, NEVER_EXPOSED].map((s) =>
      sqlString(`${s}${EVENT_TYPE_SEPARATOR}${part.eventType!}`),
    );
    rows.set(part, {
      where: `metric IN (${series.join(", ")})`,
      metric: `split_part(metric, ${sqlString(EVENT_TYPE_SEPARATOR)}, 1)`,
    });
  }
  return {
    query: { ...base, metrics: metrics.map((p) => p.query.metrics[0]!) },
    options: {
      pseudoSeries: pseudo !== undefined,
      dataQuality: quality.length > 0,
      dataQualityByType: true,
    } satisfies CompileOptions,
    rows,
  };
}

type Versions = Record<string, string>;
type HorizonTables = Parameters<typeof horizonSql>[1];

export async function attachUnitState(connection: DuckDBConnection, path = ":memory:"): Promise<void> {
  await connection.run(`ATTACH IF NOT EXISTS ${sqlString(path)} AS ${STATE_SCHEMA}`);
  await connection.run(
    `CREATE TABLE IF NOT EXISTS ${PARTS} (part VARCHAR PRIMARY KEY, files VARCHAR NOT NULL, horizon BIGINT NOT NULL)`,
  );
}

const scalar = async (connection: DuckDBConnection, sql: string): Promise<bigint> => {
  const reader = await connection.runAndReadAll(sql);
  return BigInt(String(reader.getRows()[0]?.[0] ?? 0));
};

/** Gates the state evaluates over a report's parts (strata.ts `EPOCHS_GATE`), as SQL over the pseudo part's totals. */
const gates = (pseudo: string): Record<string, string> => ({
  // More than one allocation among the units: as many `$alloc:` series as allocations.
  [EPOCHS_GATE]: `(SELECT count(DISTINCT metric) FROM ${pseudo} WHERE starts_with(metric, ${sqlString(ALLOCATION_PREFIX)})) > 1`,
});

export function createUnitState(): UnitState {
  const stats: UnitStateStats = { builds: 0, folds: 0, fallbacks: 0 };

  const transaction = async (connection: DuckDBConnection, statements: readonly string[]) => {
    await connection.run("BEGIN TRANSACTION");
    try {
      for (const statement of statements) await connection.run(statement);
      await connection.run("COMMIT");
    } catch (error) {
      await connection.run("ROLLBACK");
      throw error;
    }
  };

  /** The horizon of each part (`horizonSql`) over `tables`, in one query. */
  const horizonsOf = async (connection: DuckDBConnection, parts: readonly Part[], tables?: HorizonTables) => {
    const reader = await connection.runAndReadAll(
      `SELECT ${parts.map((part) => `(${horizonSql(part.query, tables)})`).join(", ")}`,
    );
    return (reader.getRows()[0] ?? []).map((ms) => BigInt(String(ms ?? 0)));
  };

  /**
   * Replaces each part's totals by its rows of `rows` (a table with a `part` column, the
   * part's index), settled at its horizon, with its files and horizon: in one transaction.
   */
  const store = (
    connection: DuckDBConnection,
    parts: readonly Part[],
    rows: string,
    versions: Versions,
    horizons: bigint[],
  ) =>
    transaction(connection, [
      ...parts.map(
        (part, i) =>
          `CREATE OR REPLACE TABLE ${totals(part.table)} AS ${settled(`SELECT ${COLUMNS}, n, s, q FROM ${rows} WHERE part = ${i}`, horizons[i]!)}`,
      ),
      `INSERT OR REPLACE INTO ${PARTS} VALUES ${parts
        .map((part, i) => `(${sqlString(part.table)}, ${sqlString(JSON.stringify(versions))}, ${String(horizons[i])})`)
        .join(", ")}`,
    ]);

  /**
   * Inserts each part's rows (with its index in `parts` as `part`) into the temp table `target`,
   * negated when `sign` is "-": those one query can give together (`together`: one read of the
   * events) from its rows split by series, the others each by its own query. Over the units
   * `units` alone when given (a fold); with `horizons`, each part's rows settled at its own
   * (the query drops the cuts the least of them reached: compile.ts `settledAt`).
   */
  async function insertRows(
    connection: DuckDBConnection,
    parts: readonly Part[],
    target: string,
    { units, horizons, sign = "" }: { units?: CompileOptions["units"]; horizons?: readonly bigint[]; sign?: "" | "-" },
  ) {
    const settledAt = (i: number) => (horizons ? { settledAt: horizons[i]! } : {});
    const plan = together(parts);
    if (plan) {
      const least = parts.reduce<bigint | undefined>(
        (min, part, i) =>
          horizons && plan.rows.has(part) && (min === undefined || horizons[i]! < min) ? horizons[i]! : min,
        undefined,
      );
      const options = { ...plan.options, ...(least === undefined ? {} : { settledAt: least }) };
      const sql = partSql({ query: plan.query, options }, units);
      await connection.run(`CREATE OR REPLACE TEMP TABLE rows_together AS ${asTotals(sql, sign)}`);
      for (const [i, part] of parts.entries()) {
        const rows = plan.rows.get(part);
        if (rows)
          await connection.run(
            `INSERT INTO ${target} SELECT ${i}, day_no, variant, ${rows.metric}, cut_ms, gate, n, s, q FROM rows_together WHERE ${rows.where}`,
          );
      }
      await connection.run("DROP TABLE rows_together");
    }
    for (const [i, part] of parts.entries())
      if (!plan?.rows.has(part)) {
        const sql = partSql({ query: part.query, options: { ...part.options, ...settledAt(i) } }, units);
        await connection.run(`INSERT INTO ${target} SELECT ${i} AS part, * FROM (${asTotals(sql, sign)}) AS r`);
      }
  }

  /** Builds parts from all files, and their horizons (read first: each part's rows are settled at them in the query). */
  async function build(connection: DuckDBConnection, parts: readonly Part[], versions: Versions) {
    stats.builds += parts.length;
    const horizons = await horizonsOf(connection, parts);
    await connection.run(`CREATE OR REPLACE TEMP TABLE built ${ROWS}`);
    await insertRows(connection, parts, "built", { horizons });
    await store(connection, parts, "built", versions, horizons);
  }

  /**
   * Folds the added files into parts that folded the same files before (so their dirty units
   * are the same): those units' rows read once from every file, then the parts' queries over
   * them before and after (`insertRows`).
   */
  async function fold(
    connection: DuckDBConnection,
    group: readonly Part[],
    files: StoreFiles,
    before: Versions,
    added: Record<TableName, string[]>,
    horizons: ReadonlyMap<string, bigint>,
  ) {
    stats.folds++;
    const unit = eventUnit(group[0]!.query, duckdb);
    const hashes = [
      ...(added.exposures.length > 0
        ? [`SELECT hash("unit_id") AS uh FROM (${tableSource("exposures", added.exposures)}) AS x`]
        : []),
      ...(added.events.length > 0
        ? [`SELECT hash(${unit}) AS uh FROM (${tableSource("events", added.events)}) AS e WHERE ${unit} IS NOT NULL`]
        : []),
    ];
    await connection.run(
      `CREATE OR REPLACE TEMP TABLE dirty_units AS SELECT DISTINCT uh FROM (${hashes.join(" UNION ALL ")})`,
    );
    const keys = { exposures: `hash("unit_id")`, events: `hash(${unit})` };
    for (const table of ["exposures", "events"] as const) {
      const old = files.files[table].filter((file) => file in before);
      await connection.run(
        `CREATE OR REPLACE TEMP TABLE fold_${table} AS SELECT * FROM (${tableSource(table, files.files[table], { filename: true })}) AS t ` +
          `WHERE ${keys[table]} IN (SELECT uh FROM dirty_units)`,
      );
      await connection.run(
        `CREATE OR REPLACE TEMP VIEW before_${table} AS SELECT * EXCLUDE (filename) FROM fold_${table} ` +
          `WHERE filename IN (SELECT unnest([${["NULL", ...old.map(sqlString)].join(", ")}]::VARCHAR[]))`,
      );
      await connection.run(
        `CREATE OR REPLACE TEMP VIEW after_${table} AS SELECT * EXCLUDE (filename) FROM fold_${table}`,
      );
    }
    // Per part: its totals, minus what the dirty units gave on the files before, plus what they give now.
    await connection.run(`CREATE OR REPLACE TEMP TABLE folded ${ROWS}`);
    for (const [i, part] of group.entries())
      await connection.run(`INSERT INTO folded SELECT ${i} AS part, * FROM ${totals(part.table)}`);
    for (const when of ["before", "after"] as const)
      await insertRows(connection, group, "folded", {
        units: { dirty: "dirty_units", exposures: `${when}_exposures`, events: `${when}_events` },
        sign: when === "before" ? "-" : "",
      });
    const latest = await horizonsOf(connection, group, {
      exposures: `(${tableSource("exposures", added.exposures)})`,
      events: `(${tableSource("events", added.events)})`,
    });
    const horizon = group.map((part, i) => {
      const stored = horizons.get(part.table) ?? 0n;
      return latest[i]! > stored ? latest[i]! : stored;
    });
    await store(connection, group, "folded", Object.fromEntries(files.versions), horizon);
  }

  /** Where each part is: up to date, to be built, or to fold files added since `before`. */
  async function statuses(connection: DuckDBConnection, parts: readonly Part[], now: Versions, files: StoreFiles) {
    const reader = await connection.runAndReadAll(
      `SELECT part, files, horizon FROM ${PARTS} WHERE part IN (${parts.map((p) => sqlString(p.table)).join(", ")})`,
    );
    const stored = new Map(reader.getRows().map(([part, list, horizon]) => [String(part), { list, horizon }]));
    return parts.map(
      (part): "current" | "build" | { before: Versions; horizon: bigint; added: Record<TableName, string[]> } => {
        const found = stored.get(part.table);
        if (found === undefined) return "build";
        const before = JSON.parse(String(found.list)) as Versions;
        if (Object.keys(before).some((file) => !(file in now))) return "build";
        const added = { exposures: [], events: [] } as Record<TableName, string[]>;
        for (const table of Object.keys(added) as TableName[])
          added[table] = files.files[table].filter((file) => before[file] !== now[file]);
        return added.exposures.length + added.events.length === 0
          ? "current"
          : { before, horizon: BigInt(String(found.horizon)), added };
      },
    );
  }

  /** Brings every part up to `files`: those new or missing a file built, the others folded in groups of the same files before. */
  async function update(connection: DuckDBConnection, parts: readonly Part[], files: StoreFiles) {
    const now = Object.fromEntries(files.versions);
    const builds: Part[] = [];
    const folds = new Map<string, { parts: Part[]; before: Versions; added: Record<TableName, string[]> }>();
    const horizons = new Map<string, bigint>();
    const unique = [...new Map(parts.map((part) => [part.table, part])).values()];
    for (const [i, where] of (await statuses(connection, unique, now, files)).entries()) {
      const part = unique[i]!;
      if (where === "current") continue;
      if (where === "build") builds.push(part);
      else {
        horizons.set(part.table, where.horizon);
        const id = JSON.stringify(where.before);
        const group = folds.get(id) ?? { parts: [], before: where.before, added: where.added };
        group.parts.push(part);
        folds.set(id, group);
      }
    }
    if (builds.length > 0) await build(connection, builds, now);
    for (const { parts: group, before, added } of folds.values())
      await fold(connection, group, files, before, added, horizons);
  }

  /** The report's rows from its parts: each row its horizon reaches and its gates open, the units' own series once. */
  async function read(connection: DuckDBConnection, parts: readonly Part[]): Promise<AggregateRow[]> {
    const list = parts.map((p) => sqlString(p.table)).join(", ");
    const horizon = await scalar(connection, `SELECT coalesce(max(horizon), 0) FROM ${PARTS} WHERE part IN (${list})`);
    const all = parts.map((p, i) => `SELECT ${i} AS part, * FROM ${totals(p.table)}`).join(" UNION ALL ");
    const known = gates(totals(parts[0]!.table));
    const used = await connection.runAndReadAll(`SELECT DISTINCT gate FROM (${all}) AS t WHERE gate IS NOT NULL`);
    const unknown = used
      .getRows()
      .map(([gate]) => String(gate))
      .filter((gate) => !(gate in known));
    if (unknown.length > 0)
      throw new UnitStateFallback(`the unit state does not know the gate(s) ${unknown.join(", ")}`);
    const open = Object.entries(known).map(([gate, sql]) => `(gate = ${sqlString(gate)} AND ${sql})`);
    const adding = parts.flatMap((p, i) => (p.adds ? [String(i)] : []));
    const adds = `(part IN (${["-1", ...adding].join(", ")}) OR NOT starts_with(metric, '$'))`;
    await connection.run(
      `CREATE OR REPLACE TEMP TABLE report_rows AS SELECT part, day_no, variant, metric, sum(n) AS n, sum(s) AS s, sum(q) AS q ` +
        `FROM (${all}) AS t WHERE (cut_ms IS NULL OR cut_ms <= ${String(horizon)}) ` +
        `AND (gate IS NULL OR ${open.join(" OR ") || "FALSE"}) GROUP BY 1, 2, 3, 4`,
    );
    const disagree = await scalar(
      connection,
      `SELECT count(*) FROM (SELECT day_no, variant, metric FROM report_rows WHERE NOT ${adds} GROUP BY 1, 2, 3 ` +
        "HAVING min(n) <> max(n) OR min(s) <> max(s) OR min(q) <> max(q)) AS d",
    );
    if (disagree > 0n) throw new UnitStateFallback(`the unit state's parts disagree on ${disagree} shared row(s)`);
    return runSql(
      connection,
      [
        "SELECT day_no, variant, metric, CAST(sum(n) AS BIGINT) AS n, CAST(sum(s) AS VARCHAR) AS s, CAST(sum(q) AS VARCHAR) AS q FROM (",
        `SELECT day_no, variant, metric, n, s, q FROM report_rows WHERE ${adds} UNION ALL `,
        `SELECT day_no, variant, metric, min(n), min(s), min(q) FROM report_rows WHERE NOT ${adds} GROUP BY 1, 2, 3`,
        ") AS series GROUP BY day_no, variant, metric",
        "HAVING sum(n) <> 0 OR sum(s) <> 0 OR sum(q) <> 0",
        "ORDER BY day_no, variant, metric",
      ].join("\n"),
    );
  }

  return {
    stats,
    async aggregates(connection, query, files) {
      const parts = partsOf(query);
      await update(connection, parts, files);
      return read(connection, parts);
    },
  };
}
