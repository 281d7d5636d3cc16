/**
 * The event store's two tables, as Parquet columns. One source for the writer (ingest), the
 * metric engine's SQL, the Glue table in the CDK app and the docs (docs/event-store.md).
 *
 * Layout (Hive partitions, the same locally under `.data/events/` and on S3):
 *   `<root>/<table>/project=<project>/date=<YYYY-MM-DD>/<file>.parquet`
 * `date` is the UTC day of the row's `time`. Every row has a stable `id`; readers keep one
 * row per id (at-least-once delivery may write a row twice), so redelivery never double-counts.
 *
 * Times are epoch milliseconds (BIGINT): the same in DuckDB and Athena, no time-zone rules.
 * Free-form maps (groups, properties) are JSON text: both engines read them with JSON functions,
 * and no schema change is needed when a client sends a new property.
 */

export type ColumnType = "VARCHAR" | "BIGINT" | "INTEGER" | "BOOLEAN";
export interface Column {
  name: string;
  type: ColumnType;
  nullable: boolean;
  doc: string;
}

const column = (name: string, type: ColumnType, nullable: boolean, doc: string): Column => ({
  name,
  type,
  nullable,
  doc,
});

export const EXPOSURE_COLUMNS: readonly Column[] = [
  column("id", "VARCHAR", false, "stable id: the edge's exposure id, else a hash of the queue message id and position"),
  column("deployment", "VARCHAR", false, "the deployment whose key served it"),
  column("experiment_key", "VARCHAR", false, "the experiment (flag) key"),
  column("analysis_period", "INTEGER", false, "the experiment's analysis period at ingest (1, 2, …)"),
  column("variant", "VARCHAR", false, "the variant served"),
  column("unit_id", "VARCHAR", false, "the value of the experiment's bucketing unit (user, device or group name)"),
  column("user_id", "VARCHAR", true, "the user id, when known"),
  column("device_id", "VARCHAR", true, "the device id, when known"),
  column("groups", "VARCHAR", true, "JSON object: group type → group name"),
  column("allocation", "VARCHAR", true, "the shares the serving segment assigned (`control=50,treatment=50`)"),
  column("source", "VARCHAR", false, "remote-evaluation | client | cdn"),
  column("time", "BIGINT", false, "epoch milliseconds"),
  column("untrusted", "BOOLEAN", false, "a client-reported exposure the edge could not confirm: never analysed"),
  column("country", "VARCHAR", true, "user property at exposure"),
  column("platform", "VARCHAR", true, "user property at exposure"),
  column("os", "VARCHAR", true, "user property at exposure"),
  column("app_version", "VARCHAR", true, "user property at exposure"),
  column("user_properties", "VARCHAR", true, "JSON object: the project's configured breakdown properties"),
];

export const EVENT_COLUMNS: readonly Column[] = [
  column("id", "VARCHAR", false, "stable id: `insert_id` when sent, else a hash of the event's content"),
  column("deployment", "VARCHAR", false, "the deployment whose key accepted it"),
  column("event_type", "VARCHAR", false, "the event's type"),
  column("user_id", "VARCHAR", true, "the user id, when sent"),
  column("device_id", "VARCHAR", true, "the device id, when sent"),
  column("groups", "VARCHAR", true, "JSON object: group type → group name (first name of a list)"),
  column("time", "BIGINT", false, "epoch milliseconds"),
  column("event_properties", "VARCHAR", true, "JSON object: the event's properties"),
];

export const TABLES = { exposures: EXPOSURE_COLUMNS, events: EVENT_COLUMNS } as const;
export type TableName = keyof typeof TABLES;
/** The Hive partition columns every table has, in path order. */
export const PARTITION_COLUMNS = ["project", "date"] as const;
