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
 * Folding the added files of a part (`fold`):
 * 1. `dirty`: the 64-bit hashes of the unit keys in the added files (exposures' `unit_id`,
 *    events' unit as the experiment buckets). Two units sharing a hash are both recomputed,
 *    which changes nothing: the restriction only chooses whom to recompute.
 * 2. The query restricted to those units over the files folded before (`before`) and over all
 *    files now (`after`); the part's totals become totals − before + after, in one transaction
 *    with the new file list, so a fold that fails leaves the part as it was.
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

  async function build(connection: DuckDBConnection, part: Part, versions: Versions) {
    stats.builds++;
    await transaction(connection, [
      `CREATE OR REPLACE TABLE ${totals(part.table)} AS ${asTotals(compileMetricQuery(part.query, duckdb, part.options))}`,
      record(part, versions),
    ]);
  }

  async function fold(
    connection: DuckDBConnection,
    part: Part,
    files: StoreFiles,
    before: Versions,
    added: Record<TableName, string[]>,
  ) {
    stats.folds++;
    const unit = eventUnit(part.query, duckdb);
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
      compileMetricQuery(part.query, duckdb, { ...part.options, units: { dirty: "dirty_units", exposures, events } });
    const merged =
      `SELECT day_no, variant, metric, CAST(sum(n) AS BIGINT) AS n, sum(s) AS s, sum(q) AS q FROM (` +
      `SELECT * FROM ${totals(part.table)} UNION ALL ${asTotals(over("before_exposures", "before_events"), "-")} ` +
      `UNION ALL ${asTotals(over("exposures", "events"))}) AS t GROUP BY 1, 2, 3 HAVING sum(n) <> 0 OR sum(s) <> 0 OR sum(q) <> 0`;
    await transaction(connection, [
      `CREATE OR REPLACE TEMP TABLE folded AS ${merged}`,
      `DELETE FROM ${totals(part.table)}`,
      `INSERT INTO ${totals(part.table)} SELECT * FROM folded`,
      record(part, Object.fromEntries(files.versions)),
    ]);
  }

  /** Brings one part up to `files`: nothing, a fold of the added files, or a build. */
  async function update(connection: DuckDBConnection, part: Part, files: StoreFiles) {
    const reader = await connection.runAndReadAll(
      `SELECT files FROM ${STATE_SCHEMA}.parts WHERE part = ${sqlString(part.table)}`,
    );
    const stored = reader.getRows()[0]?.[0];
    const now = Object.fromEntries(files.versions);
    if (stored === undefined) return build(connection, part, now);
    const before = JSON.parse(String(stored)) as Versions;
    if (Object.keys(before).some((file) => !(file in now))) return build(connection, part, now);
    const added = { exposures: [], events: [] } as Record<TableName, string[]>;
    for (const table of Object.keys(added) as TableName[])
      added[table] = files.files[table].filter((file) => before[file] !== now[file]);
    if (added.exposures.length + added.events.length === 0) return;
    return fold(connection, part, files, before, added);
  }

  return {
    stats,
    async aggregates(connection, query, files) {
      const parts = partsOf(query);
      for (const part of parts) await update(connection, part, files);
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
