/**
 * The local system's process, which `npm start` (scripts/start.ts) runs in a process group
 * of its own: the whole system on this machine, with no account and no network.
 * - DynamoDB: dynalite, persisted under .data/dynamo; or, with DYNAMODB_ENDPOINT set, that
 *   endpoint (DynamoDB Local, AWS, a proxy), whose tables are created when missing
 * - the edge worker in Miniflare (real workerd), KV and Queues persisted under .data/miniflare
 * - the control plane (Node server), publishing into that KV, and serving the admin console at `/`
 * - the stats service (Node server), fed by the edge's queue consumer
 * - a demo project on first run, with a few days of simulated traffic for its experiment
 *   (scripts/demo-traffic.ts), sent in the background once the URLs are printed
 * - the CDN middleware in proxy mode, keyed to the demo deployment, in front of
 *   CDN_ORIGIN when set, else of a tiny demo site (scripts/demo-site.ts)
 * Writes .data/local.json (URLs, admin token, keys), prints curl examples, and stops
 * everything when its parent says so (IPC `stop`), when the parent is gone, or on SIGINT or
 * SIGTERM: first the queues are drained into ingest (docs/failure-modes.md). A second start
 * keeps the data. LOCAL_DATA_DIR moves .data elsewhere (the tests use one each).
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateToken, hashToken } from "../shared/node/admin-tokens.js";
import { ROOT } from "../edge/local/build.js";
import { seedDemo } from "./demo-seed.js";
import { seedDemoTraffic } from "./demo-traffic.js";
import { startDemoSite } from "./demo-site.js";
import { startLocalSystem, type LocalSystem } from "./local-system.js";
import { describeStartFailure, takenPorts } from "./ports.js";

process.env["WRANGLER_SEND_METRICS"] ??= "false";
process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] ??= "true";

const DATA = process.env["LOCAL_DATA_DIR"] ?? join(ROOT, ".data");
const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

interface LocalState {
  edgeUrl: string;
  dynamoEndpoint: string;
  controlPlaneUrl: string;
  statsUrl: string;
  /** The CDN proxy in front of CDN_ORIGIN (or the demo site). */
  cdnUrl: string;
  cdnOrigin: string;
  ingestSecret: string;
  adminToken: string;
  deployments: Array<{ key: string; clientKey: string; serverKey: string }>;
}

let system: LocalSystem | undefined;
let demoSite: Awaited<ReturnType<typeof startDemoSite>> | undefined;
let stopping: Promise<void> | undefined;
/** The demo traffic still being sent on a first run: Ctrl-C ends it, then drains what it sent. */
const demoTraffic = new AbortController();

/** Drains and stops everything once, whatever asked first; exits when done. */
function stop(reason: string): Promise<void> {
  stopping ??= (async () => {
    console.log(`\n${reason}: stopping…`);
    demoTraffic.abort();
    try {
      await system?.close();
      await demoSite?.close();
    } catch (error) {
      console.error("Stopping failed", error);
      process.exit(1);
    }
    process.exit(0);
  })();
  return stopping;
}

