/**
 * Flag changes streamed to servers: `@amplitude/experiment-node-server` with
 * `streamUpdates: true` and `streamServerUrl` pointed at our edge, against the local stack
 * (control plane publishing, the edge's FlagStreamHub Durable Object in workerd). A change
 * made through the control plane reaches the SDK's local evaluation without polling; when
 * the stream breaks, the SDK falls back to polling and keeps up. And its exposure tracking
 * (`exposureConfig` with our edge as `serverUrl`) lands in the experiment's report.
 */
import { Experiment as ServerExperiment, type LocalEvaluationClient } from "@amplitude/experiment-node-server";
import { adminApi } from "../support/admin-api.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sign } from "../../shared/ingest-signature.js";
import { startLocalSystem, type LocalSystem } from "../../scripts/local-system.js";

let system: LocalSystem;
let client: LocalEvaluationClient;
let serverKey: string;
const token = () => system.controlPlane.bootstrapToken!;

const api = async (method: string, path: string, body?: unknown) =>
  (await adminApi(system.controlPlane.url, token())(method, path, body)).body;
const setRollout = async (rollout: number) => {
  const current = await api("GET", "/projects/live/flags/banner");
  return api("PATCH", "/projects/live/flags/banner", { rollout, version: current["version"] });
};
const variantFor = (user: string) => client.evaluateV2({ user_id: user }, ["banner"])["banner"]?.key;

beforeAll(async () => {
  // Polling every 60 s: anything sooner than that came through the stream.
  system = await startLocalSystem({ ingestSecret: "stream-test", flagCacheTtlMs: 50, reconcileEveryMs: 60_000 });
  await api("POST", "/projects", { key: "live", name: "Live" });
  serverKey = (await api("POST", "/projects/live/deployments", { key: "api", name: "API" }))["serverKey"];
  const created = await api("POST", "/projects/live/flags", {
    key: "banner",
    name: "Banner",
    type: "release",
    variants: [{ key: "on" }],
    rollout: 0,
    deployments: ["api"],
  });
  await api("POST", "/projects/live/flags/banner/activate", { version: created["version"] });
  client = ServerExperiment.initializeLocal(serverKey, {
    serverUrl: system.edgeUrl,
    streamUpdates: true,
    streamServerUrl: system.edgeUrl,
    streamFlagConnTimeoutMillis: 5000,
    flagConfigPollingIntervalMillis: 60_000,
  });
  await client.start();
});
afterAll(async () => {
  client?.stop();
  await system?.close();
});

