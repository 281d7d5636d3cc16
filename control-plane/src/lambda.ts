/**
 * The control-plane API on AWS Lambda (behind an HTTP API). Publishing happens in the
 * replicator, on the table's stream, so requests do not wait for Cloudflare.
 */
import { handle } from "hono/aws-lambda";
import { createControlPlaneApp } from "./app.js";
import { ensureBootstrapToken } from "./bootstrap-token.js";
import { cloudKv, cloudStore } from "./cloud-config.js";
import { createPublisher } from "./publish/publisher.js";
import { optionalSecret } from "../../shared/node/secrets.js";

const store = cloudStore();
const kv = cloudKv();
const publisher = createPublisher({ store, kv, retryDelaysMs: [] });
const app = createControlPlaneApp({ store, publisher, kv, publishOnChange: false });
// The first admin token of a new install (BOOTSTRAP_ADMIN_TOKEN, from Secrets Manager in the CDK app).
const bootstrapped = optionalSecret("BOOTSTRAP_ADMIN_TOKEN").then((token) => (token ? ensureBootstrapToken(store, token) : undefined));

const lambdaHandler = handle(app);
export const handler: typeof lambdaHandler = async (event, context) => {
  await bootstrapped;
  return lambdaHandler(event, context);
};
