/** Shared by the engine's tests: a DuckDB with the store's tables from rows, and the engine run against the reference. */
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { metricDefinitionSchema, type MetricDefinition } from "../../../shared/metrics/definition.js";
import type { AggregateRow } from "../store.js";
import type { MetricQuery } from "./compile.js";
import { referenceAggregates, type EventRow, type ExposureRow } from "./reference.test-support.js";
import { runMetricQuery } from "./run.js";
import { createTable, type StoreRow } from "./tables.js";

export const T0 = Date.UTC(2026, 2, 2, 10); // a Monday, 10:00 UTC
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export const connect = async (): Promise<DuckDBConnection> => (await DuckDBInstance.create(":memory:")).connect();

export const metric = (input: unknown): MetricDefinition => metricDefinitionSchema.parse(input);

let ids = 0;
export const exposure = (
  unit: string,
  variant: string,
  time: number,
  extra: Partial<ExposureRow> = {},
): ExposureRow => ({
  id: `x${++ids}`,
  project: "p",
  experiment_key: "exp",
  analysis_period: 1,
  variant,
  unit_id: unit,
  user_id: unit,
  time,
  untrusted: false,
  ...extra,
});

export const event = (
  unit: string | undefined,
  eventType: string,
  time: number,
  properties?: Record<string, unknown>,
  extra: Partial<EventRow> = {},
): EventRow => ({
  id: `e${++ids}`,
  project: "p",
  event_type: eventType,
  user_id: unit ?? null,
  time,
  event_properties: properties === undefined ? null : JSON.stringify(properties),
  ...extra,
});

export const query = (metrics: readonly MetricDefinition[], extra: Partial<MetricQuery> = {}): MetricQuery => ({
  project: "p",
  experiment: { key: "exp", period: 1 },
  bucketing: { unit: "user_id" },
  from: T0 - DAY,
  metrics,
  ...extra,
});

const withStoreColumns = (row: ExposureRow | EventRow): StoreRow => ({ deployment: "d", source: "client", ...row });

export const canonical = (rows: readonly AggregateRow[]) =>
  [...rows].sort((a, b) => {
    const [x, y] = [`${a.day}|${a.variant}|${a.metric}`, `${b.day}|${b.variant}|${b.metric}`];
    return x < y ? -1 : x > y ? 1 : 0;
  });

/** Loads the rows, runs the engine, and returns its rows and the reference's, canonically ordered. */
export async function engineAndReference(
  connection: DuckDBConnection,
  q: MetricQuery,
  exposures: readonly ExposureRow[],
  events: readonly EventRow[],
): Promise<{ engine: AggregateRow[]; reference: AggregateRow[] }> {
  await createTable(connection, "exposures", exposures.map(withStoreColumns));
  await createTable(connection, "events", events.map(withStoreColumns));
  return {
    engine: canonical(await runMetricQuery(connection, q)),
    reference: canonical(referenceAggregates(q, exposures, events)),
  };
}

/** A series' totals over all days for one variant. */
export function total(rows: readonly AggregateRow[], variant: string, series: string) {
  let [n, sum, sumSquares] = [0, 0n, 0n];
  for (const r of rows)
    if (r.variant === variant && r.metric === series) {
      n += r.n;
      sum += r.sum;
      sumSquares += r.sumSquares;
    }
  return { n, sum, sumSquares };
}

/** Σx of a binary or count series in whole units (scaled sums divided by VALUE_SCALE). */
export const units = (rows: readonly AggregateRow[], variant: string, series: string) =>
  Number(total(rows, variant, series).sum / 10_000n);
