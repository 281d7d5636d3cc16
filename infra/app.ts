/**
 * The CDK app (`npx cdk synth`, `npx cdk deploy`; cdk.json points here). Cloudflare
 * identifiers come from context (`-c cloudflareAccountId=… -c cloudflareKvNamespaceId=…`)
 * or the environment.
 */
import { App } from "aws-cdk-lib";
import { ExperimentsStack } from "./stack.js";

const app = new App();
const context = (name: string, env: string) =>
  (app.node.tryGetContext(name) as string | undefined) ?? process.env[env] ?? `REPLACE_WITH_${env}`;

new ExperimentsStack(app, "EdgeExperiments", {
  cloudflareAccountId: context("cloudflareAccountId", "CLOUDFLARE_ACCOUNT_ID"),
  cloudflareKvNamespaceId: context("cloudflareKvNamespaceId", "CLOUDFLARE_KV_NAMESPACE_ID"),
  ...((app.node.tryGetContext("edgeUrl") ?? process.env["EDGE_URL"])
    ? { edgeUrl: (app.node.tryGetContext("edgeUrl") ?? process.env["EDGE_URL"]) as string }
    : {}),
  ...(process.env["CDK_DEFAULT_ACCOUNT"]
    ? { env: { account: process.env["CDK_DEFAULT_ACCOUNT"], region: process.env["CDK_DEFAULT_REGION"] } }
    : {}),
});