describe("flag configs streamed to the node SDK", () => {
  it("sends the flags on connect, then every change, well before the next poll", async () => {
    expect(variantFor("user-1")).toBe("off"); // rollout 0
    const changed = Date.now();
    await setRollout(100);
    await expect.poll(() => variantFor("user-1"), { timeout: 5000, interval: 10 }).toBe("on");
    const firstMs = Date.now() - changed;
    await setRollout(0);
    await expect.poll(() => variantFor("user-1"), { timeout: 5000, interval: 10 }).toBe("off");
    expect(firstMs).toBeLessThan(5000); // the SDK polls only every 60 s
  });

  it("refuses a client key and an unknown key", async () => {
    const clientKey = (await api("GET", "/projects/live/deployments/api"))["clientKey"];
    for (const [key, status] of [
      [clientKey, 403],
      ["server-unknown-key-123", 401],
    ] as const) {
      const response = await fetch(`${system.edgeUrl}/sdk/stream/v1/flags`, {
        headers: { authorization: `Api-Key ${key}` },
      });
      expect(response.status).toBe(status);
      await response.body?.cancel();
    }
  });

  it("refuses notifications that are not signed by the control plane", async () => {
    const body = JSON.stringify({ updates: [{ key: serverKey, document: null }] });
    for (const signature of [undefined, "t=1,v1=00"]) {
      const response = await fetch(`${system.edgeUrl}/internal/flag-streams`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(signature ? { "x-signature": signature } : {}) },
        body,
      });
      expect(response.status).toBe(401);
    }
    // The stream is still open and still delivers.
    await setRollout(100);
    await expect.poll(() => variantFor("user-2"), { timeout: 5000, interval: 10 }).toBe("on");
  });

  it("falls back to polling when the stream breaks, and keeps up", async () => {
    // A client of its own (the SDK keeps one per key and instance name), polling every 300 ms.
    const polling = ServerExperiment.initializeLocal(serverKey, {
      instanceName: "polling",
      serverUrl: system.edgeUrl,
      streamUpdates: true,
      streamServerUrl: system.edgeUrl,
      streamFlagConnTimeoutMillis: 5000,
      flagConfigPollingIntervalMillis: 300,
    });
    await polling.start();
    try {
      await setRollout(0);
      await expect
        .poll(() => polling.evaluateV2({ user_id: "user-3" }, ["banner"])["banner"]?.key, {
          timeout: 5000,
          interval: 10,
        })
        .toBe("off");
      // The hub drops every stream of the key (as when its Durable Object restarts).
      const body = JSON.stringify({ updates: [{ key: serverKey, document: null }] });
      const dropped = await fetch(`${system.edgeUrl}/internal/flag-streams`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-signature": await sign(system.streamNotifySecret, body) },
        body,
      });
      expect(dropped.status).toBe(204);
      await setRollout(100);
      await expect
        .poll(() => polling.evaluateV2({ user_id: "user-3" }, ["banner"])["banner"]?.key, {
          timeout: 5000,
          interval: 20,
        })
        .toBe("on");
    } finally {
      polling.stop();
    }
  });
});

describe("the node SDK's exposure tracking", () => {
  it("counts a local evaluation's exposures in the experiment's report", async () => {
    const created = await api("POST", "/projects/live/flags", {
      key: "pricing",
      name: "Pricing",
      type: "experiment",
      variants: [{ key: "control" }, { key: "treatment" }],
      deployments: ["api"],
      primaryMetric: { key: "buy", type: "unique_conversions", eventType: "buy" },
    });
    await api("POST", "/projects/live/flags/pricing/start", { version: created["version"] });
    const tracking = ServerExperiment.initializeLocal(serverKey, {
      instanceName: "tracking",
      serverUrl: system.edgeUrl,
      flagConfigPollingIntervalMillis: 200,
      exposureConfig: {
        apiKey: serverKey,
        serverUrl: `${system.edgeUrl}/2/httpapi`,
        flushQueueSize: 10,
        flushIntervalMillis: 100,
      },
    });
    await tracking.start();
    try {
      await expect
        .poll(() => tracking.evaluateV2({ user_id: "probe" }, ["pricing"])["pricing"]?.key, { timeout: 5000 })
        .toMatch(/^(control|treatment)$/);
      const users = Array.from({ length: 20 }, (_, i) => `sdk-user-${i}`);
      const served = users.map(
        (user_id) => tracking.evaluateV2({ user_id }, ["pricing"], { tracksExposure: true })["pricing"]!.key,
      );
      const report = async () =>
        (await (
          await fetch(`${system.statsUrl}/projects/live/experiments/pricing/report`, {
            headers: { authorization: `Bearer ${token()}` },
          })
        ).json()) as {
          variants: Array<{ key: string; exposures: number }>;
          dataQuality: { rejectedExposures: number };
        };
      await expect
        .poll(async () => (await report()).variants.reduce((n, v) => n + v.exposures, 0), { timeout: 20_000 })
        .toBe(users.length);
      const final = await report();
      for (const variant of ["control", "treatment"])
        expect(final.variants.find((v) => v.key === variant)!.exposures).toBe(
          served.filter((key) => key === variant).length,
        );
      expect(final.dataQuality.rejectedExposures).toBe(0);
    } finally {
      tracking.stop();
    }
  });
});
