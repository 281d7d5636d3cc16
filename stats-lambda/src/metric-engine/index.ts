/**
 * The metric engine over a local event store (a folder of Parquet files, event-store/):
 * one embedded DuckDB, opened on first use, its views refreshed when the files change, and
 * every result cached under the files' fingerprint and the query's text, so a report read
 * again while nothing was written costs a directory listing (BENCHMARKS.md). An experiment's
 * report is read from the unit state (unit-state.ts, by default), brought up to date with the
 * new files.
 */
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import type { MetricDefinition } from "../../../shared/metrics/definition.js";
import type { AggregateRow } from "../store.js";
import { compileMetricQuery, type MetricQuery } from "./compile.js";
import { duckdb } from "./dialect.js";
import { eventTypes, previewOf, previewQuery, type EventTypeSummary } from "./project-queries.js";
import { runSql } from "./run.js";
import { attachUnitState, createUnitState, UnitStateFallback, type UnitStateStats } from "./unit-state.js";
import { attachViews, type StoreFiles, storeFiles } from "./views.js";

export type { MetricQuery } from "./compile.js";
export type { EventTypeSummary } from "./project-queries.js";

export interface MetricEngine {
  /** An experiment's AggregateRows (stats-lambda/src/store.ts) from the store. */
  aggregates(query: MetricQuery): Promise<AggregateRow[]>;
  /** Event types seen since `since` (epoch ms), with counts and property names. */
  eventTypes(project: string, since: number): Promise<EventTypeSummary[]>;
  /** A metric over the units exposed to any of the project's experiments in [since, until). */
  preview(
    project: string,
    metric: MetricDefinition,
    since: number,
    until: number,
  ): Promise<{ units: number; mean: number | null }>;
  /** How often the unit state built and folded its parts, and fell back to the scan (unit-state.ts). */
  readonly unitState: UnitStateStats | undefined;
  close(): void;
}

export interface MetricEngineOptions {
  /** The store's root folder (`<root>/<table>/project=<p>/date=<d>/<file>.parquet`). */
  root: string;
  /** DuckDB's memory limit, beyond which it spills to disk (default 512MB: the function's RSS stays near 1 GiB). */
  memoryLimit?: string;
  /** How many results to keep (default 256). */
  cacheEntries?: number;
  /**
   * Experiments' reports from the unit state (unit-state.ts), kept in this DuckDB file (`{}`,
   * the default: in memory, built again by a new process), or `false`: every report a full scan.
   * An experiment's first report builds it in about one scan (docs/metrics.md). The state carries
   * every series the scan returns, the same rows (unit-state.property.test.ts); a report it
   * cannot give exactly is scanned (`fallbacks`).
   */
  unitState?: false | { path?: string };
}

export function createMetricEngine({
  root,
  memoryLimit = "512MB",
  cacheEntries = 256,
  unitState: stateOptions = {},
}: MetricEngineOptions): MetricEngine {
  const state = stateOptions === false ? undefined : createUnitState();
  let opened: Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> | undefined;
  let attached: string | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const cache = new Map<string, unknown>();

  const open = () =>
    (opened ??= (async () => {
      // Row order is never relied on (the query sorts): not preserving it lets DuckDB stream with less memory.
      const instance = await DuckDBInstance.create(":memory:", {
        memory_limit: memoryLimit,
        preserve_insertion_order: "false",
      });
      const connection = await instance.connect();
      if (stateOptions !== false) await attachUnitState(connection, stateOptions.path);
      return { instance, connection };
    })());

  /** Runs `work` alone on the connection (one query at a time), its views on the current files, cached. */
  const cached = <T>(
    key: string,
    work: (connection: DuckDBConnection, files: StoreFiles) => Promise<T>,
  ): Promise<T> => {
    const run = queue.then(async () => {
      const files = storeFiles(root);
      const id = `${files.fingerprint}\n${key}`;
      if (cache.has(id)) {
        const hit = cache.get(id) as T;
        cache.delete(id); // most recently used last
        cache.set(id, hit);
        return hit;
      }
      const { connection } = await open();
      if (attached !== files.fingerprint) {
        await attachViews(connection, files);
        attached = files.fingerprint;
      }
      const result = await work(connection, files);
      cache.set(id, result);
      if (cache.size > cacheEntries) cache.delete(cache.keys().next().value!);
      return result;
    });
    queue = run.catch(() => undefined);
    return run;
  };

  return {
    aggregates(query) {
      const sql = compileMetricQuery(query, duckdb);
      return cached(sql, async (connection, files) => {
        if (!state) return runSql(connection, sql);
        try {
          return await state.aggregates(connection, query, files);
        } catch (error) {
          if (!(error instanceof UnitStateFallback)) throw error;
          state.stats.fallbacks++;
          console.warn(`metric engine: ${error.message}; this report is a full scan`);
          return runSql(connection, sql);
        }
      });
    },
    unitState: state?.stats,
    eventTypes: (project, since) =>
      cached(`event-types\n${project}\n${since}`, (connection) => eventTypes(connection, project, since)),
    async preview(project, metric, since, until) {
      const sql = compileMetricQuery(previewQuery(project, metric, since, until), duckdb);
      return previewOf(metric, await cached(sql, (connection) => runSql(connection, sql)));
    },
    close() {
      void opened?.then(({ connection, instance }) => {
        connection.closeSync();
        instance.closeSync();
      });
    },
  };
}
