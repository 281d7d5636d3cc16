/** Writes rows as the event store's Parquet layout (`<root>/<table>/project=<p>/date=<d>/…`), with DuckDB's own COPY. */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { TableName } from "../event-store/columns.js";
import { sqlString } from "./sql.js";
import { createTable, type StoreRow } from "./tables.js";
import { connect } from "./test-kit.test-support.js";

export async function writeStore(root: string, tables: Partial<Record<TableName, readonly StoreRow[]>>) {
  const db = await connect();
  for (const [table, rows] of Object.entries(tables) as Array<[TableName, StoreRow[]]>) {
    await createTable(db, table, rows);
    mkdirSync(join(root, table), { recursive: true });
    await db.run(
      `COPY ${table} TO ${sqlString(join(root, table))} (FORMAT PARQUET, PARTITION_BY (project, date), APPEND)`,
    );
  }
  db.closeSync();
}
