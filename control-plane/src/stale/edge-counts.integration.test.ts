/**
 * The edge's evaluation counts reach the control plane: remote evaluation in real workerd
 * counts each flag's served variant, flushes it signed to `/internal/evaluation-counts`, and
 * the control plane on real dynalite shows it in the flag's staleness. Polled, never slept on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDynalite, type LocalDynamo } from "../../../shared/node/local-dynalite.js";
import { adminApi, type AdminApi } from "../../../test/support/admin-api.js";
import { startEdge, type EdgeHarness } from "../../../test/support/edge-harness.js";
import { TEST_FLAGS } from "../../../test/support/flags.js";
import type { KvWriter } from "../publish/kv-writer.js";
import { startControlPlane, type ControlPlaneServer } from "../server.js";
import { NO_VARIANT } from "./staleness.js";

const SECRET = "edge-counts-test-secret";
const SERVER_KEY = "server-edge-counts-key";
const kv: KvWriter = { put: async () => {}, delete: async () => {}, get: async () => null };

let dynamo: LocalDynamo;
let cp: ControlPlaneServer;
let edge: EdgeHarness;
let api: AdminApi;

beforeAll(async () => {
  dynamo = await startDynalite();
  cp = await startControlPlane({
    dynamoEndpoint: dynamo.endpoint,
    kv,
    bootstrapToken: "edge-counts-admin-token",
    reconcileEveryMs: 60_000,
    releasesEveryMs: 60_000,
    evaluationCountsSecret: SECRET,
  });
  api = adminApi(cp.url, "edge-counts-admin-token");
  await api("POST", "/projects", { key: "counted", name: "Counted" });
  await api("POST", "/projects/counted/deployments", { key: "web", name: "Web" });
  for (const key of ["new-onboarding", "checkout-redesign"])
    await api("POST", "/projects/counted/flags", { key, name: key, type: "release", variants: [{ key: "on" }] });
  edge = await startEdge({
    vars: { EVALUATION_COUNTS_URL: `${cp.url}/internal/evaluation-counts`, STREAM_NOTIFY_SECRET: SECRET },
  });
  await edge.publish(SERVER_KEY, { keyType: "server", project: "counted", deployment: "web", flags: TEST_FLAGS });
}, 120_000);
afterAll(async () => {
  await edge?.dispose();
  await cp?.close();
  await dynamo?.close();
});

describe("evaluation counts from the edge", () => {
  it("a remote evaluation's variants reach the flag's staleness", async () => {
    const response = await fetch(`${edge.url}/v1/vardata?user_id=user-1`, {
      headers: { authorization: `Api-Key ${SERVER_KEY}` },
    });
    expect(response.status).toBe(200);
    const served = (await response.json()) as Record<string, { key: string }>;
    const variantOf = (flag: string) => served[flag]?.key ?? NO_VARIANT;

    await expect
      .poll(
        async () => {
          const all = (await api("GET", "/projects/counted/stale-flags")).body as Array<{
            flag: string;
            variants: Record<string, number>;
          }>;
          return Object.fromEntries(all.map((s) => [s.flag, s.variants]));
        },
        { timeout: 30_000 },
      )
      .toEqual({
        "new-onboarding": { [variantOf("new-onboarding")]: 1 },
        "checkout-redesign": { [variantOf("checkout-redesign")]: 1 },
      });
    expect(edge.stderr()).not.toMatch(/Evaluation counts/);
  });
});
