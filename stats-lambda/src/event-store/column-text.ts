/**
 * A partition's rows handed to DuckDB as one text per column, which a query splits back into
 * values: one bound parameter per column instead of one call into DuckDB per value, which is
 * what an appender costs (7,000 rows × 19 columns were 86 ms of CPU through the appender, the
 * largest part of an append; bench/event-store.ts).
 *
 * A column's text is its values joined by U+001F (unit separator), a null written as U+001E
 * (record separator) alone. A column where some value holds U+001F, U+001E or U+0000 (which
 * the separators would cut, or a bound string could end at) is sent as a JSON array instead:
 * exact for any value, slower, and rare.
 */
import type { Column } from "./columns.js";
import { sqlString } from "./paths.js";

const SEPARATOR = "\u001f";
const NULL = "\u001e";
const NUL = "\u0000"; // where a bound string would end
// biome-ignore lint/suspicious/noControlCharactersInRegex: the separators themselves, which no value may hold
const RESERVED = /[\u0000\u001e\u001f]/;
const LONE_SURROGATE = /\p{Surrogate}/gu; // with `u`, a well-formed pair is one code point and does not match

export interface ColumnTexts {
  /** A query of the rows: the columns, in order, with their types and names. */
  query: string;
  /** One text per column, bound as `$1`, `$2`, … */
  params: string[];
}

type Value = string | number | boolean | null | undefined;

/** The text of one column's values, or undefined when a value needs the JSON form. */
function joined(rows: ReadonlyArray<object>, name: string): string | undefined {
  const parts: string[] = new Array(rows.length);
  let previous: Value;
  for (let i = 0; i < rows.length; i++) {
    const value = (rows[i] as Record<string, Value>)[name];
    if (value === null || value === undefined) parts[i] = NULL;
    else if (typeof value === "string") {
      // A message's rows sit together and share most values: each distinct run is checked once.
      if (value !== previous && RESERVED.test(value)) return undefined;
      parts[i] = value;
    } else parts[i] = String(value); // integers and booleans: digits, `true`, `false`
    previous = value;
  }
  return parts.join(SEPARATOR);
}

/** Whether every row has the same value in the column (null and undefined alike). */
function isConstant(rows: ReadonlyArray<object>, name: string): boolean {
  const first = (rows[0] as Record<string, Value>)[name] ?? null;
  for (let i = 1; i < rows.length; i++) if (((rows[i] as Record<string, Value>)[name] ?? null) !== first) return false;
  return true;
}

/** A column's values as a JSON array, strings made well-formed: JSON cannot carry a lone surrogate, which a bound string turns into U+FFFD. */
const jsonArray = (rows: ReadonlyArray<object>, name: string) =>
  JSON.stringify(
    rows.map((row) => {
      const value = (row as Record<string, Value>)[name];
      return typeof value === "string" ? value.replace(LONE_SURROGATE, "\uFFFD") : (value ?? null);
    }),
  );

/**
 * The rows' columns as texts and the SELECT that reads them back. Every column of `columns`
 * comes from the property of the same name. A column whose rows all hold one value is written
 * once, as a literal (a delivery's deployment, source, period, the properties it never has); the first
 * column is always split, so the query has as many rows as `rows`, which must not be empty.
 */
export function columnTexts(columns: readonly Column[], rows: ReadonlyArray<object>): ColumnTexts {
  const params: string[] = [];
  const unnested: string[] = [];
  const typed = columns.map((column, i) => {
    const name = `"${column.name}"`;
    const first = (rows[0] as Record<string, Value>)[column.name] ?? null;
    if (i > 0 && isConstant(rows, column.name)) {
      if (first === null) return `CAST(NULL AS ${column.type}) AS ${name}`;
      if (typeof first !== "string" || !first.includes(NUL)) {
        // A literal, not a parameter: DuckDB folds it once, where a bound one cost as much per row as splitting the column.
        return `CAST(${sqlString(String(first))} AS ${column.type}) AS ${name}`;
      }
    }
    const text = joined(rows, column.name);
    if (text === undefined) {
      params.push(jsonArray(rows, column.name));
      unnested.push(`unnest(CAST(CAST($${params.length} AS JSON) AS ${column.type}[])) AS c${i}`);
      return `c${i} AS ${name}`;
    }
    params.push(text);
    unnested.push(`unnest(string_split($${params.length}, chr(31))) AS c${i}`);
    const value = column.nullable ? `nullif(c${i}, chr(30))` : `c${i}`;
    return `${column.type === "VARCHAR" ? value : `CAST(${value} AS ${column.type})`} AS ${name}`;
  });
  return { query: `SELECT ${typed.join(", ")} FROM (SELECT ${unnested.join(", ")})`, params };
}
