/**
 * What differs between the two engines the metric query runs on, and nothing else: the
 * logical query (compile.ts) is written once, in the SQL both accept, and asks its dialect
 * only how to read a member of a JSON text column.
 *
 * - DuckDB (local, tests, the stats function): `json_extract_string` with a JSON Pointer
 *   (`/name`, `~` and `/` escaped as `~0`, `~1`), which takes any member name verbatim,
 *   quotes included.
 * - Athena (Trino): the JSON text cast to `MAP(VARCHAR, JSON)` and the member looked up by
 *   `element_at` with a plain string literal (Trino's JSONPath has no documented escape for
 *   `"` in a bracketed name; a map key needs none), then `json_extract_scalar(…, '$')` for
 *   its text. A non-scalar member (object, array) reads as NULL here and as its JSON text in
 *   DuckDB; filters and sums only read scalars (docs/metrics.md).
 *
 * A unit's first exposure is an aggregate, `arg_min_null` in DuckDB and `min_by` over a row
 * in Trino, rather than a numbering window: a hash aggregate, no sort of every exposure.
 *
 * DuckDB also takes a hint Trino has no syntax for: `AS MATERIALIZED` on the CTEs several
 * metrics read (units, matched events), so each is computed once (Athena plans its own).
 *
 * Both give a JSON string member without its quotes, a number as written, a boolean as
 * `true`/`false`, and NULL for a missing member or a JSON null.
 */
import { sqlString } from "./sql.js";

export interface Dialect {
  readonly name: "duckdb" | "athena";
  /** The text of member `name` of the JSON object in column expression `column` (NULL when absent). */
  jsonText(column: string, name: string): string;
  /** `AS` for a CTE read by several parts of the query (`AS MATERIALIZED` where the engine takes the hint). */
  readonly sharedCte: string;
  /** The aggregate: `value` of the row with the least `(order...)`, NULL values included. */
  argMin(value: string, order: readonly string[]): string;
  /** What de-duplicates a unit's events: their id, or a 64-bit hash of it where the engine groups faster on that. */
  idKey(id: string): string;
}

const pointer = (name: string) => `/${name.replaceAll("~", "~0").replaceAll("/", "~1")}`;

export const duckdb: Dialect = {
  name: "duckdb",
  jsonText: (column, name) => `json_extract_string(${column}, ${sqlString(pointer(name))})`,
  sharedCte: "AS MATERIALIZED",
  // `arg_min` skips rows whose value is NULL; `arg_min_null` does not (a unit's first exposure may have no allocation).
  argMin: (value, order) => `arg_min_null(${value}, (${order.join(", ")}))`,
  // Grouped per unit: two ids of one unit's events would have to share a 64-bit hash (about 1 in 10¹⁷
  // for a unit's ten events) to be taken for copies. Grouping on the hash spares comparing strings (BENCHMARKS.md).
  idKey: (id) => `hash(${id})`,
};

export const athena: Dialect = {
  name: "athena",
  jsonText: (column, name) =>
    `json_extract_scalar(element_at(CAST(json_parse(${column}) AS MAP(VARCHAR, JSON)), ${sqlString(name)}), '$')`,
  sharedCte: "AS",
  argMin: (value, order) => `min_by(${value}, ROW(${order.join(", ")}))`,
  idKey: (id) => id,
};
