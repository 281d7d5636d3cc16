/**
 * Stats service benchmarks:
 * - ingest: signed deliveries of exposures and conversions through `POST /ingest` into
 *   dynalite (local DynamoDB), messages/s;
 * - aggregation alone: the pure per-event step (metrics.ts) in memory, events/s;
 * - report latency for experiments with 1,000 / 100,000 / 1,000,000 exposed users over
 *   30 days: their statistics are aggregated in memory with the same step and written as
 *   the sharded daily items ingest produces, then the report is requested over HTTP.
 */
import { createStore } from "../control-plane/src/db/store.js";
import { createDb } from "../shared/node/dynamo.js";
import { generateToken, hashToken } from "../shared/node/admin-tokens.js";
import { startDynalite } from "../shared/node/local-dynalite.js";
import { flagInputSchema, type Flag } from "../shared/authoring/schema.js";
import { sign } from "../shared/ingest-signature.js";
import { murmur3 } from "../shared/evaluation/murmur3.js";
import { startStatsService } from "../stats-lambda/src/server.js";
import { applyEvent, EMPTY_STATE } from "../stats-lambda/src/metrics.js";
import { SHARDS, EXPOSURES } from "../stats-lambda/src/store.js";
import { percentile, round } from "./percentiles.js";

export interface StatsBenchResult {
  ingestMessagesPerSecond: number;
  ingestMessages: number;
  aggregationEventsPerSecond: number;
  report: Array<{ users: number; items: number; p50Ms: number; p99Ms: number }>;
}

const metric = { key: "purchase", type: "unique_conversions" as const, eventType: "purchase" };

function experiment(key: string): Flag {
  const now = new Date().toISOString();
  return {
    ...flagInputSchema.parse({ key, name: key, type: "experiment", variants: [{ key: "control" }, { key: "treatment" }], primaryMetric: metric }),
    status: "running", version: 1, createdAt: now, updatedAt: now, lastChange: { actor: "bench", at: now, action: "create" },
  };
}

/** Aggregates `users` simulated users into (day, variant, metric, shard) → sums, as ingest would. */
function aggregate(users: number) {
  const cells = new Map<string, { n: number; sum: number; sumSquares: number }>();
  const add = (day: number, variant: string, metricKey: string, shard: number, n: number, sum: number, sumSquares: number) => {
    const key = `${String(day).padStart(2, "0")}#${variant}#${metricKey}#${shard}`;
    const cell = cells.get(key) ?? { n: 0, sum: 0, sumSquares: 0 };
    cell.n += n;
    cell.sum += sum;
    cell.sumSquares += sumSquares;
    cells.set(key, cell);
  };
  let events = 0;
  for (let i = 0; i < users; i++) {
    const id = `user-${i}`;
    const hash = murmur3(id);
    const variant = hash & 1 ? "treatment" : "control";
    const day = (hash >>> 1) % 30;
    const shard = hash % SHARDS;
    add(day, variant, EXPOSURES, shard, 1, 0, 0);
    if ((hash >>> 8) % 100 < (variant === "treatment" ? 12 : 10)) {
      const change = applyEvent(metric, EMPTY_STATE, 1)!;
      add(day, variant, metric.key, shard, change.delta.n, change.delta.sum, change.delta.sumSquares);
      events++;
    }
  }
  return { cells, events };
}

export async function benchStats(): Promise<StatsBenchResult> {
  // Aggregation alone: one million simulated users (≈ 1.1 M exposure and conversion steps).
  const started = performance.now();
  const { events } = aggregate(1_000_000);
  const aggregationEventsPerSecond = Math.round((1_000_000 + events) / ((performance.now() - started) / 1000));

  const dynamo = await startDynalite();
  const secret = "bench-secret";
  const service = await startStatsService({ dynamoEndpoint: dynamo.endpoint, ingestSecret: secret });
  const controlPlane = createStore(createDb({ table: "experiments", endpoint: dynamo.endpoint, region: "local" }));
  try {
    await controlPlane.createProject({ key: "bench", name: "Bench", createdAt: "now" });
    const token = generateToken();
    await controlPlane.putToken(hashToken(token), { id: "bench", name: "bench", role: "viewer", project: "bench", createdAt: "now" });

    // Ingest: 1,000 users exposed, then 1,000 conversions, in deliveries of 100 messages.
    await controlPlane.putFlag("bench", experiment("ingest"), undefined);
    const messages = [
      ...Array.from({ length: 1000 }, (_, i) => ({ id: `e${i}`, body: { type: "exposures", project: "bench", deployment: "d", userId: `u${i}`, time: 1_700_000_000_000, source: "remote-evaluation", exposures: [{ flagKey: "ingest", variant: i % 2 ? "treatment" : "control" }] } })),
      ...Array.from({ length: 1000 }, (_, i) => ({ id: `c${i}`, body: { type: "events", project: "bench", deployment: "d", events: [{ user_id: `u${i}`, event_type: "purchase", time: 1_700_000_100_000 }] } })),
    ];
    const ingestStarted = performance.now();
    for (let i = 0; i < messages.length; i += 100) {
      const body = JSON.stringify({ messages: messages.slice(i, i + 100) });
      const response = await fetch(`${service.url}/ingest`, { method: "POST", headers: { "content-type": "application/json", "x-signature": await sign(secret, body) }, body });
      if (!response.ok) throw new Error(`ingest: HTTP ${response.status}`);
    }
    const ingestMessagesPerSecond = Math.round(messages.length / ((performance.now() - ingestStarted) / 1000));

    // Report latency as the number of exposed users grows.
    const report: StatsBenchResult["report"] = [];
    for (const users of [1_000, 100_000, 1_000_000]) {
      const key = `report-${users}`;
      await controlPlane.putFlag("bench", experiment(key), undefined);
      const { cells } = aggregate(users);
      for (const [cell, s] of cells) {
        const [day, variant, metricKey, shard] = cell.split("#") as [string, string, string, string];
        await service.stats.addToAggregate("bench", key, `2026-11-${day}`, variant, metricKey, `shard-${shard}`, s);
      }
      const times: number[] = [];
      for (let i = 0; i < 30; i++) {
        const t = performance.now();
        const response = await fetch(`${service.url}/projects/bench/experiments/${key}/report`, { headers: { authorization: `Bearer ${token}` } });
        const body = (await response.json()) as { variants: Array<{ exposures: number }> };
        if (body.variants.reduce((n, v) => n + v.exposures, 0) !== users) throw new Error(`report for ${users} users counted something else`);
        if (i >= 5) times.push(performance.now() - t);
      }
      const sorted = times.sort((a, b) => a - b);
      report.push({ users, items: cells.size, p50Ms: round(percentile(sorted, 50), 1), p99Ms: round(percentile(sorted, 99), 1) });
    }
    return { ingestMessagesPerSecond, ingestMessages: messages.length, aggregationEventsPerSecond, report };
  } finally {
    await service.close();
    await dynamo.close();
  }
}
