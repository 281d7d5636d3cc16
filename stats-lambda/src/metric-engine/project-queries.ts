/**
 * The console's two questions about a project's events (DuckDB only: they answer from the
 * local store), beside the experiment query:
 * - which event types were seen lately, how often, with which properties (json_keys);
 * - a metric's preview: its value over the units exposed to any experiment of the project
 *   in the last days, as if they were one experiment (docs/metrics.md).
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { VALUE_SCALE } from "../../../shared/metric-values.js";
import type { MetricDefinition } from "../../../shared/metrics/definition.js";
import { EXPOSURES, type AggregateRow } from "../store.js";
import type { MetricQuery } from "./compile.js";
import { sqlInteger, sqlString } from "./sql.js";

export interface EventTypeSummary {
  eventType: string;
  count: number;
  properties: Array<{ name: string; count: number }>;
}

/** At most this many event types, and properties per type, most frequent first. */
export const EVENT_TYPE_LIMIT = 500;

export async function eventTypes(connection: DuckDBConnection, project: string, since: number) {
  const where = `project = ${sqlString(project)} AND "time" >= ${sqlInteger(since)} AND "date" >= ${sqlString(new Date(since).toISOString().slice(0, 10))}`;
  const types = await connection.runAndReadAll(
    `SELECT event_type, count(DISTINCT id) AS n FROM events WHERE ${where} GROUP BY 1 ORDER BY n DESC, event_type LIMIT ${EVENT_TYPE_LIMIT}`,
  );
  const properties = await connection.runAndReadAll(
    `SELECT event_type, name, n FROM (SELECT event_type, name, count(DISTINCT id) AS n, ` +
      `row_number() OVER (PARTITION BY event_type ORDER BY count(DISTINCT id) DESC, name) AS nth FROM (` +
      `SELECT event_type, id, unnest(json_keys(event_properties)) AS name FROM events WHERE ${where} ` +
      `AND json_type(event_properties) = 'OBJECT') AS keyed GROUP BY 1, 2) AS counted WHERE nth <= ${EVENT_TYPE_LIMIT} ORDER BY n DESC, name`,
  );
  const byType = new Map<string, EventTypeSummary>();
  for (const [type, n] of types.getRows())
    byType.set(String(type), { eventType: String(type), count: Number(n), properties: [] });
  for (const [type, name, n] of properties.getRows())
    byType.get(String(type))?.properties.push({ name: String(name), count: Number(n) });
  return [...byType.values()];
}

/** The preview's query: every trusted exposure of the project in [since, until), units by user (else device). */
export const previewQuery = (project: string, metric: MetricDefinition, since: number, until: number): MetricQuery => ({
  project,
  bucketing: { unit: "user_id" },
  from: since,
  until,
  metrics: [metric],
});

/** Units exposed, and the metric's mean per unit (a ratio: Σ numerator / Σ denominator), from the query's rows. */
export function previewOf(
  metric: MetricDefinition,
  rows: readonly AggregateRow[],
): { units: number; mean: number | null } {
  let units = 0;
  let [n, sum, den] = [0, 0n, 0n];
  for (const row of rows) {
    if (row.metric === EXPOSURES) units += row.n;
    else if (row.metric === metric.key) {
      n += row.n;
      sum += row.sum;
    } else if (row.metric === `${metric.key}:den`) den += row.sum;
  }
  const scaled = Number(sum) / VALUE_SCALE;
  if (metric.type === "ratio") return { units, mean: den === 0n ? null : Number(sum) / Number(den) };
  const over = metric.type === "property_average" ? n : units;
  return { units, mean: over === 0 ? null : scaled / over };
}
