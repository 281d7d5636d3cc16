/**
 * The S3 sink and the S3 mirror against a real S3-compatible server (s3rver), with real
 * DuckDB: what ingest writes to S3 is mirrored into a local folder and the metric engine
 * computes exactly what it computes over the same deliveries written locally.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { DuckDBInstance } from "@duckdb/node-api";
import { Hono } from "hono";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import S3rver from "s3rver";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiError, jsonErrors } from "../../../shared/http/errors.js";
import { metricDefinitionSchema } from "../../../shared/metrics/definition.js";
import { createMetricEngine, type MetricQuery } from "../metric-engine/index.js";
import { compact } from "./maintenance.js";
import type { EventRow, ExposureRow, ProjectRows } from "./rows.js";
import { eventRow, exposureRow } from "./rows.test-support.js";
import { mirroredEngine, s3Mirror } from "./s3-mirror.js";
import { s3Sink } from "./s3-sink.js";
import { localSink } from "./sink.js";
import { createEventStoreWriter, type EventStoreWriter } from "./writer.js";

const BUCKET = "events-bucket";
const PREFIX = "events/";
const T0 = Date.UTC(2026, 10, 2, 10);
const HOUR = 3_600_000;

let dir: string;
let server: S3rver;
let port: number;
let duckdb: DuckDBInstance;
const closers: (() => void)[] = [];

const clientAt = (at: number) =>
  new S3Client({
    endpoint: `http://127.0.0.1:${at}`,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    maxAttempts: 1, // a dead server fails the sync at once
  });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "s3-mirror-"));
  server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory: join(dir, "s3rver"),
    configureBuckets: [{ name: BUCKET, configs: [] }],
  });
  port = (await server.run()).port;
  duckdb = await DuckDBInstance.create(":memory:");
});
afterEach(async () => {
  for (const close of closers.splice(0)) close();
  duckdb.closeSync();
  await server.close().catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

const exposure = (id: string, variant: string, time = T0) =>
  exposureRow({
    id,
    experiment_key: "checkout",
    variant,
    unit_id: `u-${id}`,
    allocation: "control=50,treatment=50",
    time,
    country: "DE",
  });
const purchase = (id: string, user: string, revenue: number, time = T0 + HOUR) =>
  eventRow({ id, event_type: "purchase", user_id: `u-${user}`, time, event_properties: JSON.stringify({ revenue }) });
const delivery = (exposures: ExposureRow[], events: EventRow[]): ProjectRows[] => [
  { project: "shop", exposures, events },
];

/** The same deliveries into S3 (through the sink) and into a local reference store. */
async function writeBoth(deliveries: [string, ProjectRows[]][]) {
  const reference = join(dir, "reference");
  const writers: EventStoreWriter[] = [
    createEventStoreWriter({
      sink: s3Sink({ bucket: BUCKET, prefix: PREFIX, client: clientAt(port), stagingRoot: join(dir, "staging") }),
      duckdb,
    }),
    createEventStoreWriter({ sink: localSink(reference), duckdb }),
  ];
  for (const writer of writers) for (const [id, rows] of deliveries) await writer.append([id], rows);
  return reference;
}

async function keys(): Promise<string[]> {
  const listed = await clientAt(port).send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: PREFIX }));
  return (listed.Contents ?? []).map((o) => o.Key!.slice(PREFIX.length)).sort();
}

/** Every file under a folder, `/`-separated, except the mirror's manifest and the local sink's staging. */
async function files(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join("/"))
    .filter((path) => !path.startsWith(".mirror-manifest/") && !path.startsWith(".staging/"))
    .sort();
}

const engineOver = (root: string) => {
  const engine = createMetricEngine({ root });
  closers.push(() => engine.close());
  return engine;
};

