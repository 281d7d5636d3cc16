/**
 * The unit state: a report's series kept summed beside the store and brought up to date by
 * the units that new files touch, instead of a scan of every event for every report.
 *
 * Every series of the metric query (compile.ts) is a sum over units of what each unit's own
 * exposures and events give it. So when files are added, only the units whose keys occur in
 * them can change, and the report changes by exactly what the query over those units alone
 * gives on the new files minus what it gave on the files before. A report is cut into parts,
 * each kept as its own totals per (day, variant, series) with the list of files folded in:
 * - the pseudo-series ($exposures, $multipleVariants, $alloc:…) of the experiment's period;
 * - each metric alone (its series), so a metric added later costs one scan of its own (the
 *   first report that names it builds its part from all files), and the others stay.
 *
 * Parts new to the state are built by one full query over all their metrics, each part taking
 * its rows by series name (`ownRows`). Folding the added files of parts (`fold`), all parts that
 * folded the same files before together:
 * 1. `dirty`: the 64-bit hashes of the unit keys in the added files (exposures' `unit_id`,
 *    events' unit as the experiment buckets). Two units sharing a hash are both recomputed,
 *    which changes nothing: the restriction only chooses whom to recompute.
 * 2. The query restricted to those units over the files folded before and over all files
 *    now; each part's totals become totals − before + after, in one transaction with the new
 *    file lists, so a fold that fails leaves the parts as they were.
 * A file rewritten in place (a redelivery writes the same name with the same rows) is read
 * as added. A file removed (compaction, retention) rebuilds the part from all files.
 * Results are exactly those of the full query (unit-state.property.test.ts): sums of exact
 * integers (BIGINT n, DECIMAL(38,0) Σx and Σx²) are the same in any order.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { createHash } from "node:crypto";
import type { TableName } from "../event-store/columns.js";
import type { AggregateRow } from "../store.js";
import { compileMetricQuery, type CompileOptions, eventUnit, type MetricQuery } from "./compile.js";
import { duckdb } from "./dialect.js";
import { runSql } from "./run.js";
import { sqlIdent, sqlString } from "./sql.js";
import { type StoreFiles, tableSource } from "./views.js";

/** The attached database holding every part (in memory unless the engine names a file). */
export const STATE_SCHEMA = "unit_state";

export interface UnitStateStats {
  /** Parts built from all files, and folds of added files into a part. */
  builds: number;
  folds: number;
}

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
}

/** The report's parts: the pseudo-series, then each metric alone. */
function partsOf(query: MetricQuery): Part[] {
  const parts: Array<Omit<Part, "table">> = [
    { query: { ...query, metrics: [] }, options: {} },
    ...query.metrics.map((metric) => ({ query: { ...query, metrics: [metric] }, options: { pseudoSeries: false } })),
  ];
  // Named by the part's whole query (project, experiment, period, bounds, bucketing, metric).
  return parts.map((part) => {
    const sql = compileMetricQuery(part.query, duckdb, part.options);
    return { ...part, table: `part_${createHash("sha256").update(sql).digest("hex").slice(0, 32)}` };
  });
}

const totals = (table: string) => `${STATE_SCHEMA}.${sqlIdent(table)}`;
/** The query's rows as totals' rows (its Σ and Σ² come as exact decimal text). */
const asTotals = (sql: string, sign: "" | "-" = "") =>
  `SELECT day_no, variant, metric, ${sign}n AS n, ${sign}CAST(s AS DECIMAL(38,0)) AS s, ` +
  `${sign}CAST(q AS DECIMAL(38,0)) AS q FROM (${sql}) AS r`;

type Versions = Record<string, string>;

