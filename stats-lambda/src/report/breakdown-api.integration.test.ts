/**
 * `?breakdown=` on the real stats service (dynalite for tokens and the catalog) over a real
 * Parquet store in a temp folder: the report with its breakdown by country, the breakdown's
 * CSV, a bad property name as a clear 400, and 503 without an event store.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { breakdownSchema } from "../../../shared/breakdown-schema.js";
import { startDynalite, type LocalDynamo } from "../../../shared/node/local-dynalite.js";
import { controlPlaneRecords, runningExperiment } from "../../../test/support/control-plane-records.js";
import { writeStore } from "../metric-engine/write-store.test-support.js";
import { startStatsService } from "../server.js";

const DAY = 86_400_000;
const now = Date.now();
let dynamo: LocalDynamo;
let service: Awaited<ReturnType<typeof startStatsService>>;
let bare: Awaited<ReturnType<typeof startStatsService>>;
let token: string;
let root: string;

const store = { deployment: "d", source: "client", project: "shop" };
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "breakdown-store-"));
  const exposures = [];
  const events = [];
  // 900 units over DE, FR, US: in DE the treatment converts far more often.
  for (let u = 0; u < 900; u++) {
    const country = ["DE", "FR", "US"][u % 3]!;
    const variant = u % 2 ? "treatment" : "control";
    const time = now - 2 * DAY + u * 1000;
    exposures.push({
      ...store,
      id: `x${u}`,
      experiment_key: "exp",
      analysis_period: 1,
      variant,
      unit_id: `u${u}`,
      user_id: `u${u}`,
      time,
      untrusted: false,
      country,
    });
    const converts = country === "DE" && variant === "treatment" ? u % 5 !== 0 : u % 5 === 0;
    if (converts)
      events.push({
        ...store,
        id: `e${u}`,
        event_type: "purchase",
        user_id: `u${u}`,
        time: time + 1000,
        event_properties: "{}",
      });
  }
  await writeStore(root, { exposures, events });
  dynamo = await startDynalite();
  service = await startStatsService({ dynamoEndpoint: dynamo.endpoint, ingestSecret: "s", eventStoreRoot: root });
  bare = await startStatsService({ dynamoEndpoint: dynamo.endpoint, ingestSecret: "s" });
  const records = await controlPlaneRecords(dynamo.endpoint);
  await records.project("shop");
  await records.experiment("shop", runningExperiment("exp", { secondaryMetrics: [] }));
  token = await records.token("viewer", "shop");
});
afterAll(async () => {
  await service?.close();
  await bare?.close();
  await dynamo?.close();
  rmSync(root, { recursive: true, force: true });
});

const get = (base: string, path: string, accept = "application/json") =>
  fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}`, accept } });

test("the report with ?breakdown=country: every metric per country, exploratory, the planted segment found", async () => {
  const response = await get(service.url, "/projects/shop/experiments/exp/report?breakdown=country");
  expect(response.status).toBe(200);
  const body = (await response.json()) as { metrics: unknown[]; breakdown: unknown };
  const breakdown = breakdownSchema.parse(body.breakdown);
  expect(breakdown.property).toBe("country");
  expect(breakdown.exploratory).toBe(true);
  const purchase = breakdown.metrics.find((m) => m.key === "purchase")!;
  expect(purchase.segments.map((s) => s.label).sort()).toEqual(["DE", "FR", "US"]);
  expect(purchase.segments.map((s) => s.units)).toEqual([300, 300, 300]);
  const de = purchase.segments.find((s) => s.value === "DE")!;
  expect(de.comparisons[0]!.significant).toBe(true);
  expect(purchase.heterogeneity[0]!.flagged).toBe(true);
  // The report itself is the one without a breakdown.
  const plain = (await (await get(service.url, "/projects/shop/experiments/exp/report")).json()) as {
    metrics: unknown[];
  };
  expect(body.metrics).toEqual(plain.metrics);

  const csv = await get(service.url, "/projects/shop/experiments/exp/report?breakdown=country", "text/csv");
  expect(csv.headers.get("content-type")).toContain("text/csv");
  const lines = (await csv.text()).trim().split("\n");
  expect(lines[0]).toMatch(/^property,metric,segment,label,units,treatment,/);
  expect(lines.filter((l) => l.startsWith("country,purchase,DE,DE,300,treatment,"))).toHaveLength(1);
});

test("a bad property name is a 400; a service without an event store answers 503", async () => {
  const bad = await get(service.url, "/projects/shop/experiments/exp/report?breakdown=no%20spaces");
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/breakdown/);
  const none = await get(bare.url, "/projects/shop/experiments/exp/report?breakdown=country");
  expect(none.status).toBe(503);
});
