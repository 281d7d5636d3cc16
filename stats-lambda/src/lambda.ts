/** The stats service on AWS Lambda: ingest and the report API behind an HTTP API. */
import { handle } from "hono/aws-lambda";
import { flagReader, tokenLookup } from "../../shared/node/control-plane-table.js";
import { createDb } from "../../shared/node/dynamo.js";
import { createStatsApp } from "./app.js";
import { createCatalog } from "./catalog.js";
import { createStatsStore } from "./store.js";
import { requiredEnv, secret } from "../../shared/node/secrets.js";

const controlPlane = createDb({ table: requiredEnv("CONTROL_PLANE_TABLE") });
const stats = createStatsStore(createDb({ table: requiredEnv("STATS_TABLE"), exactNumbers: true }));
// The ingest secret comes from Secrets Manager (INGEST_SECRET_SECRET_ARN) on the first request.
const app = secret("INGEST_SECRET").then((ingestSecret) =>
  handle(
    createStatsApp({
      stats,
      catalog: createCatalog(flagReader(controlPlane)),
      tokens: tokenLookup(controlPlane),
      ingestSecret,
    }),
  ),
);

export const handler = async (event: Parameters<Awaited<typeof app>>[0], context: Parameters<Awaited<typeof app>>[1]) =>
  (await app)(event, context);
