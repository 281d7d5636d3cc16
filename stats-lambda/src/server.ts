/** The stats service as a Node HTTP server (local runs and tests). */
import { serve, type ServerType } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { flagReader, keys, readRecord, tokenLookup } from "../../shared/node/control-plane-table.js";
import { answerAfterBody } from "../../shared/node/answer-after-body.js";
import { retentionDaysOf } from "../../shared/event-retention.js";
import { createDb, ensureTable, type Db } from "../../shared/node/dynamo.js";
import { createStatsApp } from "./app.js";
import { createCatalog } from "./catalog.js";
import { applyRetention, compact } from "./event-store/maintenance.js";
import { localSink } from "./event-store/sink.js";
import { createEventStoreWriter, createWriterDuckDB, type EventStoreWriter } from "./event-store/writer.js";
import { createStatsStore, type StatsStore } from "./store.js";
import { createMetricEngine } from "./metric-engine/index.js";

export interface StatsServerOptions {
  dynamoEndpoint: string;
  controlPlaneTable?: string;
  statsTable?: string;
  ingestSecret: string;
  port?: number;
  host?: string;
  /** The event store's folder (`.data/events` under `npm start`); no event store when absent. */
  eventStoreRoot?: string;
  /** How often the event store is compacted and old partitions deleted (default: every minute). */
  eventStoreUpkeepEveryMs?: number;
  /** With a store, also keep ingest's per-unit DynamoDB aggregates (the parity tests compare both sources). */
  unitAggregates?: boolean;
}

export interface StatsServer {
  url: string;
  stats: StatsStore;
  /** Compacts the event store and applies retention now (also run on a timer). */
  upkeep(): Promise<void>;
  close(): Promise<void>;
}

export async function startStatsService(options: StatsServerOptions): Promise<StatsServer> {
  const controlDb = createDb({
    table: options.controlPlaneTable ?? "experiments",
    endpoint: options.dynamoEndpoint,
    region: process.env["AWS_REGION"] ?? "local",
  });
  const statsDb = createDb({
    table: options.statsTable ?? "experiment-stats",
    endpoint: options.dynamoEndpoint,
    region: process.env["AWS_REGION"] ?? "local",
    exactNumbers: true,
  });
  await Promise.all([ensureTable(controlDb), ensureTable(statsDb)]);
  const stats = createStatsStore(statsDb);
  const store = options.eventStoreRoot ? await localEventStore(options.eventStoreRoot, controlDb) : undefined;
  const metricEngine = options.eventStoreRoot ? createMetricEngine({ root: options.eventStoreRoot }) : undefined;
  const app = createStatsApp({
    metricEngine,
    stats,
    catalog: createCatalog(flagReader(controlDb)),
    tokens: tokenLookup(controlDb),
    ingestSecret: options.ingestSecret,
    ...(store ? { eventStore: store.writer } : {}),
    ...(options.unitAggregates ? { unitAggregates: true } : {}),
  });
  // One upkeep at a time; a failed one is logged and tried again at the next tick.
  let upkeeping: Promise<void> = Promise.resolve();
  const upkeep = () =>
    (upkeeping = upkeeping.then(() =>
      store?.upkeep().catch((error) => console.warn(`Event store upkeep failed: ${error}`)),
    ));
  const timer = store ? setInterval(upkeep, options.eventStoreUpkeepEveryMs ?? 60_000) : undefined;
  timer?.unref();
  const server: ServerType = await new Promise((resolve) => {
    const started = serve(
      { fetch: answerAfterBody(app.fetch), port: options.port ?? 0, hostname: options.host ?? "127.0.0.1" },
      () => resolve(started),
    );
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    stats,
    upkeep,
    close: async () => {
      clearInterval(timer);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await upkeeping;
      store?.close();
      metricEngine?.close();
    },
  };
}

/** The event store in a local folder: its writer, and its upkeep (compaction, then retention). */
async function localEventStore(
  root: string,
  controlDb: Db,
): Promise<{ writer: EventStoreWriter; upkeep(): Promise<void>; close(): void }> {
  const duckdb = await createWriterDuckDB();
  return {
    writer: createEventStoreWriter({ sink: localSink(root), duckdb }),
    async upkeep() {
      await compact(root, duckdb);
      await applyRetention(root, { now: Date.now(), retentionDays: (project) => retentionDays(controlDb, project) });
    },
    close: () => duckdb.closeSync(),
  };
}

/** A project's event retention, from its record (shared/event-retention.ts). */
async function retentionDays(controlDb: Db, project: string): Promise<number> {
  return retentionDaysOf(
    (await readRecord<{ eventRetentionDays?: unknown }>(controlDb, keys.project(project)))?.record,
  );
}
