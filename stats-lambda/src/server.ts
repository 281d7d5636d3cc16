/** The stats service as a Node HTTP server (local runs and tests). */
import { serve, type ServerType } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { flagReader, tokenLookup } from "../../shared/node/control-plane-table.js";
import { createDb, ensureTable } from "../../shared/node/dynamo.js";
import { createStatsApp } from "./app.js";
import { createCatalog } from "./catalog.js";
import { createStatsStore, type StatsStore } from "./store.js";
import { createMetricEngine } from "./metric-engine/index.js";

export interface StatsServerOptions {
  dynamoEndpoint: string;
  controlPlaneTable?: string;
  statsTable?: string;
  ingestSecret: string;
  port?: number;
  host?: string;
  /** The event store's root folder: the console's event types and metric previews read it (503 without). */
  eventStoreRoot?: string;
}

export interface StatsServer {
  url: string;
  stats: StatsStore;
  /** When the last delivery ended (now while one is in progress): how a local shutdown knows the queue is drained. */
  lastDeliveryAt(): number;
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
  const metricEngine = options.eventStoreRoot ? createMetricEngine({ root: options.eventStoreRoot }) : undefined;
  const app = createStatsApp({
    metricEngine,
    stats,
    catalog: createCatalog(flagReader(controlDb)),
    tokens: tokenLookup(controlDb),
    ingestSecret: options.ingestSecret,
  });
  let inFlight = 0;
  let lastDelivery = 0;
  const fetch = async (request: Request): Promise<Response> => {
    if (new URL(request.url).pathname !== "/ingest") return app.fetch(request);
    inFlight++;
    try {
      return await app.fetch(request);
    } finally {
      inFlight--;
      lastDelivery = Date.now();
    }
  };
  const server: ServerType = await new Promise((resolve) => {
    const started = serve({ fetch, port: options.port ?? 0, hostname: options.host ?? "127.0.0.1" }, () =>
      resolve(started),
    );
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    stats,
    lastDeliveryAt: () => (inFlight > 0 ? Date.now() : lastDelivery),
    close: () =>
      new Promise((resolve) =>
        server.close(() => {
          metricEngine?.close();
          resolve();
        }),
      ),
  };
}
