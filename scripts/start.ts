/**
 * `npm start`: the whole system on this machine, no account, no network.
 * - the edge worker in Miniflare (real workerd) with KV and Queues persisted under .data/
 * - a demo deployment on first run
 * Writes .data/local.json (URLs and keys), prints curl examples, stops on Ctrl-C/SIGTERM.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../edge/local/build.js";
import { startEdgeMiniflare } from "../edge/local/miniflare.js";
import { kvNameForApiKey, type DeploymentDocument } from "../shared/deployment-document.js";
import { DEMO_FLAGS } from "./demo-data.js";

process.env["WRANGLER_SEND_METRICS"] ??= "false";
const DATA = join(ROOT, ".data");
const EDGE_PORT = Number(process.env["EDGE_PORT"] ?? 8787);

interface LocalState {
  edgeUrl: string;
  deployments: Array<{ key: string; clientKey: string; serverKey: string }>;
}

const newKey = (kind: "client" | "server") => `${kind}-${randomBytes(12).toString("base64url")}`;

async function main(): Promise<void> {
  mkdirSync(DATA, { recursive: true });
  const statePath = join(DATA, "local.json");
  const previous: Partial<LocalState> = existsSync(statePath) ? JSON.parse(readFileSync(statePath, "utf8")) : {};
  const deployment = previous.deployments?.[0] ?? { key: "demo", clientKey: newKey("client"), serverKey: newKey("server") };

  const { mf, url } = await startEdgeMiniflare({ port: EDGE_PORT, persistDir: join(DATA, "miniflare") });
  const kv = await mf.getKVNamespace("FLAGS", "edge");
  for (const [apiKey, keyType] of [[deployment.clientKey, "client"], [deployment.serverKey, "server"]] as const) {
    if (await kv.get(kvNameForApiKey(apiKey))) continue; // a second start keeps what was published
    const document: DeploymentDocument = {
      schemaVersion: 1, deployment: deployment.key, keyType, version: 1, publishedAt: new Date().toISOString(), trackExposures: true, flags: DEMO_FLAGS,
    };
    await kv.put(kvNameForApiKey(apiKey), JSON.stringify(document));
  }

  const edgeUrl = url.href.replace(/\/$/, "");
  const state: LocalState = { edgeUrl, deployments: [deployment] };
  writeFileSync(statePath, JSON.stringify(state, null, 2));
  const user = Buffer.from(JSON.stringify({ user_id: "user-1" })).toString("base64url");
  console.log(`
Edge:        ${edgeUrl}
Deployment:  ${deployment.key}  client key ${deployment.clientKey}  server key ${deployment.serverKey}
State:       .data/local.json

Try:
  curl -s ${edgeUrl}/sdk/v2/vardata -H 'Authorization: Api-Key ${deployment.clientKey}' -H 'X-Amp-Exp-User: ${user}'
  curl -s '${edgeUrl}/v1/vardata?user_id=user-1' -H 'Authorization: Api-Key ${deployment.serverKey}'
  curl -s ${edgeUrl}/sdk/v2/flags -H 'Authorization: Api-Key ${deployment.serverKey}'
  curl -s -X POST ${edgeUrl}/ofrep/v1/evaluate/flags/new-onboarding -H 'Authorization: Api-Key ${deployment.clientKey}' -H 'Content-Type: application/json' -d '{"context":{"targetingKey":"user-1"}}'
  curl -s -X POST ${edgeUrl}/track -H 'Authorization: Api-Key ${deployment.clientKey}' -H 'Content-Type: application/json' -d '{"events":[{"user_id":"user-1","event_type":"purchase_completed"}]}'

Ctrl-C stops everything.`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    await mf.dispose();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
