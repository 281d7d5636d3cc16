/** The stats service on AWS Lambda: ingest and the report API behind an HTTP API. */
import { handle } from "hono/aws-lambda";
import { createStore } from "../../control-plane/src/db/store.js";
import { createDb } from "../../control-plane/src/db/table.js";
import { createStatsApp } from "./app.js";
import { createCatalog } from "./catalog.js";
import { createStatsStore } from "./store.js";
import { requiredEnv, secret } from "../../control-plane/src/secrets.js";

const controlPlane = createStore(createDb({ table: requiredEnv("CONTROL_PLANE_TABLE") }));
// The ingest secret comes from Secrets Manager (INGEST_SECRET_SECRET_ARN) on the first request.
const app = secret("INGEST_SECRET").then((ingestSecret) =>
  handle(createStatsApp({ stats: createStatsStore(createDb({ table: requiredEnv("STATS_TABLE") })), catalog: createCatalog(controlPlane), controlPlane, ingestSecret })),
);

export const handler = async (event: Parameters<Awaited<typeof app>>[0], context: Parameters<Awaited<typeof app>>[1]) => (await app)(event, context);
