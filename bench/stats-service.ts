/**
 * Stats service benchmarks:
 * - ingest: one signed delivery of the mix (200 units × 5 experiments exposed,
 *   then a purchase each: 2,000 applications) through `POST /ingest`, with the service
 *   reaching dynalite through a proxy that counts DynamoDB requests and adds 0 or 5 ms
 *   to each (in-region latency): seconds, requests per application;
 * - aggregation alone: the pure per-event step (metrics.ts) in memory, events/s;
 * - report latency for experiments with 1,000 / 100,000 / 1,000,000 exposed users over
 *   30 days: their statistics are aggregated in memory with the same step and written as
 *   the sharded daily items ingest produces, then the report is requested over HTTP.
 */
import { flagInputSchema, type Flag } from "../shared/authoring/schema.js";
import { sign } from "../shared/ingest-signature.js";
import { murmur3 } from "../shared/evaluation/murmur3.js";
import { VALUE_SCALE } from "../shared/metric-values.js";
import { batchPut, createDb } from "../shared/node/dynamo.js";
import { startDynalite } from "../shared/node/local-dynalite.js";
import { startStatsService } from "../stats-lambda/src/server.js";
import { applyEvent, EMPTY_STATE, type ExactDelta } from "../stats-lambda/src/metrics.js";
import { aggregateAttribute, EXPOSURES, SHARDS, statsKeys } from "../stats-lambda/src/store.js";
import { controlPlaneRecords } from "../test/support/control-plane-records.js";
import { startDynamoProxy } from "../test/support/dynamo-proxy.js";
import { percentile, round as roundTo } from "./percentiles.js";

export interface IngestRun {
  latencyMs: number;
  applications: number;
  seconds: number;
  requests: number;
  requestsPerApplication: number;
  applicationsPerSecond: number;
}

export interface StatsBenchResult {
  ingest: IngestRun[];
  aggregationEventsPerSecond: number;
  report: Array<{ users: number; items: number; p50Ms: number; p99Ms: number }>;
}

const metric = { key: "purchase", type: "unique_conversions" as const, eventType: "purchase" };
const SCALE = BigInt(VALUE_SCALE);

/**
 * Aggregates `users` simulated users into (day, shard, variant, metric) items of exact scaled sums, as ingest writes
 * them.
 */
function aggregate(users: number) {
  const items = new Map<string, Map<string, bigint>>();
  const add = (day: number, shard: number, attribute: string, value: bigint) => {
    const [, variant, series] = attribute.split("|") as [string, string, string];
    const key = `${String(day + 1).padStart(2, "0")}#${shard}#${variant}#${series}`;
    const item = items.get(key) ?? new Map<string, bigint>();
    item.set(attribute, (item.get(attribute) ?? 0n) + value);
    items.set(key, item);
  };
  let events = 0;
  for (let i = 0; i < users; i++) {
    const hash = murmur3(`user-${i}`);
    const variant = hash & 1 ? "treatment" : "control";
    const day = (hash >>> 1) % 30;
    const shard = hash % SHARDS;
    add(day, shard, aggregateAttribute("n", variant, EXPOSURES), 1n);
    if ((hash >>> 8) % 100 < (variant === "treatment" ? 12 : 10)) {
      const [[, delta]] = applyEvent(metric, EMPTY_STATE, Number(SCALE))!.deltas as [[string, ExactDelta]];
      add(day, shard, aggregateAttribute("s", variant, metric.key), delta.sum);
      add(day, shard, aggregateAttribute("q", variant, metric.key), delta.sumSquares);
      events++;
    }
  }
  return { items, events };
}

/**
 * The mix: `units` users × 5 running experiments exposed, then a purchase each (2 applications per unit and
 * experiment).
 */
function mix(prefix: string, units: number, experiments: string[]) {
  const exposures = Array.from({ length: units }, (_, i) => ({
    id: `${prefix}-x${i}`,
    body: {
      type: "batch",
      messages: experiments.map((key) => ({
        type: "exposures",
        project: "bench",
        deployment: "d",
        userId: `${prefix}${i}`,
        time: Date.now() - 60_000,
        source: "remote-evaluation",
        exposures: [{ flagKey: key, variant: i % 2 ? "treatment" : "control" }],
      })),
    },
  }));
  const purchases = Array.from({ length: units }, (_, i) => ({
    id: `${prefix}-p${i}`,
    body: {
      type: "events",
      project: "bench",
      deployment: "d",
      events: [
        {
          user_id: `${prefix}${i}`,
          event_type: "purchase",
          time: Date.now() - 30_000,
          event_properties: { amount: 20 },
        },
      ],
    },
  }));
  return [...exposures, ...purchases];
}

