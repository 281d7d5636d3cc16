/** The stats service as a Node HTTP server (local runs and tests). */
import { serve, type ServerType } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { flagReader, tokenLookup } from "../../shared/node/control-plane-table.js";
import { answerAfterBody } from "../../shared/node/answer-after-body.js";
import { createDb, ensureTable } from "../../shared/node/dynamo.js";
import { createStatsApp } from "./app.js";
import { createCatalog } from "./catalog.js";
import { createStatsStore, type StatsStore } from "./store.js";

export interface StatsServerOptions {
  dynamoEndpoint: string;
  controlPlaneTable?: string;
  statsTable?: string;
  ingestSecret: string;
  port?: number;
  host?: string;
}

export interface StatsServer {
  url: string;
  stats: StatsStore;
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
  const app = createStatsApp({
    stats,
    catalog: createCatalog(flagReader(controlDb)),
    tokens: tokenLookup(controlDb),
    ingestSecret: options.ingestSecret,
  });
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
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