async function main(): Promise<void> {
  // Before anything starts: a port another process holds is named, and nothing is left half started.
  const ports = {
    edge: port("EDGE_PORT", 8787),
    controlPlane: port("CONTROL_PLANE_PORT", 8788),
    stats: port("STATS_PORT", 8789),
    cdn: port("CDN_PORT", 8790),
    demoSite: port("DEMO_SITE_PORT", 8791),
  };
  const taken = await takenPorts([
    { port: ports.edge, env: "EDGE_PORT", what: "the edge" },
    { port: ports.controlPlane, env: "CONTROL_PLANE_PORT", what: "the control plane" },
    { port: ports.stats, env: "STATS_PORT", what: "the stats service" },
    { port: ports.cdn, env: "CDN_PORT", what: "the CDN proxy" },
    ...(process.env["CDN_ORIGIN"] ? [] : [{ port: ports.demoSite, env: "DEMO_SITE_PORT", what: "the demo site" }]),
  ]);
  if (taken.length > 0) {
    for (const line of taken) console.error(line);
    process.exit(1);
  }
  mkdirSync(DATA, { recursive: true });
  const statePath = join(DATA, "local.json");
  const previous: Partial<LocalState> = existsSync(statePath) ? JSON.parse(readFileSync(statePath, "utf8")) : {};

  const ingestSecret = previous.ingestSecret ?? randomBytes(24).toString("base64url");
  system = await startLocalSystem({
    ingestSecret,
    dataDir: DATA,
    ...(process.env["DYNAMODB_ENDPOINT"] ? { dynamoEndpoint: process.env["DYNAMODB_ENDPOINT"] } : {}),
    ...(process.env["DRAIN_TIMEOUT_MS"] ? { drainTimeoutMs: Number(process.env["DRAIN_TIMEOUT_MS"]) } : {}),
    ports: { edge: ports.edge, controlPlane: ports.controlPlane, stats: ports.stats },
    flagCacheTtlMs: 250, // the edge revalidates its copy every 250 ms locally, so a change shows within a second
    ...(previous.adminToken ? { bootstrapToken: previous.adminToken } : {}),
  });
  const { controlPlane, edgeUrl, statsUrl, dynamoEndpoint } = system;

  let adminToken = controlPlane.bootstrapToken ?? previous.adminToken;
  if (!adminToken) {
    // The database outlived local.json: issue a fresh local admin token.
    adminToken = generateToken();
    await controlPlane.store.putToken(hashToken(adminToken), {
      id: hashToken(adminToken).slice(0, 16),
      name: "local",
      role: "admin",
      project: "*",
      createdAt: new Date().toISOString(),
    });
  }
  const firstRun = !(await controlPlane.store.getProject("demo"));
  const deployments = !firstRun
    ? (await controlPlane.store.listDeployments("demo")).map(({ key, clientKey, serverKey }) => ({
        key,
        clientKey,
        serverKey,
      }))
    : [await seedDemo(controlPlane.url, adminToken)];

  demoSite = process.env["CDN_ORIGIN"] ? undefined : await startDemoSite(ports.demoSite);
  const cdnOrigin = process.env["CDN_ORIGIN"] ?? demoSite!.url;
  const cdnUrl = await system.startCdn({
    origin: cdnOrigin,
    deploymentKey: deployments[0]!.clientKey,
    port: ports.cdn,
  });

  const state: LocalState = {
    edgeUrl,
    controlPlaneUrl: controlPlane.url,
    statsUrl,
    cdnUrl,
    cdnOrigin,
    dynamoEndpoint,
    ingestSecret,
    adminToken,
    deployments,
  };
  writeFileSync(statePath, JSON.stringify(state, null, 2));
  // The curl example below edits the flag conditionally, on the version it has now.
  const onboarding = await controlPlane.store.getFlag("demo", "new-onboarding");
  printWelcome(state, onboarding?.version ?? 1);
  if (firstRun) {
    // In the background: the system is usable at once, and the results fill within a minute.
    console.log("\nDemo traffic: simulating 3 days of checkout-redesign for 4,000 users…");
    const trafficStart = Date.now();
    seedDemoTraffic({
      edgeUrl,
      clientKey: deployments[0]!.clientKey,
      store: controlPlane.store,
      signal: demoTraffic.signal,
    })
      .then((sent) =>
        console.log(
          `Demo traffic sent: ${Object.entries(sent.exposures)
            .map(([variant, n]) => `${n} in ${variant} (${sent.purchases[variant] ?? 0} purchases)`)
            .join(
              ", ",
            )} in ${((Date.now() - trafficStart) / 1000).toFixed(1)} s; the checkout-redesign results show it within a minute.`,
        ),
      )
      .catch((error: unknown) => {
        if (!demoTraffic.signal.aborted)
          console.error("Demo traffic failed:", error instanceof Error ? error.message : error);
      });
  }

  // Miniflare's own exit hook answers these signals with an immediate process.exit, which
  // would skip the drain: take them over (system.close() disposes Miniflare too). Only the
  // listeners `process.listeners` shows are removed: tsx's hidden one tells its parent
  // process the signal arrived, or the parent kills this process (SIGKILL, 30 ms later)
  // in the middle of draining the queue, orphaning workerd.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    for (const listener of process.listeners(signal)) process.removeListener(signal, listener);
    process.on(signal, () => void stop(signal));
  }
}

