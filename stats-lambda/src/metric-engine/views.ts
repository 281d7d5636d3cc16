/**
 * The event store's Parquet files as the views the engine reads (`exposures`, `events`), and
 * a fingerprint of them: every file's path, size and modification time. The views list the
 * fingerprinted files explicitly, so a result cached under a fingerprint was computed from
 * exactly those files. (The store module owns the layout, event-store/columns.ts; this reads it.)
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { createHash } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { TABLES, type TableName } from "../event-store/columns.js";
import { sqlIdent, sqlString } from "./sql.js";

export interface StoreFiles {
  files: Record<TableName, string[]>;
  /** Changes whenever a file is added, removed, rewritten or touched. */
  fingerprint: string;
  /** Each file's size and modification time (`<size>:<mtime>`), by path. */
  versions: Map<string, string>;
}

function parquetFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true, encoding: "utf8" });
  } catch {
    return []; // no table yet
  }
  return names
    .filter((name) => name.endsWith(".parquet"))
    .map((name) => join(dir, name))
    .sort();
}

export function storeFiles(root: string): StoreFiles {
  const hash = createHash("sha256");
  const files = {} as Record<TableName, string[]>;
  const versions = new Map<string, string>();
  for (const table of Object.keys(TABLES) as TableName[]) {
    files[table] = parquetFiles(join(root, table));
    for (const file of files[table]) {
      const { size, mtimeMs } = statSync(file);
      hash.update(`${file}\0${size}\0${mtimeMs}\n`);
      versions.set(file, `${size}:${mtimeMs}`);
    }
  }
  return { files, fingerprint: hash.digest("base64url"), versions };
}

/** An empty view with the table's columns, for a table with no file yet. */
const emptyView = (table: TableName) =>
  `SELECT ${[
    ...TABLES[table].map((c) => `CAST(NULL AS ${c.type}) AS ${sqlIdent(c.name)}`),
    `CAST(NULL AS VARCHAR) AS ${sqlIdent("project")}`,
    `CAST(NULL AS VARCHAR) AS ${sqlIdent("date")}`,
  ].join(", ")} WHERE FALSE`;

/**
 * A SELECT of the table's rows in the files `list` (with the partition columns, and with
 * `filename`, each row's file, when asked: the unit state's folds, unit-state.ts).
 */
export const tableSource = (table: TableName, list: readonly string[], { filename = false } = {}): string =>
  list.length === 0
    ? `${filename ? `SELECT *, CAST(NULL AS VARCHAR) AS ${sqlIdent("filename")} FROM (${emptyView(table)}) AS empty` : emptyView(table)}`
    : `SELECT * FROM read_parquet([${list.map(sqlString).join(", ")}], hive_partitioning = true, ` +
      `union_by_name = true, hive_types = {'project': VARCHAR, 'date': VARCHAR}${filename ? ", filename = true" : ""})`;

export async function attachViews(connection: DuckDBConnection, { files }: StoreFiles): Promise<void> {
  for (const table of Object.keys(TABLES) as TableName[])
    await connection.run(`CREATE OR REPLACE VIEW ${table} AS ${tableSource(table, files[table])}`);
}
