/**
 * The control-plane API on AWS Lambda (behind an HTTP API). Publishing happens in the
 * replicator, on the table's stream, so requests do not wait for Cloudflare.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { handle } from "hono/aws-lambda";
import { createControlPlaneApp } from "./app.js";
import { ensureBootstrapToken } from "./bootstrap-token.js";
import { cloudDb, cloudKv, cloudStoreOf } from "./cloud-config.js";
import { createPublisher } from "./publish/publisher.js";
import { readConsoleAssets } from "./routes/console.js";
import { optionalSecret } from "../../shared/node/secrets.js";

const db = cloudDb();
const store = cloudStoreOf(db);
const kv = cloudKv();
const publisher = createPublisher({ store, kv, retryDelaysMs: [] });
// The console's bundle sits beside this one (infra/stack.ts builds it there).
const consoleFolder = join(dirname(fileURLToPath(import.meta.url)), "console");
const app = createControlPlaneApp({
  store,
  publisher,
  kv,
  publishOnChange: false,
  console: {
    load: async () =>
      readConsoleAssets(consoleFolder) ?? Promise.reject(new Error(`No console bundle in ${consoleFolder}`)),
    statsUrl: process.env["STATS_API_URL"],
    edgeUrl: process.env["EDGE_URL"],
  },
  // Schedules and webhooks: events are logged in the request; the one-minute watcher (watcher-lambda.ts) delivers.
  releases: { db, deliverNow: false },
});
// The first admin token of a new install (BOOTSTRAP_ADMIN_TOKEN, from Secrets Manager in the CDK app).
const bootstrapped = optionalSecret("BOOTSTRAP_ADMIN_TOKEN").then((token) =>
  token ? ensureBootstrapToken(store, token) : undefined,
);

const lambdaHandler = handle(app);
export const handler: typeof lambdaHandler = async (event, context) => {
  await bootstrapped;
  return lambdaHandler(event, context);
};
