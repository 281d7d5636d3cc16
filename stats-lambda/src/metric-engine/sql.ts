/**
 * Literals and identifiers rendered into SQL safely. Both engines follow the SQL standard
 * here (DuckDB and Trino alike: no backslash escapes in '…', identifiers in "…"), so one
 * rendering serves both dialects. Every user-supplied string (project, experiment, event
 * type, property name, filter value, metric key) reaches SQL only through these.
 */

/** A string literal: single quotes doubled. */
export const sqlString = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/** A quoted identifier: double quotes doubled (every column is quoted: `time`, `date` are keywords in Trino). */
export const sqlIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** A number literal both dialects read as a DOUBLE (a bare `0.1` would be a DECIMAL in Trino). */
export function sqlDouble(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`Not a finite number: ${value}`);
  return `CAST(${sqlString(String(value))} AS DOUBLE)`;
}

/** An exact integer literal (epoch milliseconds, scaled values). */
export function sqlInteger(value: number): string {
  if (!Number.isSafeInteger(value)) throw new Error(`Not a safe integer: ${value}`);
  return String(value);
}
