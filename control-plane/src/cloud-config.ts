/** What the Lambda functions read from their environment (set by the CDK app). */
import { createStore } from "./db/store.js";
import { createDb } from "./db/table.js";
import { cloudflareKvWriter } from "./publish/cloudflare-kv.js";
import { secret } from "./secrets.js";

const required = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`Missing environment variable ${name}`);
  return value;
};

export function cloudStore() {
  return createStore(createDb({ table: required("TABLE_NAME") }));
}

/** Cloudflare's KV API; the token comes from Secrets Manager (CLOUDFLARE_API_TOKEN_SECRET_ARN). */
export function cloudKv() {
  return cloudflareKvWriter({
    accountId: required("CLOUDFLARE_ACCOUNT_ID"),
    namespaceId: required("CLOUDFLARE_KV_NAMESPACE_ID"),
    apiToken: () => secret("CLOUDFLARE_API_TOKEN"),
  });
}
