/**
 * The event store's write side: a delivery's rows appended to Parquet, one file per
 * partition (table, project, UTC day) it touches, written by embedded DuckDB.
 *
 * Exactly-once visibility: the file's name is a digest of the delivery's message ids, so a
 * redelivery rewrites the same file instead of adding one. Each file is staged first and
 * only then published (renamed into place, or PUT), all files of a delivery staged before
 * any is published: a delivery that dies while writing leaves nothing visible, and one
 * that dies while publishing is redelivered (it was not acknowledged) and publishes the
 * same names again. Overlapping deliveries (a message in two) write the same rows twice
 * under two names; every row carries a stable id and readers keep one row per id.
 */
import { DuckDBDataChunkWriter, type DuckDBConnection, type DuckDBInstance, type DuckDBValue } from "@duckdb/node-api";
import { randomUUID } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { TABLES, type Column, type TableName } from "./columns.js";
import { dayOf, deliveryFileName, partitionPath, sqlString } from "./paths.js";
import type { ProjectRows } from "./rows.js";
import type { FileSink } from "./sink.js";

export interface AppendResult {
  rows: number;
  files: number;
}

export interface EventStoreWriter {
  /** Appends a delivery's rows; resolves once every file is visible. */
  append(messageIds: readonly string[], rows: readonly ProjectRows[]): Promise<AppendResult>;
  readonly sink: FileSink;
}

export interface EventStoreWriterOptions {
  sink: FileSink;
  /** The DuckDB instance to write with (an in-memory one per writer is enough). */
  duckdb: DuckDBInstance;
  /** Tests: runs after every file is staged and before any is published (throw to simulate a crash). */
  beforePublish?: () => void | Promise<void>;
}

export const columnDefinitions = (columns: readonly Column[]) =>
  columns.map((c) => `"${c.name}" ${c.type}${c.nullable ? "" : " NOT NULL"}`).join(", ");

const duckValue = (value: unknown, column: Column): DuckDBValue => {
  if (value === null || value === undefined) return null;
  return column.type === "BIGINT" ? BigInt(value as number) : (value as DuckDBValue);
};

export function createEventStoreWriter(options: EventStoreWriterOptions): EventStoreWriter {
  const { sink, duckdb } = options;
  return {
    sink,
    async append(messageIds, projects) {
      // Rows by partition, each partition numbered: the temp tables carry the number.
      const partitions: Array<{ table: TableName; path: string }> = [];
      const byTable: Record<TableName, Array<{ part: number; row: object }>> = { exposures: [], events: [] };
      const numbered = new Map<string, number>();
      for (const { project, exposures, events } of projects) {
        for (const [table, rows] of [
          ["exposures", exposures],
          ["events", events],
        ] as const) {
          for (const row of rows) {
            const path = partitionPath(table, project, dayOf(row.time));
            let part = numbered.get(path);
            if (part === undefined) {
              numbered.set(path, (part = partitions.length));
              partitions.push({ table, path });
            }
            byTable[table].push({ part, row });
          }
        }
      }
      const total = byTable.exposures.length + byTable.events.length;
      if (total === 0) return { rows: 0, files: 0 };

      const staging = join(await sink.stagingDir(), randomUUID());
      await mkdir(staging, { recursive: true });
      const connection = await duckdb.connect();
      try {
        for (const table of Object.keys(byTable) as TableName[]) {
          if (byTable[table].length > 0) await load(connection, table, byTable[table]);
        }
        const file = deliveryFileName(messageIds);
        const staged = partitions.map(({ table, path }, part) => {
          const columns = TABLES[table].map((c) => `"${c.name}"`).join(", ");
          return { table, part, local: join(staging, `${part}.parquet`), key: `${path}/${file}`, columns };
        });
        for (const { table, part, local, columns } of staged) {
          // Sorted by time: row groups then carry tight min/max times for the engine to skip by.
          await connection.run(
            `COPY (SELECT ${columns} FROM delivery_${table} WHERE part = ${part} ORDER BY time, id)
             TO ${sqlString(local)} (FORMAT parquet, COMPRESSION zstd)`,
          );
        }
        await options.beforePublish?.();
        for (const { local, key } of staged) await sink.publish(local, key);
        return { rows: total, files: staged.length };
      } finally {
        connection.closeSync();
        await rm(staging, { recursive: true, force: true });
      }
    },
  };
}

/** Loads one table's rows into a temp table (`delivery_<table>`, plus their partition number) through an appender. */
async function load(
  connection: DuckDBConnection,
  table: TableName,
  rows: ReadonlyArray<{ part: number; row: object }>,
): Promise<void> {
  const columns = TABLES[table];
  await connection.run(`CREATE TEMP TABLE delivery_${table} (${columnDefinitions(columns)}, part INTEGER NOT NULL)`);
  const appender = await connection.createAppender(`delivery_${table}`);
  try {
    const writer = DuckDBDataChunkWriter.forAppender(appender);
    const values: DuckDBValue[] = new Array(columns.length + 1);
    for (const { part, row } of rows) {
      const record = row as Record<string, unknown>;
      for (let i = 0; i < columns.length; i++) values[i] = duckValue(record[columns[i]!.name], columns[i]!);
      values[columns.length] = part;
      writer.appendRow(values);
    }
    writer.flush();
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}
