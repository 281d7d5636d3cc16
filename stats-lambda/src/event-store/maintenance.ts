/**
 * Upkeep of a local event store (the stats server runs it on a timer):
 * - compaction: a partition with many small files (one per delivery) is rewritten into one,
 *   de-duplicated by id. Atomic: the new file is staged, renamed into place, and only then
 *   are the small ones deleted; between the rename and the deletes a reader sees rows twice,
 *   which its de-duplication by id makes harmless.
 * - retention: partitions (days) older than their project's retention are deleted.
 */
import type { DuckDBInstance } from "@duckdb/node-api";
import { randomUUID } from "node:crypto";
import { mkdir, readdir, rm, unlink } from "node:fs/promises";
import { join } from "node:path";
import { TABLES, type TableName } from "./columns.js";
import { DATE_SEGMENT, dayOf, digest, projectOfSegment, sqlString } from "./paths.js";
import { localSink } from "./sink.js";

/** A partition is compacted once it holds this many files. */
export const COMPACT_AT_FILES = 8;

interface Partition {
  table: TableName;
  project: string;
  day: string;
  dir: string;
}

/** Every partition folder under a store's root. */
export async function partitions(root: string): Promise<Partition[]> {
  const found: Partition[] = [];
  for (const table of Object.keys(TABLES) as TableName[]) {
    for (const projectSegment of await list(join(root, table))) {
      const project = projectOfSegment(projectSegment);
      if (project === undefined) continue;
      for (const daySegment of await list(join(root, table, projectSegment))) {
        const day = DATE_SEGMENT.exec(daySegment)?.[1];
        if (day) found.push({ table, project, day, dir: join(root, table, projectSegment, daySegment) });
      }
    }
  }
  return found;
}

const list = (dir: string) => readdir(dir).catch(() => [] as string[]);
const parquetIn = async (dir: string) => (await list(dir)).filter((f) => f.endsWith(".parquet")).sort();

export interface CompactionResult {
  partitions: number;
  filesRemoved: number;
}

/** Rewrites each partition holding at least `minFiles` files into one file. */
export async function compact(
  root: string,
  duckdb: DuckDBInstance,
  minFiles = COMPACT_AT_FILES,
): Promise<CompactionResult> {
  const result: CompactionResult = { partitions: 0, filesRemoved: 0 };
  const sink = localSink(root);
  for (const partition of await partitions(root)) {
    const files = await parquetIn(partition.dir);
    if (files.length < minFiles) continue;
    // Named by its inputs: compacting the same files again (after a crash) gives the same name.
    const name = `c-${digest(files)}.parquet`;
    const staged = join(await sink.stagingDir(), `${randomUUID()}.parquet`);
    const columns = TABLES[partition.table].map((c) => `"${c.name}"`).join(", ");
    const paths = files.map((f) => sqlString(join(partition.dir, f))).join(", ");
    const connection = await duckdb.connect();
    try {
      await connection.run(
        `COPY (SELECT ${columns} FROM read_parquet([${paths}], union_by_name = true)
               QUALIFY row_number() OVER (PARTITION BY id) = 1 ORDER BY time, id)
         TO ${sqlString(staged)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      await mkdir(partition.dir, { recursive: true });
      await sink.publish(staged, join(partition.dir.slice(root.length + 1), name));
    } catch (error) {
      await rm(staged, { force: true });
      throw error;
    } finally {
      connection.closeSync();
    }
    // The new file holds every row of these: deleting them changes nothing a reader sees.
    for (const file of files) if (file !== name) await unlink(join(partition.dir, file)).catch(() => {});
    result.partitions++;
    result.filesRemoved += files.filter((f) => f !== name).length;
  }
  return result;
}

export interface RetentionOptions {
  now: number;
  /** The project's retention in days (shared/event-retention.ts). */
  retentionDays(project: string): Promise<number>;
}

/**
 * Deletes the partitions of days that ended more than the project's retention ago: with 400
 * days, on 2026-12-01 the oldest day kept is 2025-10-27.
 */
export async function applyRetention(root: string, options: RetentionOptions): Promise<{ deleted: string[] }> {
  const deleted: string[] = [];
  const cutoffs = new Map<string, string>();
  for (const partition of await partitions(root)) {
    let cutoff = cutoffs.get(partition.project);
    if (cutoff === undefined) {
      const days = await options.retentionDays(partition.project);
      cutoffs.set(partition.project, (cutoff = dayOf(options.now - Math.max(1, days) * 86_400_000)));
    }
    if (partition.day >= cutoff) continue;
    await rm(partition.dir, { recursive: true, force: true });
    deleted.push(partition.dir.slice(root.length + 1));
  }
  return { deleted };
}
