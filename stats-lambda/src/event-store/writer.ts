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
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { randomUUID } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { columnTexts } from "./column-text.js";
import { TABLES, type Column, type TableName } from "./columns.js";
import { dayOf, deliveryFileName, partitionPath, sqlString } from "./paths.js";
import type { EventRow, ExposureRow, ProjectRows } from "./rows.js";
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
  /** The DuckDB instance to write with (`createWriterDuckDB()`: in memory, one thread). */
  duckdb: DuckDBInstance;
  /** Tests: runs after every file is staged and before any is published (throw to simulate a crash). */
  beforePublish?: () => void | Promise<void>;
}

/**
 * The writer's DuckDB: in memory, one thread. A delivery's files are small (thousands of rows,
 * one row group), so a second thread only adds hand-offs: COPY took about half the CPU with one
 * (bench/event-store.ts); deliveries in parallel still run at once, each on its own connection.
 */
export const createWriterDuckDB = (): Promise<DuckDBInstance> => DuckDBInstance.create(":memory:", { threads: "1" });

export const columnDefinitions = (columns: readonly Column[]) =>
  columns.map((c) => `"${c.name}" ${c.type}${c.nullable ? "" : " NOT NULL"}`).join(", ");

const DAY_MS = 86_400_000;

interface Partition {
  table: TableName;
  path: string;
  rows: Array<ExposureRow | EventRow>;
}

/** A delivery's rows by the partition (table, project, UTC day) they go to, in order of first appearance. */
function byPartition(projects: readonly ProjectRows[]): Partition[] {
  const partitions = new Map<string, Partition>();
  for (const { project, exposures, events } of projects) {
    for (const [table, rows] of [
      ["exposures", exposures],
      ["events", events],
    ] as const) {
      // By day number: a delivery's rows fall on a day or two, so a date string per row would be waste.
      const byDay = new Map<number, Partition>();
      for (const row of rows) {
        const day = Math.floor(row.time / DAY_MS);
        let partition = byDay.get(day);
        if (!partition) {
          const path = partitionPath(table, project, dayOf(row.time));
          partition = partitions.get(path); // the same project twice in one delivery: one file still
          if (!partition) partitions.set(path, (partition = { table, path, rows: [] }));
          byDay.set(day, partition);
        }
        partition.rows.push(row);
      }
    }
  }
  return [...partitions.values()];
}

export function createEventStoreWriter(options: EventStoreWriterOptions): EventStoreWriter {
  const { sink, duckdb } = options;
  return {
    sink,
    async append(messageIds, projects) {
      const partitions = byPartition(projects);
      if (partitions.length === 0) return { rows: 0, files: 0 };

      const staging = join(await sink.stagingDir(), randomUUID());
      await mkdir(staging, { recursive: true });
      const connection = await duckdb.connect();
      try {
        const file = deliveryFileName(messageIds);
        const staged = partitions.map(({ path }, part) => ({
          local: join(staging, `${part}.parquet`),
          key: `${path}/${file}`,
        }));
        // Each partition's texts are built while DuckDB writes the one before (on its own thread).
        let writing: Promise<void> = Promise.resolve();
        for (const [part, { table, rows }] of partitions.entries()) {
          const texts = columnTexts(TABLES[table], rows);
          await writing;
          writing = writeParquet(connection, texts.query, texts.params, staged[part]!.local);
          writing.catch(() => {}); // awaited next: a failure fails the append, not the process meanwhile
        }
        await writing;
        await options.beforePublish?.();
        for (const { local, key } of staged) await sink.publish(local, key);
        return { rows: partitions.reduce((n, p) => n + p.rows.length, 0), files: staged.length };
      } finally {
        connection.closeSync();
        await rm(staging, { recursive: true, force: true });
      }
    },
  };
}

/** Writes a query's rows to a local Parquet file, sorted by time: row groups then carry tight min/max times for the engine to skip by. */
async function writeParquet(connection: DuckDBConnection, query: string, params: readonly string[], local: string) {
  const statement = await connection.prepare(
    `COPY (${query} ORDER BY "time", id) TO ${sqlString(local)} (FORMAT parquet, COMPRESSION zstd)`,
  );
  try {
    for (const [i, param] of params.entries()) statement.bindVarchar(i + 1, param);
    await statement.run();
  } finally {
    statement.destroySync();
  }
}
