/**
 * The Lambda's read path end to end without AWS: ingest's rows written to s3rver through the
 * S3 sink, the stats app's report computed through the mirror (as lambda.ts wires it), and
 * compared with the same app over a local store of the same rows (the local server's path).
 */
import { S3Client } from "@aws-sdk/client-s3";
import { DuckDBInstance } from "@duckdb/node-api";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flagReader, tokenLookup } from "../../../shared/node/control-plane-table.js";
import { createDb, ensureTable } from "../../../shared/node/dynamo.js";
import { startDynalite, type LocalDynamo } from "../../../shared/node/local-dynalite.js";
import { controlPlaneRecords, runningExperiment } from "../../../test/support/control-plane-records.js";
import { createStatsApp } from "../app.js";
import { createCatalog } from "../catalog.js";
import { createMetricEngine, type MetricEngine } from "../metric-engine/index.js";
import { createStatsStore } from "../store.js";
import type { ProjectRows } from "./rows.js";
import { eventRow, exposureRow } from "./rows.test-support.js";
import { mirroredEngine, s3Mirror } from "./s3-mirror.js";
import { s3Sink } from "./s3-sink.js";
import { localSink } from "./sink.js";
import { createEventStoreWriter } from "./writer.js";

const BUCKET = "events-bucket";
const HOUR = 3_600_000;
const T0 = Date.now() - 2 * HOUR;
let dir: string;
let server: S3rver;
let dynamo: LocalDynamo;
let duckdb: DuckDBInstance;
let token: string;
let client: S3Client;
const engines: MetricEngine[] = [];

const exposure = (unit: string, variant: string) => exposureRow({ id: `x-${unit}`, variant, unit_id: unit, time: T0 });
const purchase = (id: string, unit: string, amount: number) =>
  eventRow({
    id,
    event_type: "purchase",
    user_id: unit,
    time: T0 + HOUR,
    event_properties: JSON.stringify({ amount }),
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "s3-report-"));
  server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory: join(dir, "s3rver"),
    configureBuckets: [{ name: BUCKET, configs: [] }],
  });
  const { port } = await server.run();
  client = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    maxAttempts: 1,
  });
  duckdb = await DuckDBInstance.create(":memory:");
  const rows: ProjectRows[] = [
    {
      project: "shop",
      exposures: ["a", "b", "c"]
        .map((u) => exposure(u, "control"))
        .concat(["d", "e"].map((u) => exposure(u, "treatment"))),
      events: [purchase("e1", "a", 10), purchase("e2", "b", 5), purchase("e3", "d", 20)],
    },
  ];
  for (const sink of [
    s3Sink({ bucket: BUCKET, prefix: "events/", client, stagingRoot: join(dir, "staging") }),
    localSink(join(dir, "reference")),
  ])
    await createEventStoreWriter({ sink, duckdb }).append(["m1"], rows);
  dynamo = await startDynalite();
  const records = await controlPlaneRecords(dynamo.endpoint);
  await records.project("shop");
  // With a ratio metric, a type the DynamoDB aggregates cannot compute: only the store can answer it.
  const base = runningExperiment("exp");
  await records.experiment("shop", {
    ...base,
    secondaryMetrics: [
      ...(base.secondaryMetrics ?? []),
      {
        key: "aov",
        type: "ratio",
        numerator: { type: "property_sum", eventType: "purchase", property: "amount" },
        denominator: { type: "event_totals", eventType: "purchase" },
      },
    ],
  } as typeof base);
  token = await records.token("viewer", "shop");
});
afterAll(async () => {
  for (const engine of engines) engine.close();
  duckdb?.closeSync();
  await server?.close();
  await dynamo?.close();
  await rm(dir, { recursive: true, force: true });
});

async function reportThrough(metricEngine: Pick<MetricEngine, "aggregates" | "eventTypes" | "preview">) {
  const controlDb = createDb({ table: "experiments", endpoint: dynamo.endpoint, region: "local" });
  const statsDb = createDb({
    table: "experiment-stats",
    endpoint: dynamo.endpoint,
    region: "local",
    exactNumbers: true,
  });
  await ensureTable(statsDb);
  const app = createStatsApp({
    stats: createStatsStore(statsDb),
    catalog: createCatalog(flagReader(controlDb)),
    tokens: tokenLookup(controlDb),
    ingestSecret: "s",
    metricEngine,
  });
  const response = await app.request("/projects/shop/experiments/exp/report", {
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const engineOver = (root: string) => {
  const engine = createMetricEngine({ root });
  engines.push(engine);
  return engine;
};

describe("the Lambda's report from the event store on S3", () => {
  it("is the local store's report, computed from the mirrored files", async () => {
    const root = join(dir, "mirror");
    const mirror = s3Mirror({ bucket: BUCKET, prefix: "events/", client, root });
    const fromS3 = await reportThrough(mirroredEngine(mirror, engineOver(root)));
    const local = await reportThrough(engineOver(join(dir, "reference")));
    expect(fromS3.status).toBe(200);
    expect(local.status).toBe(200);
    const { generatedAt: _a, ...s3Body } = fromS3.body;
    const { generatedAt: _b, ...localBody } = local.body;
    expect(s3Body).toEqual(localBody);
    // By hand: control a, b, c (a and b bought: 10 + 5), treatment d, e (d bought 20).
    expect(s3Body["variants"]).toMatchObject([
      { key: "control", exposures: 3 },
      { key: "treatment", exposures: 2 },
    ]);
    const metrics = s3Body["metrics"] as { key: string; variants: { variant: string; n: number; mean: number }[] }[];
    const variant = (key: string, name: string) =>
      metrics.find((m) => m.key === key)?.variants.find((v) => v.variant === name);
    expect(variant("purchase", "control")?.n).toBe(3);
    expect(variant("purchase", "control")?.mean).toBeCloseTo(2 / 3, 12);
    expect(variant("revenue", "treatment")?.n).toBe(2);
    expect(variant("revenue", "treatment")?.mean).toBeCloseTo(10, 12);
    expect(variant("aov", "control")?.mean).toBeCloseTo(7.5, 9); // (10 + 5) / 2 purchases
  });
});
