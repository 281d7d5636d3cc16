/**
 * The event store's two tables created in DuckDB from rows (tests and the preview of a
 * store not yet written): the columns of event-store/columns.ts plus the partition columns,
 * so the engine reads them exactly as it reads the Parquet views.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { TABLES, type TableName } from "../event-store/columns.js";
import { sqlIdent, sqlString } from "./sql.js";

export type StoreRow = { readonly [column: string]: string | number | boolean | null | undefined };

const columnsOf = (table: TableName) => [
  ...TABLES[table].map((c) => ({ name: c.name, type: c.type })),
  { name: "project", type: "VARCHAR" },
  { name: "date", type: "VARCHAR" },
];

const literal = (value: StoreRow[string], type: string): string => {
  if (value === undefined || value === null) return "NULL";
  if (type === "BOOLEAN") return value ? "TRUE" : "FALSE";
  if (type === "VARCHAR") return sqlString(String(value));
  return String(Math.trunc(Number(value)));
};

/** Creates (or replaces) `table` holding `rows`; `date` defaults to the UTC day of `time`. */
export async function createTable(connection: DuckDBConnection, table: TableName, rows: readonly StoreRow[]) {
  const columns = columnsOf(table);
  await connection.run(
    `CREATE OR REPLACE TABLE ${table} (${columns.map((c) => `${sqlIdent(c.name)} ${c.type}`).join(", ")})`,
  );
  for (let i = 0; i < rows.length; i += 500) {
    const values = rows.slice(i, i + 500).map((row) => {
      const filled: StoreRow = { date: new Date(Number(row["time"])).toISOString().slice(0, 10), ...row };
      return `(${columns.map((c) => literal(filled[c.name], c.type)).join(", ")})`;
    });
    await connection.run(`INSERT INTO ${table} VALUES ${values.join(", ")}`);
  }
}
