/**
 * Event selectors (an event type and filters) as SQL conditions over one row of `matched`
 * (compile.ts): the event's columns, and the unit's user properties as recorded with its
 * first exposure.
 *
 * A property reads as text (dialect.ts): a string without quotes, a number as written, a
 * boolean as `true`/`false`. Operators:
 * - `=`: a string or boolean value compares the text; a number compares numerically
 *   (`"5"`, `5` and `5.0` are all equal to 5). `in` is any of its values equal.
 * - `!=`, `not_in`: the negation of `=`, `in`: true when the property is absent.
 * - `contains`: case-insensitive substring of the text (the value as text).
 * - `<`, `<=`, `>`, `>=`: numeric; false when either side is not a number.
 * - `is_set`: present and not JSON null.
 */
import { BREAKDOWN_PROPERTIES } from "../../../shared/events.js";
import type { EventSelector, MetricFilter } from "../../../shared/metrics/definition.js";
import type { Dialect } from "./dialect.js";
import { sqlDouble, sqlIdent, sqlString } from "./sql.js";

type Scalar = string | number | boolean;

/** The text of a filter's property for the row `alias`. */
function propertyText(filter: MetricFilter, alias: string, dialect: Dialect): string {
  if (filter.scope === "user") {
    if ((BREAKDOWN_PROPERTIES as readonly string[]).includes(filter.property))
      return `${alias}.${sqlIdent(filter.property)}`;
    return dialect.jsonText(`${alias}.${sqlIdent("user_properties")}`, filter.property);
  }
  return dialect.jsonText(`${alias}.${sqlIdent("properties")}`, filter.property);
}

const asNumber = (text: string) => `TRY_CAST(${text} AS DOUBLE)`;

/** Whether a scalar value is a finite number, as a filter compares numerically. */
const numeric = (value: Scalar): number | undefined => {
  const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
};

/** `text = value`, NULL-free (FALSE when the property is absent). */
function equals(text: string, value: Scalar): string {
  if (typeof value === "number") return `COALESCE(${asNumber(text)} = ${sqlDouble(value)}, FALSE)`;
  return `COALESCE(${text} = ${sqlString(String(value))}, FALSE)`;
}

const list = (value: MetricFilter["value"]): Scalar[] =>
  Array.isArray(value) ? value : value === undefined ? [] : [value];

export function filterSql(filter: MetricFilter, alias: string, dialect: Dialect): string {
  const text = propertyText(filter, alias, dialect);
  const values = list(filter.value);
  const first = values[0]!;
  switch (filter.op) {
    case "=":
      return equals(text, first);
    case "!=":
      return `NOT ${equals(text, first)}`;
    case "in":
      return `(${values.map((v) => equals(text, v)).join(" OR ")})`;
    case "not_in":
      return `NOT (${values.map((v) => equals(text, v)).join(" OR ")})`;
    case "contains":
      return `COALESCE(strpos(lower(${text}), ${sqlString(String(first).toLowerCase())}) > 0, FALSE)`;
    case "<":
    case "<=":
    case ">":
    case ">=": {
      const bound = numeric(first);
      return bound === undefined ? "FALSE" : `COALESCE(${asNumber(text)} ${filter.op} ${sqlDouble(bound)}, FALSE)`;
    }
    case "is_set":
      return `(${text} IS NOT NULL)`;
  }
}

/** The event type and every filter of a selector, for the row `alias`. */
export function selectorSql(selector: EventSelector, alias: string, dialect: Dialect): string {
  return [
    `${alias}.${sqlIdent("event_type")} = ${sqlString(selector.eventType)}`,
    ...selector.filters.map((f) => filterSql(f, alias, dialect)),
  ].join(" AND ");
}
