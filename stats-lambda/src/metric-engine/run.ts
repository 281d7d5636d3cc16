/**
 * Runs the compiled query on a DuckDB connection whose `exposures` and `events` views are
 * the event store (views.ts, or tables in tests) and reads its rows as AggregateRows.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { AggregateRow } from "../store.js";
import { compileMetricQuery, type MetricQuery } from "./compile.js";
import { duckdb } from "./dialect.js";
import { DAY_MS } from "./expressions.js";

const isoDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);

/** The query's result rows as AggregateRows (exact: Σ and Σ² come back as decimal text). */
export async function runSql(connection: DuckDBConnection, sql: string): Promise<AggregateRow[]> {
  const reader = await connection.runAndReadAll(sql);
  return reader.getRows().map(([day, variant, metric, n, s, q]) => ({
    day: isoDay(Number(day)),
    variant: String(variant),
    metric: String(metric),
    n: Number(n),
    sum: BigInt(String(s)),
    sumSquares: BigInt(String(q)),
  }));
}

export const runMetricQuery = (connection: DuckDBConnection, query: MetricQuery): Promise<AggregateRow[]> =>
  runSql(connection, compileMetricQuery(query, duckdb));
