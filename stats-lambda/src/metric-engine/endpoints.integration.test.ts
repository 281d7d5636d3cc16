/**
 * The console's metric-editor endpoints on the real stats service (dynalite for tokens) over
 * a real Parquet store in a temp folder: event types with property counts, a metric preview,
 * bad input as clear 400s, viewer auth, and 503 when no store is configured. Also the
 * engine's cache: a second read with no new file is served from it, a new file is seen.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startDynalite, type LocalDynamo } from "../../../shared/node/local-dynalite.js";
import { controlPlaneRecords } from "../../../test/support/control-plane-records.js";
import { startStatsService } from "../server.js";
import { createMetricEngine } from "./index.js";
import { writeStore } from "./write-store.test-support.js";

const DAY = 86_400_000;
const now = Date.now();
let dynamo: LocalDynamo;
let service: Awaited<ReturnType<typeof startStatsService>>;
let bare: Awaited<ReturnType<typeof startStatsService>>;
let token: string;
let root: string;

const store = { deployment: "d", source: "client", project: "shop" };
const exposureRow = (unit: string, variant: string, time: number, experiment = "exp") => ({
  ...store,
  id: `x-${unit}-${experiment}-${time}`,
  experiment_key: experiment,
  analysis_period: 1,
  variant,
  unit_id: unit,
  user_id: unit,
  time,
  untrusted: false,
});
const eventRow = (id: string, unit: string, type: string, time: number, properties: object) => ({
  ...store,
  id,
  event_type: type,
  user_id: unit,
  time,
  event_properties: JSON.stringify(properties),
});

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "metric-store-"));
  await writeStore(root, {
    exposures: [
      exposureRow("u1", "control", now - 2 * DAY),
      exposureRow("u2", "treatment", now - 2 * DAY, "other"),
      exposureRow("u3", "control", now - 20 * DAY), // outside a 7-day preview
    ],
    events: [
      eventRow("e1", "u1", "purchase", now - DAY, { revenue: 10, "it's": "x" }),
      eventRow("e2", "u1", "purchase", now - DAY + 1, { revenue: 30 }),
      eventRow("e3", "u2", "purchase", now - DAY, { revenue: 20 }),
      eventRow("e4", "u3", "page_view", now - 10 * DAY, { path: "/" }),
      eventRow("e5", "u3", "page_view", now - 40 * DAY, { path: "/" }), // outside 30 days
    ],
  });
  dynamo = await startDynalite();
  service = await startStatsService({ dynamoEndpoint: dynamo.endpoint, ingestSecret: "s", eventStoreRoot: root });
  bare = await startStatsService({ dynamoEndpoint: dynamo.endpoint, ingestSecret: "s" });
  const records = await controlPlaneRecords(dynamo.endpoint);
  await records.project("shop");
  token = await records.token("viewer", "shop");
});
afterAll(async () => {
  await service?.close();
  await bare?.close();
  await dynamo?.close();
  rmSync(root, { recursive: true, force: true });
});

const call = async (base: string, path: string, body?: unknown, auth = true) => {
  const response = await fetch(`${base}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { ...(auth ? { authorization: `Bearer ${token}` } : {}), "content-type": "application/json" },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe("GET /projects/{p}/event-types", () => {
  test("event types of the last days with their properties, most frequent first", async () => {
    const { status, body } = await call(service.url, "/projects/shop/event-types?days=30");
    expect(status).toBe(200);
    expect(body).toEqual({
      eventTypes: [
        {
          eventType: "purchase",
          count: 3,
          properties: [
            { name: "revenue", count: 3 },
            { name: "it's", count: 1 },
          ],
        },
        { eventType: "page_view", count: 1, properties: [{ name: "path", count: 1 }] },
      ],
    });
  });

  test("bad days, no token, no store", async () => {
    expect((await call(service.url, "/projects/shop/event-types?days=0")).status).toBe(400);
    expect((await call(service.url, "/projects/shop/event-types?days=x")).status).toBe(400);
    expect((await call(service.url, "/projects/shop/event-types", undefined, false)).status).toBe(401);
    expect((await call(service.url, "/projects/other/event-types")).status).toBe(403);
    const none = await call(bare.url, "/projects/shop/event-types");
    expect(none.status).toBe(503);
    expect(none.body).toMatchObject({
      error: { code: "unavailable", message: expect.stringContaining("event store") },
    });
  });
});

describe("POST /projects/{p}/metrics/preview", () => {
  test("units exposed to any experiment in the days, and the metric's mean per unit", async () => {
    const sum = { key: "revenue", type: "property_sum", eventType: "purchase", property: "revenue" };
    expect(await call(service.url, "/projects/shop/metrics/preview", { metric: sum })).toEqual({
      status: 200,
      body: { days: 7, units: 2, mean: 30 }, // (40 + 20) / 2
    });
    const conv = { key: "buyers", type: "unique_conversions", eventType: "purchase" };
    expect((await call(service.url, "/projects/shop/metrics/preview", { metric: conv, days: 30 })).body).toEqual({
      days: 30,
      units: 3,
      mean: 2 / 3,
    });
  });

  test("bad bodies are 400s naming the problem; no store is a 503", async () => {
    const bad = await call(service.url, "/projects/shop/metrics/preview", { metric: { key: "x", type: "nope" } });
    expect(bad.status).toBe(400);
    expect((await call(service.url, "/projects/shop/metrics/preview", "{not json")).status).toBe(400);
    const days = await call(service.url, "/projects/shop/metrics/preview", {
      metric: { key: "b", type: "unique_conversions", eventType: "purchase" },
      days: 1000,
    });
    expect(days.status).toBe(400);
    const metric = { key: "b", type: "unique_conversions", eventType: "purchase" };
    expect((await call(bare.url, "/projects/shop/metrics/preview", { metric })).status).toBe(503);
  });
});

test("the engine's cache: unchanged files are not read again, a new file is", async () => {
  const engine = createMetricEngine({ root });
  const query = {
    project: "shop",
    experiment: { key: "exp", period: 1 },
    bucketing: { unit: "user_id" as const },
    from: now - 30 * DAY,
    metrics: [{ key: "n", type: "event_totals" as const, eventType: "purchase", filters: [] }],
  };
  const first = await engine.aggregates(query);
  const again = await engine.aggregates(query);
  expect(again).toBe(first); // the same object: from the cache
  await writeStore(root, { events: [eventRow("e6", "u1", "purchase", now - DAY + 2, {})] });
  const after = await engine.aggregates(query);
  const total = (rows: typeof first) => rows.filter((r) => r.metric === "n").reduce((s, r) => s + r.sum, 0n);
  expect(total(after)).toBe(total(first) + 10_000n);
  engine.close();
});
