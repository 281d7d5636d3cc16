/**
 * The official Amplitude Experiment SDKs, unchanged, pointed at our edge in workerd.
 * Results must equal what `@amplitude/experiment-core` computes for the same flags.
 */
import { Experiment as ServerExperiment } from "@amplitude/experiment-node-server";
import { Experiment as BrowserExperiment } from "@amplitude/experiment-js-client";
import { EvaluationEngine, topologicalSort } from "@amplitude/experiment-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { userToContext } from "../../shared/evaluation/index.js";
import { startEdge, type EdgeHarness } from "../support/edge-harness.js";
import { TEST_FLAGS } from "../support/flags.js";

const SERVER_KEY = "server-sdk-key-01";
const CLIENT_KEY = "client-sdk-key-01";
let edge: EdgeHarness;

const USERS = [
  { user_id: "user-1", device_id: "dev-1" },
  { user_id: "user-2", device_id: "dev-2", user_properties: { beta: true } },
  { user_id: "user-4", groups: { company: ["acme"] }, group_properties: { company: { acme: { plan: "enterprise" } } } },
  { device_id: "anonymous-device" },
];

/** The reference: what Amplitude's own engine assigns. */
function referenceKeys(user: Record<string, unknown>): Record<string, string | undefined> {
  const flags = Object.fromEntries(TEST_FLAGS.map((flag) => [flag.key, flag]));
  const results = new EvaluationEngine().evaluate(userToContext(user) as never, topologicalSort(flags as never));
  return Object.fromEntries(Object.entries(results).map(([key, variant]) => [key, variant.key]));
}

const keysOf = (variants: Record<string, { key?: string }>) =>
  Object.fromEntries(Object.entries(variants).map(([k, v]) => [k, v.key]));

beforeAll(async () => {
  edge = await startEdge();
  await edge.publish(SERVER_KEY, { keyType: "server", flags: TEST_FLAGS });
  await edge.publish(CLIENT_KEY, { keyType: "client", flags: TEST_FLAGS });
});
afterAll(() => edge.dispose());

describe("@amplitude/experiment-node-server", () => {
  it("remote evaluation (fetchV2) gets the reference variants", async () => {
    const client = ServerExperiment.initializeRemote(SERVER_KEY, { serverUrl: edge.url, fetchRetries: 0 });
    for (const user of USERS) {
      const variants = await client.fetchV2(user);
      expect(keysOf(variants)).toEqual(referenceKeys(user));
    }
    const variants = await client.fetchV2({ user_id: "user-1" });
    expect(variants["checkout-redesign"]).toMatchObject({
      key: "treatment",
      value: "treatment",
      payload: { color: "green" },
    });
  });

  it("remote evaluation with flag keys and the deprecated fetch (defaults filtered)", async () => {
    const client = ServerExperiment.initializeRemote(SERVER_KEY, { serverUrl: edge.url, fetchRetries: 0 });
    expect(Object.keys(await client.fetchV2({ user_id: "user-1" }, { flagKeys: ["sso"] }))).toEqual(["sso"]);
    const legacy = await client.fetch({ user_id: "user-2" });
    expect(Object.values(legacy).every((variant) => variant.metadata?.["default"] !== true)).toBe(true);
  });

  it("local evaluation downloads flag configs and evaluates like the reference", async () => {
    const client = ServerExperiment.initializeLocal(SERVER_KEY, {
      serverUrl: edge.url,
      flagConfigPollingIntervalMillis: 60_000,
    });
    await client.start();
    try {
      for (const user of USERS) expect(keysOf(client.evaluateV2(user))).toEqual(referenceKeys(user));
    } finally {
      client.stop();
    }
  });

  it("a bad key fails the fetch as the SDK expects", async () => {
    const client = ServerExperiment.initializeRemote("wrong-key-000", { serverUrl: edge.url, fetchRetries: 0 });
    await expect(client.fetchV2({ user_id: "user-1" })).rejects.toMatchObject({ statusCode: 401 });
  });
});

describe("@amplitude/experiment-js-client", () => {
  it("fetch() with a client key gets the reference variants", async () => {
    // In Node the browser SDK keeps variants in memory (no localStorage); no other shim is needed.
    const client = BrowserExperiment.initialize(CLIENT_KEY, {
      serverUrl: edge.url,
      flagsServerUrl: edge.url,
      retryFetchOnFailure: false,
      automaticExposureTracking: false,
    });
    for (const user of USERS) {
      await client.fetch(user);
      // all() keeps default ("off") variants too, as v2 remote evaluation returns them.
      expect(keysOf(client.all())).toEqual(referenceKeys(user));
    }
    await client.fetch({ user_id: "user-1" });
    expect(client.variant("checkout-redesign")).toMatchObject({ value: "treatment", payload: { color: "green" } });
  });
});
