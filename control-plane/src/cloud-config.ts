/** What the Lambda functions read from their environment (set by the CDK app). */
import { createStore } from "./db/store.js";
import { createDb, type Db } from "../../shared/node/dynamo.js";
import { cloudflareKvWriter } from "./publish/cloudflare-kv.js";
import { streamNotifier, type StreamNotifier } from "./publish/stream-notifier.js";
import { requiredEnv, secret } from "../../shared/node/secrets.js";

export const cloudDb = () => createDb({ table: requiredEnv("TABLE_NAME") });
export const cloudStoreOf = (db: Db) => createStore(db);

export function cloudStore() {
  return cloudStoreOf(cloudDb());
}

/** Cloudflare's KV API; the token comes from Secrets Manager (CLOUDFLARE_API_TOKEN_SECRET_ARN). */
export function cloudKv() {
  return cloudflareKvWriter({
    accountId: requiredEnv("CLOUDFLARE_ACCOUNT_ID"),
    namespaceId: requiredEnv("CLOUDFLARE_KV_NAMESPACE_ID"),
    apiToken: () => secret("CLOUDFLARE_API_TOKEN"),
  });
}

/** The edge's flag streams, when EDGE_URL and STREAM_NOTIFY_SECRET(_SECRET_ARN) are set; else the hubs poll KV. */
export function cloudStreamNotifier(): StreamNotifier | undefined {
  const edgeUrl = process.env["EDGE_URL"];
  if (!edgeUrl || !(process.env["STREAM_NOTIFY_SECRET"] || process.env["STREAM_NOTIFY_SECRET_SECRET_ARN"]))
    return undefined;
  return streamNotifier({ edgeUrl, secret: () => secret("STREAM_NOTIFY_SECRET") });
}
