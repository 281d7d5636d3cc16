/**
 * The edge's evaluation counts reach the control plane: remote evaluation, OFREP (through
 * OpenFeature's own provider) and the CDN middleware (proxy mode) in real workerd count each
 * flag's served variant, defaults too, flush it signed to `/internal/evaluation-counts`, and
 * the control plane on real dynalite shows it in the flag's staleness. Each route counts into
 * its own project, so no test sees another's counts. Polled, never slept on.
 */
import { OFREPProvider } from "@openfeature/ofrep-provider";
import { OpenFeature } from "@openfeature/server-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDynalite, type LocalDynamo } from "../../../shared/node/local-dynalite.js";
import { adminApi, type AdminApi } from "../../../test/support/admin-api.js";
import { startEdge, type EdgeHarness } from "../../../test/support/edge-harness.js";
import { TEST_FLAGS } from "../../../test/support/flags.js";
import { startOrigin, type Origin } from "../../../test/support/origin.js";
import type { KvWriter } from "../publish/kv-writer.js";
import { startControlPlane, type ControlPlaneServer } from "../server.js";
import { NO_VARIANT } from "./staleness.js";

const SECRET = "edge-counts-test-secret";
const SERVER_KEY = "server-edge-counts-key";
const OFREP_KEY = "server-ofrep-counts-key";
const CDN_KEY = "client-cdn-counts-key";
const FLAGS = ["new-onboarding", "checkout-redesign"];
const kv: KvWriter = { put: async () => {}, delete: async () => {}, get: async () => null };

let dynamo: LocalDynamo;
let cp: ControlPlaneServer;
let edge: EdgeHarness;
let api: AdminApi;
let origin: Origin;

/** Each flag's counted variants in `project`, as the control plane shows them. */
const countsIn = async (project: string) => {
  const all = (await api("GET", `/projects/${project}/stale-flags`)).body as Array<{
    flag: string;
    variants: Record<string, number>;
  }>;
  return Object.fromEntries(all.map((s) => [s.flag, s.variants]));
};

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
  for (const project of ["counted", "ofrep-counted", "cdn-counted"]) {
    await api("POST", "/projects", { key: project, name: project });
    await api("POST", `/projects/${project}/deployments`, { key: "web", name: "Web" });
    for (const key of FLAGS)
      await api("POST", `/projects/${project}/flags`, { key, name: key, type: "release", variants: [{ key: "on" }] });
  }
  origin = await startOrigin();
  edge = await startEdge({
    vars: {
      EVALUATION_COUNTS_URL: `${cp.url}/internal/evaluation-counts`,
      STREAM_NOTIFY_SECRET: SECRET,
      // Every counting request flushes: each test's counts arrive without waiting out the 10 s interval.
      EVALUATION_COUNTS_FLUSH_MS: "0",
      CDN_ORIGIN: origin.url,
      CDN_DEPLOYMENT_KEY: CDN_KEY,
    },
  });
  await edge.publish(SERVER_KEY, { keyType: "server", project: "counted", deployment: "web", flags: TEST_FLAGS });
  await edge.publish(OFREP_KEY, { keyType: "server", project: "ofrep-counted", deployment: "web", flags: TEST_FLAGS });
  await edge.publish(CDN_KEY, { keyType: "client", project: "cdn-counted", deployment: "web", flags: TEST_FLAGS });
}, 120_000);
afterAll(async () => {
  await OpenFeature.close();
  await edge?.dispose();
  await origin?.close();
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
      .poll(() => countsIn("counted"), { timeout: 30_000 })
      .toEqual({
        "new-onboarding": { [variantOf("new-onboarding")]: 1 },
        "checkout-redesign": { [variantOf("checkout-redesign")]: 1 },
      });
    expect(edge.stderr()).not.toMatch(/Evaluation counts/);
  });

  it("an OpenFeature provider's evaluation over OFREP counts, and so does a bulk evaluation, defaults too", async () => {
    await OpenFeature.setProviderAndWait(
      new OFREPProvider({ baseUrl: edge.url, headers: [["Authorization", `Api-Key ${OFREP_KEY}`]] }),
    );
    const context = { targetingKey: "user-2", beta: true };
    expect(await OpenFeature.getClient().getBooleanValue("new-onboarding", false, context)).toBe(true);
    const bulk = await fetch(`${edge.url}/ofrep/v1/evaluate/flags`, {
      method: "POST",
      headers: { authorization: `Api-Key ${OFREP_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ context }),
    });
    expect(bulk.status).toBe(200);

    // user-2 is outside checkout-redesign's allocation: the bulk answer's default is counted as one.
    await expect
      .poll(() => countsIn("ofrep-counted"), { timeout: 30_000 })
      .toEqual({ "new-onboarding": { on: 2 }, "checkout-redesign": { [NO_VARIANT]: 1 } });
    expect(edge.stderr()).not.toMatch(/Evaluation counts/);
  });

  it("a request through the CDN middleware counts every flag it assigned, defaults too", async () => {
    const response = await fetch(`${edge.url}/shop/page.html`, { headers: { cookie: "exp_device_id=device-0001" } });
    expect(response.status).toBe(200);
    await response.text();
    // The assignments header the origin got: `flag=variant;…` (edge/src/cdn/assignments.ts), non-defaults only.
    const header = String(origin.received.at(-1)?.headers["x-experiment-variants"] ?? "");
    const assigned = Object.fromEntries(
      header
        .split(";")
        .filter(Boolean)
        .map((pair) => pair.split("=")),
    );
    const variantOf = (flag: string) => assigned[flag] ?? NO_VARIANT;

    await expect
      .poll(() => countsIn("cdn-counted"), { timeout: 30_000 })
      .toEqual(Object.fromEntries(FLAGS.map((flag) => [flag, { [variantOf(flag)]: 1 }])));
    expect(edge.stderr()).not.toMatch(/Evaluation counts/);
  });
});
