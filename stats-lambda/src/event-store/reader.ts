/**
 * The event store's read side: a project's two tables attached to a DuckDB connection as
 * the temp views `exposures` and `events`, the columns of columns.ts plus the partition
 * columns `project` and `date` (VARCHAR `YYYY-MM-DD`, as in Athena), one row per `id`
 * (at-least-once delivery and compaction may each hold a row twice). The metric engine's
 * SQL is written against exactly these names.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { TABLES, type TableName } from "./columns.js";
import { DATE_SEGMENT, projectSegment, sqlString } from "./paths.js";

export interface AttachOptions {
  /** The store's local root folder (`.data/events`). */
  root: string;
  project: string;
  /** First and last UTC day to read (`YYYY-MM-DD`, inclusive); all days when absent. */
  from?: string;
  to?: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export async function attachEventStore(connection: DuckDBConnection, options: AttachOptions): Promise<void> {
  for (const day of [options.from, options.to])
    if (day !== undefined && !DAY.test(day)) throw new Error(`Not a day (YYYY-MM-DD): ${day}`);
  for (const table of Object.keys(TABLES) as TableName[]) {
    await connection.run(`CREATE OR REPLACE TEMP VIEW ${table} AS ${await tableSql(table, options)}`);
  }
}

/** The view's query: the Parquet files of the project's days in range, de-duplicated by id. */
export async function tableSql(table: TableName, options: AttachOptions): Promise<string> {
  const columns = TABLES[table];
  const folder = join(options.root, table, projectSegment(options.project));
  const inRange = (day: string) =>
    (options.from === undefined || day >= options.from) && (options.to === undefined || day <= options.to);
  if (!(await hasFiles(folder, inRange))) {
    // No file yet: DuckDB refuses an empty glob, so an empty relation of the same shape.
    const nulls = columns.map((c) => `CAST(NULL AS ${c.type}) AS "${c.name}"`).join(", ");
    return `SELECT ${nulls}, CAST(NULL AS VARCHAR) AS project, CAST(NULL AS VARCHAR) AS date WHERE false`;
  }
  const range = [
    ...(options.from === undefined ? [] : [`date >= ${sqlString(options.from)}`]),
    ...(options.to === undefined ? [] : [`date <= ${sqlString(options.to)}`]),
  ];
  const names = columns.map((c) => `"${c.name}"`).join(", ");
  // The glob is expanded when a query binds, so files published after attaching are read too.
  // Copies of a row are identical (same id, same content): which one is kept does not matter.
  return `SELECT ${names}, ${sqlString(options.project)} AS project, date
    FROM read_parquet(${sqlString(join(folder, "date=*", "*.parquet"))},
      hive_partitioning = true, hive_types = {'project': VARCHAR, 'date': VARCHAR}, union_by_name = true)
    ${range.length ? `WHERE ${range.join(" AND ")}` : ""}
    QUALIFY row_number() OVER (PARTITION BY id) = 1`;
}

async function hasFiles(folder: string, inRange: (day: string) => boolean): Promise<boolean> {
  const days = await readdir(folder).catch(() => [] as string[]);
  for (const segment of days) {
    const day = DATE_SEGMENT.exec(segment)?.[1];
    if (!day || !inRange(day)) continue;
    const files = await readdir(join(folder, segment)).catch(() => [] as string[]);
    if (files.some((f) => f.endsWith(".parquet"))) return true;
  }
  return false;
}