export async function benchStats(): Promise<StatsBenchResult> {
  // Aggregation alone: one million simulated users (≈ 1.1 M exposure and conversion steps).
  const started = performance.now();
  const { events } = aggregate(1_000_000);
  const aggregationEventsPerSecond = Math.round((1_000_000 + events) / ((performance.now() - started) / 1000));

  const dynamo = await startDynalite();
  const proxy = await startDynamoProxy(dynamo.endpoint);
  const secret = "bench-secret";
  // The service reaches DynamoDB through the proxy: requests are counted, latency injected.
  const service = await startStatsService({ dynamoEndpoint: proxy.endpoint, ingestSecret: secret });
  const records = await controlPlaneRecords(dynamo.endpoint);
  try {
    await records.project("bench");
    const token = await records.token("viewer", "bench");
    const experiments = ["mix-1", "mix-2", "mix-3", "mix-4", "mix-5"];
    for (const key of experiments) await records.experiment("bench", experimentFlag(key));

    // Ingest: one signed delivery of the mix (200 units: 2,000 applications), at 0 and 5 ms per DynamoDB call.
    const ingest: IngestRun[] = [];
    for (const [round, latencyMs] of [0, 5, 0, 5].entries()) {
      proxy.latencyMs = latencyMs;
      proxy.reset();
      const body = JSON.stringify({ messages: mix(`r${round}-`, 200, experiments) });
      const t = performance.now();
      const response = await fetch(`${service.url}/ingest`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-signature": await sign(secret, body) },
        body,
      });
      const seconds = (performance.now() - t) / 1000;
      const result = (await response.json()) as { exposures: number; events: number };
      const applications = result.exposures + result.events;
      if (!response.ok || applications !== 2000)
        throw new Error(`ingest: HTTP ${response.status}, ${applications} applications`);
      if (round < 2) continue; // the first pair warms up the service and dynalite
      ingest.push({
        latencyMs,
        applications,
        seconds: roundTo(seconds, 2),
        requests: proxy.total(),
        requestsPerApplication: roundTo(proxy.total() / applications, 3),
        applicationsPerSecond: Math.round(applications / seconds),
      });
    }
    proxy.latencyMs = 0;

    // Report latency as the number of exposed users grows.
    const statsDb = createDb({ table: "experiment-stats", endpoint: dynamo.endpoint, region: "local" });
    const report: StatsBenchResult["report"] = [];
    for (const users of [1_000, 100_000, 1_000_000]) {
      const key = `report-${users}`;
      await records.experiment("bench", experimentFlag(key));
      const { items } = aggregate(users);
      await batchPut(
        statsDb,
        [...items].map(([cell, attributes]) => {
          const [day, shard, variant, series] = cell.split("#") as [string, string, string, string];
          return {
            ...statsKeys.aggregate("bench", key, `2026-11-${day}`, Number(shard), variant, series),
            ...Object.fromEntries(attributes),
          };
        }),
      );
      const times: number[] = [];
      for (let i = 0; i < 30; i++) {
        const t = performance.now();
        const response = await fetch(`${service.url}/projects/bench/experiments/${key}/report`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const body = (await response.json()) as { variants: Array<{ exposures: number }> };
        if (body.variants.reduce((n, v) => n + v.exposures, 0) !== users)
          throw new Error(`report for ${users} users counted something else`);
        if (i >= 5) times.push(performance.now() - t);
      }
      const sorted = times.sort((a, b) => a - b);
      report.push({
        users,
        items: items.size,
        p50Ms: roundTo(percentile(sorted, 50), 1),
        p99Ms: roundTo(percentile(sorted, 99), 1),
      });
    }
    return { ingest, aggregationEventsPerSecond, report };
  } finally {
    await service.close();
    await proxy.close();
    await dynamo.close();
  }
}

function experimentFlag(key: string): Flag {
  const now = new Date().toISOString();
  return {
    ...flagInputSchema.parse({
      key,
      name: key,
      type: "experiment",
      variants: [{ key: "control" }, { key: "treatment" }],
      primaryMetric: metric,
      secondaryMetrics: [{ key: "revenue", type: "property_sum", eventType: "purchase", property: "amount" }],
    }),
    status: "running",
    version: 1,
    createdAt: now,
    updatedAt: now,
    lastChange: { actor: "bench", at: now, action: "create" },
  };
}