/** The rows of a part's series: the pseudo-series' (`$…`), or its metric's (`key`, `key:…`, `key~…`). */
function ownRows(part: Part): string {
  const metric = part.query.metrics[0];
  if (metric === undefined) return "starts_with(metric, '$')";
  const key = sqlString(metric.key);
  // Its epochs' (`key@…`) and a breakdown's segments (`key#…`) too (strata.ts).
  const prefixes = [":", "~", "@", "#"].map((c) => `starts_with(metric, ${sqlString(`${metric.key}${c}`)})`);
  return `(metric = ${key} OR ${prefixes.join(" OR ")})`;
}

export async function attachUnitState(connection: DuckDBConnection, path = ":memory:"): Promise<void> {
  await connection.run(`ATTACH IF NOT EXISTS ${sqlString(path)} AS ${STATE_SCHEMA}`);
  await connection.run(
    `CREATE TABLE IF NOT EXISTS ${STATE_SCHEMA}.parts (part VARCHAR PRIMARY KEY, files VARCHAR NOT NULL)`,
  );
}

export function createUnitState(): UnitState {
  const stats: UnitStateStats = { builds: 0, folds: 0 };

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

  const record = (part: Part, versions: Versions) =>
    `INSERT OR REPLACE INTO ${STATE_SCHEMA}.parts VALUES (${sqlString(part.table)}, ${sqlString(JSON.stringify(versions))})`;

  /** The query over the metrics of `group` (and the pseudo-series if it holds their part). */
  const groupQuery = (group: readonly Part[]): [MetricQuery, CompileOptions] => [
    { ...group[0]!.query, metrics: group.flatMap((part) => part.query.metrics) },
    { pseudoSeries: group.some((part) => part.query.metrics.length === 0) },
  ];

  /** Builds parts from all files: one full query over all their metrics, each part taking its rows. */
  async function build(connection: DuckDBConnection, group: readonly Part[], versions: Versions) {
    stats.builds++;
    const [query, options] = groupQuery(group);
    await connection.run(
      `CREATE OR REPLACE TEMP TABLE built AS ${asTotals(compileMetricQuery(query, duckdb, options))}`,
    );
    await transaction(
      connection,
      group.flatMap((part) => [
        `CREATE OR REPLACE TABLE ${totals(part.table)} AS SELECT * FROM built WHERE ${ownRows(part)}`,
        record(part, versions),
      ]),
    );
  }

  /**
   * Folds the added files into parts that folded the same files before (so their dirty units
   * are the same): one query over all their metrics before and one after, whose rows each
   * part takes by series name (a metric key has no ':', '~' or '$': `ownRows`).
   */
  async function fold(
    connection: DuckDBConnection,
    group: readonly Part[],
    files: StoreFiles,
    before: Versions,
    added: Record<TableName, string[]>,
  ) {
    stats.folds++;
    const [query, options] = groupQuery(group);
    const unit = eventUnit(query, duckdb);
    const hashes = [
      ...(added.exposures.length > 0
        ? [`SELECT hash("unit_id") AS uh FROM (${tableSource("exposures", added.exposures)}) AS x`]
        : []),
      ...(added.events.length > 0
        ? [`SELECT hash(${unit}) AS uh FROM (${tableSource("events", added.events)}) AS e WHERE ${unit} IS NOT NULL`]
        : []),
    ];
    const old = (table: TableName) => files.files[table].filter((file) => file in before);
    await connection.run(
      `CREATE OR REPLACE TEMP TABLE dirty_units AS SELECT DISTINCT uh FROM (${hashes.join(" UNION ALL ")})`,
    );
    await connection.run(
      `CREATE OR REPLACE TEMP VIEW before_exposures AS ${tableSource("exposures", old("exposures"))}`,
    );
    await connection.run(`CREATE OR REPLACE TEMP VIEW before_events AS ${tableSource("events", old("events"))}`);
    const over = (exposures: string, events: string) =>
      compileMetricQuery(query, duckdb, { ...options, units: { dirty: "dirty_units", exposures, events } });
    // What the dirty units give now, minus what they gave on the files before.
    await connection.run(
      `CREATE OR REPLACE TEMP TABLE fold_delta AS ${asTotals(over("before_exposures", "before_events"), "-")} ` +
        `UNION ALL ${asTotals(over("exposures", "events"))}`,
    );
    const versions = Object.fromEntries(files.versions);
    await transaction(
      connection,
      group.flatMap((part) => [
        `CREATE OR REPLACE TEMP TABLE folded AS SELECT day_no, variant, metric, CAST(sum(n) AS BIGINT) AS n, sum(s) AS s, sum(q) AS q ` +
          `FROM (SELECT * FROM ${totals(part.table)} UNION ALL SELECT * FROM fold_delta WHERE ${ownRows(part)}) AS t ` +
          "GROUP BY 1, 2, 3 HAVING sum(n) <> 0 OR sum(s) <> 0 OR sum(q) <> 0",
        `DELETE FROM ${totals(part.table)}`,
        `INSERT INTO ${totals(part.table)} SELECT * FROM folded`,
        record(part, versions),
      ]),
    );
  }

  /** Where one part is: up to date, to be built, or to fold files added since `before`. */
  async function status(
    connection: DuckDBConnection,
    part: Part,
    now: Versions,
    files: StoreFiles,
  ): Promise<"current" | "build" | { before: Versions; added: Record<TableName, string[]> }> {
    const reader = await connection.runAndReadAll(
      `SELECT files FROM ${STATE_SCHEMA}.parts WHERE part = ${sqlString(part.table)}`,
    );
    const stored = reader.getRows()[0]?.[0];
    if (stored === undefined) return "build";
    const before = JSON.parse(String(stored)) as Versions;
    if (Object.keys(before).some((file) => !(file in now))) return "build";
    const added = { exposures: [], events: [] } as Record<TableName, string[]>;
    for (const table of Object.keys(added) as TableName[])
      added[table] = files.files[table].filter((file) => before[file] !== now[file]);
    return added.exposures.length + added.events.length === 0 ? "current" : { before, added };
  }

  /**
   * Brings every part up to `files`: those new or missing a file built together, the others
   * folded in groups of the same files before. A part whose metric shares its key with
   * another's goes alone (they would take each other's rows).
   */
  async function update(connection: DuckDBConnection, parts: readonly Part[], files: StoreFiles) {
    const now = Object.fromEntries(files.versions);
    const builds = new Map<string, Part[]>();
    const folds = new Map<string, { parts: Part[]; before: Versions; added: Record<TableName, string[]> }>();
    const keys = new Set<string>();
    const unique = [...new Map(parts.map((part) => [part.table, part])).values()];
    for (const part of unique) {
      const where = await status(connection, part, now, files);
      if (where === "current") continue;
      const key = part.query.metrics[0]?.key ?? "$";
      const alone = keys.has(key) ? `${part.table}\n` : "";
      keys.add(key);
      if (where === "build") builds.set(alone, [...(builds.get(alone) ?? []), part]);
      else {
        const id = `${alone}${JSON.stringify(where.before)}`;
        const group = folds.get(id) ?? { parts: [], ...where };
        group.parts.push(part);
        folds.set(id, group);
      }
    }
    for (const group of builds.values()) await build(connection, group, now);
    for (const { parts: group, before, added } of folds.values()) await fold(connection, group, files, before, added);
  }

  return {
    stats,
    async aggregates(connection, query, files) {
      const parts = partsOf(query);
      await update(connection, parts, files);
      const sql = [
        "SELECT day_no, variant, metric, CAST(sum(n) AS BIGINT) AS n, CAST(sum(s) AS VARCHAR) AS s, CAST(sum(q) AS VARCHAR) AS q",
        `FROM (${parts.map((p) => `SELECT * FROM ${totals(p.table)}`).join(" UNION ALL ")}) AS series`,
        "GROUP BY day_no, variant, metric",
        "HAVING sum(n) <> 0 OR sum(s) <> 0 OR sum(q) <> 0",
        "ORDER BY day_no, variant, metric",
      ].join("\n");
      return runSql(connection, sql);
    },
  };
}