const metrics = [
  { key: "conv", type: "unique_conversions", eventType: "purchase" },
  { key: "revenue", type: "property_sum", eventType: "purchase", property: "revenue" },
  {
    key: "aov",
    type: "ratio",
    numerator: { type: "property_sum", eventType: "purchase", property: "revenue" },
    denominator: { type: "event_totals", eventType: "purchase" },
  },
].map((m) => metricDefinitionSchema.parse(m));
const query: MetricQuery = {
  project: "shop",
  experiment: { key: "checkout", period: 1 },
  bucketing: { unit: "user_id" },
  from: T0 - HOUR,
  metrics,
};

const sumOf = (rows: { variant: string; metric: string; sum: bigint }[], variant: string, metric: string) =>
  rows.filter((r) => r.variant === variant && r.metric === metric).reduce((s, r) => s + r.sum, 0n);

describe("S3 sink (s3rver)", () => {
  it("publishes each partition's file at its Hive key under the prefix; a redelivery replaces it", async () => {
    const reference = await writeBoth([
      [
        "m1",
        delivery([exposure("a", "control"), exposure("b", "treatment", T0 + 24 * HOUR)], [purchase("e1", "a", 10)]),
      ],
    ]);
    const written = await keys();
    expect(written).toHaveLength(3);
    expect(written).toEqual(await files(reference)); // the same layout and names as the local store
    expect(written[0]).toMatch(/^events\/project=shop\/date=2026-11-02\/d-[0-9a-f]{32}\.parquet$/);
    const sink = s3Sink({ bucket: BUCKET, prefix: PREFIX, client: clientAt(port), stagingRoot: join(dir, "staging") });
    await createEventStoreWriter({ sink, duckdb }).append(["m1"], delivery([exposure("a", "control")], []));
    expect(await keys()).toEqual(written); // same message id, same key: replaced, not added
    expect(await files(join(dir, "staging"))).toEqual([]); // staged files are removed once published
  });
});