function printWelcome(
  { edgeUrl, controlPlaneUrl, statsUrl, cdnUrl, cdnOrigin, dynamoEndpoint, adminToken, deployments }: LocalState,
  onboardingVersion: number,
): void {
  const demo = deployments[0]!;
  const user = Buffer.from(JSON.stringify({ user_id: "user-1" })).toString("base64url");
  console.log(`
Console:        ${controlPlaneUrl}/   (open it in a browser, sign in with the admin token below)
Edge:           ${edgeUrl}
Control plane:  ${controlPlaneUrl}   (API docs: ${controlPlaneUrl}/docs)
Stats:          ${statsUrl}
CDN proxy:      ${cdnUrl}   (in front of ${cdnOrigin}${process.env["CDN_ORIGIN"] ? ", CDN_ORIGIN" : ", the demo site: open it in a browser"})
DynamoDB:       ${dynamoEndpoint}${process.env["DYNAMODB_ENDPOINT"] ? "   (DYNAMODB_ENDPOINT)" : "   (dynalite, data in .data/dynamo)"}
Admin token:    ${adminToken}
Deployment:     ${demo.key}   client key ${demo.clientKey}   server key ${demo.serverKey}
All of this is in .data/local.json.

Evaluate a user at the edge:
  curl -s ${edgeUrl}/sdk/v2/vardata -H 'Authorization: Api-Key ${demo.clientKey}' -H 'X-Amp-Exp-User: ${user}'
  curl -s '${edgeUrl}/v1/vardata?user_id=user-1' -H 'Authorization: Api-Key ${demo.serverKey}'
  curl -s -X POST ${edgeUrl}/ofrep/v1/evaluate/flags/new-onboarding -H 'Authorization: Api-Key ${demo.clientKey}' -H 'Content-Type: application/json' -d '{"context":{"targetingKey":"user-1"}}'
Track a conversion:
  curl -s -X POST ${edgeUrl}/track -H 'Authorization: Api-Key ${demo.clientKey}' -H 'Content-Type: application/json' -d '{"events":[{"user_id":"user-1","event_type":"purchase_completed"}]}'
See the CDN middleware assign variants (a cookie, a header to the origin, variants injected into HTML):
  curl -si ${cdnUrl}/ | head -20
Read the experiment's report (JSON; add -H 'Accept: text/csv' for CSV):
  curl -s ${statsUrl}/projects/demo/experiments/checkout-redesign/report -H 'Authorization: Bearer ${adminToken}'
Change a flag (roll new-onboarding out to everyone):
  curl -s ${controlPlaneUrl}/projects/demo/flags/new-onboarding -H 'Authorization: Bearer ${adminToken}'
  curl -s -X PUT ${controlPlaneUrl}/projects/demo/flags/new-onboarding -H 'Authorization: Bearer ${adminToken}' -H 'Content-Type: application/json' -H 'If-Match: "${onboardingVersion}"' \\
       -d '{"key":"new-onboarding","name":"New onboarding","type":"release","variants":[{"key":"on"}],"rollout":100,"deployments":["demo"]}'

Ctrl-C stops everything once ingest has acknowledged every event accepted (at most DRAIN_TIMEOUT_MS, 15 s;
what is left waits in ${join(DATA, "spool")} for the next start).`);
}

// The parent (scripts/start.ts) asks over IPC; if it is gone, nobody else will.
process.on("message", (message) => {
  if ((message as { type?: string } | null)?.type === "stop")
    void stop((message as { reason?: string }).reason ?? "stop");
});
process.on("disconnect", () => void stop("npm start is gone"));
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void stop(signal));

main().catch(async (error: unknown) => {
  console.error(describeStartFailure(error));
  await system?.close().catch(() => {});
  await demoSite?.close().catch(() => {});
  process.exit(1);
});
