/**
 * Releases that watch themselves (docs/releases.md): how long a state change takes to reach
 * a webhook, and what the watcher costs per running rollout plan. A control plane on
 * dynalite (through the counting proxy of test/support) with its real 1 s ticker and a
 * webhook receiver on loopback.
 *
 * - Rollback latency: a plan at 1% whose guardrail turns harmful at t0 (the source the
 *   watcher reads answers harm from then on); latency is t0 → the signed
 *   `rollout.rolled_back` delivery arriving. Includes the wait for the next tick (≤ 1 s).
 * - Edit latency: a PATCH's answer → its `flag.changed` delivery.
 * - Watcher cost: ticks driven by hand over K running plans (guardrails read each tick):
 *   DynamoDB requests and the process's CPU time (control plane, dynalite, proxy) per plan.
 */
import type { SufficientStats } from "../shared/stats/sufficient.js";
import { startDynalite } from "../shared/node/local-dynalite.js";
import { adminApi } from "../test/support/admin-api.js";
import { startDynamoProxy } from "../test/support/dynamo-proxy.js";
import type { GuardrailReading } from "../control-plane/src/rollouts/monitor.js";
import { startReceiver } from "../control-plane/src/notifications/receiver.test-support.js";
import type { KvWriter } from "../control-plane/src/publish/kv-writer.js";
import { startControlPlane } from "../control-plane/src/server.js";
import { percentile, round } from "./percentiles.js";

const TOKEN = "bench-releases-token";
const binary = (n: number, rate: number): SufficientStats => {
  const x = Math.round(n * rate);
  return { n, mean: x / n, m2: x * (1 - x / n) };
};
const reading = (servedRate: number): GuardrailReading[] => [
  { metric: "errors", direction: "decrease", served: binary(20_000, servedRate), heldBack: binary(20_000, 0.05) },
];
const nullKv = (): KvWriter => ({ put: async () => undefined, delete: async () => undefined, get: async () => null });

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export interface ReleasesResult {
  latency: Array<{ what: string; runs: number; p50Ms: number; p99Ms: number; maxMs: number }>;
  cost: Array<{ plans: number; requestsPerPlan: number; cpuMsPerPlan: number; tickMs: number }>;
}

export async function benchReleases(): Promise<ReleasesResult> {
  const dynamo = await startDynalite();
  const proxy = await startDynamoProxy(dynamo.endpoint);
  const readings = new Map<string, GuardrailReading[]>();
  const cp = await startControlPlane({
    dynamoEndpoint: proxy.endpoint,
    kv: nullKv(),
    bootstrapToken: TOKEN,
    releasesEveryMs: 1000,
    guardrails: async (_p, flag) => readings.get(flag.key) ?? [],
  });
  const receiver = await startReceiver();
  const api = adminApi(cp.url, TOKEN);
  const closers: Array<() => Promise<void>> = [() => cp.close()];
  try {
    await api("POST", "/projects", { key: "bench", name: "Bench" });
    await api("POST", "/projects/bench/webhooks", { url: receiver.url });
    const guarded = (key: string) => ({
      key,
      name: key,
      type: "release",
      variants: [{ key: "on" }],
      rollout: 0,
      guardrailMetrics: [{ key: "errors", type: "unique_conversions", eventType: "error", direction: "decrease" }],
    });
    const steps = [
      { percent: 1, minutes: 600 },
      { percent: 100, minutes: 0 },
    ];

    const rollback: number[] = [];
    for (let i = 0; i < 30; i++) {
      const key = `rb-${i}`;
      readings.set(key, reading(0.05));
      await api("POST", "/projects/bench/flags", guarded(key));
      await api("PUT", `/projects/bench/flags/${key}/rollout-plan`, { steps });
      const t0 = Date.now();
      readings.set(key, reading(0.08));
      await until(
        () => receiver.of("rollout.rolled_back").some((d) => d.json.data["flag"] === key),
        `the rollback of ${key}`,
      );
      const delivery = receiver.of("rollout.rolled_back").find((d) => d.json.data["flag"] === key)!;
      rollback.push(delivery.receivedAt - t0);
      if (i % 10 === 9) console.log(`  rollbacks: ${i + 1}`);
    }

    const edits: number[] = [];
    await api("POST", "/projects/bench/flags", {
      key: "edited",
      name: "edited",
      type: "release",
      variants: [{ key: "on" }],
    });
    for (let version = 1; version <= 60; version++) {
      const answered = await api(
        "PATCH",
        "/projects/bench/flags/edited",
        { rollout: version % 100 },
        { "if-match": `"${version}"` },
      );
      const at = Date.now();
      if (answered.status !== 200) throw new Error(`PATCH answered ${answered.status}`);
      const id = `flag-edited-v${version + 1}`;
      await until(() => receiver.received.some((d) => d.json.id === id), id);
      edits.push(receiver.received.find((d) => d.json.id === id)!.receivedAt - at);
    }

    // Cost: a second control plane whose ticks only the bench drives (the first stops ticking).
    await closers.shift()!();
    const driven = await startControlPlane({
      dynamoEndpoint: proxy.endpoint,
      kv: nullKv(),
      releasesEveryMs: 3_600_000,
      guardrails: async (_p, flag) => readings.get(flag.key) ?? [],
    });
    closers.push(() => driven.close());
    const drivenApi = adminApi(driven.url, TOKEN);
    const cost: ReleasesResult["cost"] = [];
    let made = 0;
    for (const plans of [10, 50]) {
      for (; made < plans; made++) {
        const key = `run-${made}`;
        readings.set(key, reading(0.05));
        await drivenApi("POST", "/projects/bench/flags", guarded(key));
        await drivenApi("PUT", `/projects/bench/flags/${key}/rollout-plan`, { steps });
      }
      await driven.tick();
      const ticks = 5;
      proxy.reset();
      const cpu = process.cpuUsage();
      const start = performance.now();
      for (let t = 0; t < ticks; t++) await driven.tick();
      const wall = performance.now() - start;
      const used = process.cpuUsage(cpu);
      cost.push({
        plans,
        requestsPerPlan: round(proxy.total() / ticks / plans, 1),
        cpuMsPerPlan: round((used.user + used.system) / 1000 / ticks / plans, 2),
        tickMs: round(wall / ticks, 1),
      });
    }

    const stat = (what: string, values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return {
        what,
        runs: values.length,
        p50Ms: round(percentile(sorted, 50), 0),
        p99Ms: round(percentile(sorted, 99), 0),
        maxMs: round(sorted[sorted.length - 1]!, 0),
      };
    };
    return {
      latency: [stat("guardrail harm → rollback webhook", rollback), stat("edit → flag.changed webhook", edits)],
      cost,
    };
  } finally {
    for (const close of closers) await close();
    await receiver.close();
    await proxy.close();
    await dynamo.close();
  }
}
