/**
 * Flag changes pushed to servers: `@amplitude/experiment-node-server` streaming from the
 * edge (streamUpdates, streamServerUrl) against the local stack; each sample is a change
 * made through the control plane, timed from the request being sent to the SDK's local
 * evaluation answering the new variant (write to dynalite, publish to KV, notification to
 * the FlagStreamHub Durable Object, server-sent event, the SDK's parse).
 */
import { adminApi } from "../test/support/admin-api.js";
import { Experiment } from "@amplitude/experiment-node-server";
import { startLocalSystem } from "../scripts/local-system.js";
import { percentile, round } from "./percentiles.js";

export interface StreamingResult {
  changes: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export async function benchStreaming(changes = 50): Promise<StreamingResult> {
  const system = await startLocalSystem({
    ingestSecret: "bench-streaming",
    flagCacheTtlMs: 250,
    reconcileEveryMs: 60_000,
  });
  const token = system.controlPlane.bootstrapToken!;
  const call = adminApi(system.controlPlane.url, token);
  const api = async (method: string, path: string, body?: unknown) =>
    (await call(method, path, body)).body as Record<string, unknown>;
  try {
    await api("POST", "/projects", { key: "bench", name: "Bench" });
    const serverKey = String(
      (await api("POST", "/projects/bench/deployments", { key: "api", name: "API" }))["serverKey"],
    );
    let flag = await api("POST", "/projects/bench/flags", {
      key: "switch",
      name: "Switch",
      type: "release",
      variants: [{ key: "on" }],
      rollout: 0,
      deployments: ["api"],
    });
    flag = await api("POST", "/projects/bench/flags/switch/activate", { version: flag["version"] });
    // Polling once a minute: every change measured here came through the stream.
    const client = Experiment.initializeLocal(serverKey, {
      serverUrl: system.edgeUrl,
      streamUpdates: true,
      streamServerUrl: system.edgeUrl,
      streamFlagConnTimeoutMillis: 5000,
      flagConfigPollingIntervalMillis: 60_000,
    });
    await client.start();
    const samples: number[] = [];
    try {
      for (let i = 0; i < changes; i++) {
        const rollout = i % 2 === 0 ? 100 : 0;
        const expected = rollout === 100 ? "on" : "off";
        const started = performance.now();
        flag = await api("PATCH", "/projects/bench/flags/switch", { rollout, version: flag["version"] });
        while (client.evaluateV2({ user_id: "bench-user" }, ["switch"])["switch"]?.key !== expected) {
          if (performance.now() - started > 30_000) throw new Error(`Change ${i} did not reach the SDK in 30 s`);
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        samples.push(performance.now() - started);
      }
    } finally {
      client.stop();
    }
    samples.sort((a, b) => a - b);
    return {
      changes,
      p50Ms: round(percentile(samples, 50), 1),
      p95Ms: round(percentile(samples, 95), 1),
      p99Ms: round(percentile(samples, 99), 1),
      maxMs: round(samples.at(-1)!, 1),
    };
  } finally {
    await system.close();
  }
}
