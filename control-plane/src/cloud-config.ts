/** What the Lambda functions read from their environment (set by the CDK app). */
import { createStore } from "./db/store.js";
import { createDb } from "../../shared/node/dynamo.js";
import { cloudflareKvWriter } from "./publish/cloudflare-kv.js";
import { requiredEnv, secret } from "../../shared/node/secrets.js";

export function cloudStore() {
  return createStore(createDb({ table: requiredEnv("TABLE_NAME") }));
}

/** Cloudflare's KV API; the token comes from Secrets Manager (CLOUDFLARE_API_TOKEN_SECRET_ARN). */
export function cloudKv() {
  return cloudflareKvWriter({
    accountId: requiredEnv("CLOUDFLARE_ACCOUNT_ID"),
    namespaceId: requiredEnv("CLOUDFLARE_KV_NAMESPACE_ID"),
    apiToken: () => secret("CLOUDFLARE_API_TOKEN"),
  });
}