describe("S3 mirror (s3rver)", () => {
  it("mirrors what ingest wrote and the engine gets exactly the local store's aggregates", async () => {
    const reference = await writeBoth([
      ["m1", delivery([exposure("a", "control"), exposure("b", "treatment")], [purchase("e1", "a", 12.5)])],
      ["m2", delivery([exposure("c", "control")], [purchase("e2", "a", 7.5), purchase("e3", "b", 3)])],
    ]);
    const root = join(dir, "mirror");
    const result = await s3Mirror({ bucket: BUCKET, prefix: PREFIX, client: clientAt(port), root }).sync("shop");
    expect(result).toMatchObject({ files: 4, downloaded: 4, deleted: 0 });
    expect(await files(root)).toEqual(await files(reference));
    for (const path of await files(root))
      expect(await readFile(join(root, path))).toEqual(await readFile(join(reference, path)));

    const mirrored = await engineOver(root).aggregates(query);
    expect(mirrored).toEqual(await engineOver(reference).aggregates(query));
    // By hand: control has a (2 purchases, 20.00) and c; treatment has b (one purchase, 3.00).
    expect(sumOf(mirrored, "control", "conv")).toBe(10_000n);
    expect(sumOf(mirrored, "control", "revenue")).toBe(200_000n);
    expect(sumOf(mirrored, "treatment", "revenue")).toBe(30_000n);
    expect(sumOf(mirrored, "control", "aov:den")).toBe(20_000n);
    expect(sumOf(mirrored, "control", "$exposures")).toBe(0n);
    expect(mirrored.filter((r) => r.variant === "control" && r.metric === "$exposures")[0]?.n).toBe(2);
  });

  it("after compaction on S3 a second sync mirrors exactly: gone keys deleted, new ones fetched, the rest kept", async () => {
    // Eight deliveries into one partition: compaction folds them into one c- file.
    const deliveries: [string, ProjectRows[]][] = Array.from({ length: 8 }, (_, i) => [
      `m${i}`,
      delivery([exposure(`u${i}`, i % 2 ? "treatment" : "control")], []),
    ]);
    const reference = await writeBoth(deliveries);
    const root = join(dir, "mirror");
    const mirror = s3Mirror({ bucket: BUCKET, prefix: PREFIX, client: clientAt(port), root });
    expect(await mirror.sync("shop")).toMatchObject({ files: 8, downloaded: 8 });
    const engine = engineOver(root);
    const before = await engine.aggregates(query);

    // Compact the reference, then make S3 the same: upload what is new, delete what is gone.
    const old = new Set(await files(reference));
    expect(await compact(reference, duckdb)).toEqual({ partitions: 1, filesRemoved: 8 });
    const now = await files(reference);
    const client = clientAt(port);
    for (const path of now.filter((p) => !old.has(p)))
      await client.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: PREFIX + path, Body: await readFile(join(reference, path)) }),
      );
    for (const path of [...old].filter((p) => !now.includes(p)))
      await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: PREFIX + path }));
    expect(await keys()).toEqual(now);

    expect(await mirror.sync("shop")).toEqual({ files: 1, bytes: expect.any(Number), downloaded: 1, deleted: 8 });
    expect(await files(root)).toEqual(now);
    expect(await engine.aggregates(query)).toEqual(before); // the same rows, now from one file
    // Nothing changed: a third sync downloads nothing, even from a new mirror over the same warm /tmp.
    expect(await mirror.sync("shop")).toMatchObject({ downloaded: 0, deleted: 0 });
    const again = s3Mirror({ bucket: BUCKET, prefix: PREFIX, client: clientAt(port), root });
    expect(await again.sync("shop")).toMatchObject({ downloaded: 0, deleted: 0 });
  });

  it("refuses a project over the bound with a 503 naming Athena, downloading nothing", async () => {
    await writeBoth([["m1", delivery([exposure("a", "control")], [purchase("e1", "a", 1)])]]);
    const root = join(dir, "mirror");
    const mirror = s3Mirror({ bucket: BUCKET, prefix: PREFIX, client: clientAt(port), root, maxProjectBytes: 100 });
    const error = await mirror.sync("shop").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(503);
    expect((error as ApiError).message).toMatch(/over the 0\.00 GiB.*Athena.*docs\/scaling\.md/);
    expect(await files(root)).toEqual([]);
  });

  it("a server stopped mid-sync leaves no partial file, and the API answers a JSON 503, not a 500", async () => {
    await writeBoth([
      ["m1", delivery([exposure("a", "control")], [purchase("e1", "a", 1)])],
      ["m2", delivery([exposure("b", "control", T0 + 24 * HOUR)], [])],
    ]);
    const root = join(dir, "mirror");
    const real = clientAt(port);
    let gets = 0;
    // The real client, but the server is stopped once the first object has been fetched.
    const stopping = {
      send: async (command: Parameters<S3Client["send"]>[0]) => {
        if (command instanceof GetObjectCommand && gets++ === 1) await server.close();
        return real.send(command as never);
      },
    } as unknown as S3Client;
    const mirror = s3Mirror({ bucket: BUCKET, prefix: PREFIX, client: stopping, root, concurrency: 1 });
    const app = new Hono();
    app.onError(jsonErrors());
    const engine = mirroredEngine(mirror, engineOver(root));
    app.get("/types", async (c) => c.json(await engine.eventTypes("shop", 0)));

    const answer = await app.request("/types");
    expect(answer.status).toBe(503);
    const body = (await answer.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("unavailable");
    expect(body.error.message).toMatch(/Could not read project shop's event store from S3/);
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts|ECONNREFUSED/);
    const left = await files(root);
    expect(left).toHaveLength(1); // the first, whole; no temp file of the second
    expect(left.every((p) => p.endsWith(".parquet"))).toBe(true);

    // A dead port from the start: the same answer, nothing written.
    const dead = s3Mirror({ bucket: BUCKET, prefix: PREFIX, client: clientAt(port), root: join(dir, "dead") });
    await expect(dead.sync("shop")).rejects.toMatchObject({ status: 503 });
    expect(await files(join(dir, "dead"))).toEqual([]);
  });
});
