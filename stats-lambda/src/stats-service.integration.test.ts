import { eventMessage, exposureMessage } from "../../test/support/queue-messages.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueueMessage } from "../../shared/events.js";
import { sign } from "../../shared/ingest-signature.js";
import { startDynalite, type LocalDynamo } from "../../shared/node/local-dynalite.js";
import { controlPlaneRecords, runningExperiment as experiment } from "../../test/support/control-plane-records.js";
import { startStatsService } from "./server.js";
import type { Report } from "./report.js";
import { reportSchema } from "../../shared/report-schema.js";

const SECRET = "test-ingest-secret";
let dynamo: LocalDynamo;
let service: Awaited<ReturnType<typeof startStatsService>>;
let token: string;
let records: Awaited<ReturnType<typeof controlPlaneRecords>>;
let messageId = 0;

async function deliver(messages: Array<{ id?: string; body: QueueMessage | object }>, signature?: string) {
  const body = JSON.stringify({ messages: messages.map((m) => ({ id: m.id ?? `m${++messageId}`, body: m.body })) });
  const response = await fetch(`${service.url}/ingest`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-signature": signature ?? (await sign(SECRET, body)) },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const exposure = exposureMessage;
const events = (...list: Parameters<typeof eventMessage>[0]) => eventMessage(list, 1_700_000_100_000);

const report = async (key: string, accept = "application/json") => {
  const response = await fetch(`${service.url}/projects/shop/experiments/${key}/report`, {
    headers: { authorization: `Bearer ${token}`, accept },
  });
  return { status: response.status, text: await response.text() };
};
const json = async (key: string) => JSON.parse((await report(key)).text) as Report;
const variantOf = (r: Report, metric: string, variant: string) =>
  r.metrics.find((m) => m.key === metric)!.variants.find((v) => v.variant === variant)!;

beforeAll(async () => {
  dynamo = await startDynalite();
  service = await startStatsService({ dynamoEndpoint: dynamo.endpoint, ingestSecret: SECRET });
  records = await controlPlaneRecords(dynamo.endpoint);
  await records.project("shop");
  await records.experiment("shop", experiment("exp"));
  await records.experiment("shop", experiment("draft", { status: "draft" }));
  token = await records.token("viewer", "shop");
});
afterAll(async () => {
  await service.close();
  await dynamo.close();
});

describe("ingest", () => {
  it("rejects unsigned, wrongly signed and stale deliveries", async () => {
    const body = JSON.stringify({ messages: [] });
    for (const signature of [
      "",
      "t=1,v1=00",
      await sign("wrong-secret", body),
      await sign(SECRET, body, Math.floor(Date.now() / 1000) - 3600),
    ]) {
      const response = await fetch(`${service.url}/ingest`, {
        method: "POST",
        headers: signature ? { "x-signature": signature } : {},
        body,
      });
      expect(response.status).toBe(401);
    }
  });

  it("counts exposures once, and a user seen in two variants once, as a data-quality issue", async () => {
    const first = await deliver([
      { body: exposure("u1", "exp", "control") },
      { body: exposure("u2", "exp", "treatment") },
      { body: exposure("u3", "draft", "control") },
    ]);
    expect(first.body).toMatchObject({ exposures: 2 }); // drafts are not counted
    await deliver([
      { body: exposure("u1", "exp", "control") },
      { body: exposure("u1", "exp", "treatment") },
      { body: exposure("u1", "exp", "treatment") },
    ]);
    const r = await json("exp");
    expect(r.variants.map((v) => v.exposures)).toEqual([1, 1]);
    expect(r.dataQuality.multipleVariantUnits).toBe(1);
  });

  it("counts events after the first exposure, per metric type; ignores redeliveries and repeated ids", async () => {
    const batch = [
      {
        id: "batch-1",
        body: events(
          { user_id: "u1", event_type: "purchase", event_properties: { amount: 10 }, insert_id: "p1" },
          { user_id: "u1", event_type: "pageview" },
          { user_id: "u1", event_type: "pageview" },
        ),
      },
      {
        id: "batch-2",
        body: events(
          { user_id: "u2", event_type: "purchase", event_properties: { amount: "30" } },
          { user_id: "u2", event_type: "purchase", event_properties: { amount: 50 } },
        ),
      },
      {
        id: "batch-3",
        body: events({
          user_id: "u2",
          event_type: "purchase",
          time: 1_600_000_000_000,
          event_properties: { amount: 999 },
        }),
      }, // before exposure
    ];
    expect((await deliver(batch)).body).toMatchObject({ events: 5 });
    expect((await deliver(batch)).body).toMatchObject({ events: 0, duplicates: 5 }); // the same batch again
    expect(
      (
        await deliver([
          {
            body: events({ user_id: "u1", event_type: "purchase", event_properties: { amount: 10 }, insert_id: "p1" }),
          },
        ])
      ).body,
    ).toMatchObject({ events: 0 });

    const r = await json("exp");
    expect(variantOf(r, "purchase", "control")).toMatchObject({ n: 1, mean: 1 });
    expect(variantOf(r, "purchase", "treatment")).toMatchObject({ n: 1, mean: 1 });
    expect(variantOf(r, "pageviews", "control").mean).toBe(2);
    expect(variantOf(r, "revenue", "treatment").mean).toBe(80);
    expect(variantOf(r, "basket", "treatment")).toMatchObject({ n: 1, mean: 40 });
    expect(variantOf(r, "purchase", "treatment").comparison?.verdict).toBe("insufficient_data");
  });

  it("unpacks batch messages, idempotently", async () => {
    const batch = {
      type: "batch",
      messages: [
        exposure("b1", "exp", "treatment"),
        events({ user_id: "b1", event_type: "pageview" }),
        events({ user_id: "b1", event_type: "pageview" }),
      ],
    };
    expect((await deliver([{ id: "packed-1", body: batch }])).body).toMatchObject({ exposures: 1, events: 2 });
    expect((await deliver([{ id: "packed-1", body: batch }])).body).toMatchObject({
      exposures: 0,
      events: 0,
      duplicates: 3,
    });
  });

  it("skips malformed messages without blocking the batch", async () => {
    const result = await deliver([{ body: { type: "nonsense" } }, { body: exposure("u9", "exp", "treatment") }]);
    expect(result.body).toMatchObject({ rejected: 1, exposures: 1 });
  });
});

describe("report", () => {
  it("lets a page on another origin (the console) read reports with a bearer token, errors included", async () => {
    const preflight = await fetch(`${service.url}/projects/shop/experiments/exp/report`, {
      method: "OPTIONS",
      headers: {
        origin: "http://console.example",
        "access-control-request-method": "GET",
        "access-control-request-headers": "authorization",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    const refused = await fetch(`${service.url}/projects/shop/experiments/exp/report`, {
      headers: { origin: "http://console.example" },
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe("*");
    // Ingest is for the edge's consumer only: no CORS there.
    const ingest = await fetch(`${service.url}/ingest`, {
      method: "OPTIONS",
      headers: { origin: "http://console.example", "access-control-request-method": "POST" },
    });
    expect(ingest.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("calls a clear effect significant, with SRM, CSV and a time series", async () => {
    const day = 86_400_000;
    const start = 1_700_000_000_000;
    const messages: Array<{ body: QueueMessage }> = [];
    // 400 users per arm over 4 days; treatment converts 30%, control 10%.
    for (let i = 0; i < 800; i++) {
      const variant = i % 2 ? "treatment" : "control";
      const time = start + (Math.floor(i / 2) % 4) * day; // both arms every day
      messages.push({ body: { ...exposure(`r${i}`, "clear", variant, time) } });
      const inArm = Math.floor(i / 2);
      if (inArm % 10 < (variant === "treatment" ? 3 : 1))
        messages.push({
          body: events({
            user_id: `r${i}`,
            event_type: "purchase",
            time: time + 1000,
            event_properties: { amount: 20 },
          }),
        });
    }
    await records.experiment("shop", experiment("clear"));
    for (let i = 0; i < messages.length; i += 500) await deliver(messages.slice(i, i + 500));

    const r = await json("clear");
    expect(r.variants.map((v) => v.exposures)).toEqual([400, 400]);
    expect(r.srm.mismatch).toBe(false);
    const treatment = variantOf(r, "purchase", "treatment");
    expect(treatment.mean).toBeCloseTo(0.3, 5);
    expect(treatment.comparison).toMatchObject({ verdict: "significant_positive" });
    expect(treatment.comparison!.ci![0]).toBeGreaterThan(0); // the absolute interval excludes 0
    expect(treatment.comparison!.relativeCi![0]).toBeGreaterThan(0); // and so does the relative one
    expect(treatment.comparison!.relativeCi![0]).toBeLessThan(treatment.comparison!.lift!);
    expect(treatment.comparison!.relativeCi![1]).toBeGreaterThan(treatment.comparison!.lift!);
    expect(treatment.comparison).toMatchObject({ trustworthy: true, warnings: [] });
    expect(r.metrics[0]!.timeSeries).toHaveLength(4);
    expect(r.metrics[0]!.timeSeries.at(-1)!.variants[1]!.pValue).toBe(treatment.comparison!.pValue);

    const csv = await report("clear", "text/csv");
    expect(csv.text.split("\n")[0]).toContain("metric,role,variant");
    expect(csv.text).toContain("purchase,primary,treatment,false,400,400,0.3");
  });

  it("reports no difference or lift while an arm has no users", async () => {
    await records.experiment("shop", experiment("lopsided"));
    await deliver([
      { body: exposure("l1", "lopsided", "control") },
      { body: events({ user_id: "l1", event_type: "purchase" }) },
    ]);
    const treatment = variantOf(await json("lopsided"), "purchase", "treatment");
    expect(treatment).toMatchObject({ exposures: 0, n: 0 });
    const comparison = JSON.parse(JSON.stringify(treatment.comparison)) as Record<string, unknown>;
    expect(comparison).toMatchObject({ difference: null, lift: null, ci: null, verdict: "insufficient_data" });
  });

  it("documents the report API (OpenAPI, with the report's own schema) and serves its docs without a CDN", async () => {
    const doc = (await (await fetch(`${service.url}/openapi.json`)).json()) as {
      paths: Record<
        string,
        Record<
          string,
          { summary?: string; responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }
        >
      >;
    };
    const report = doc.paths["/projects/{project}/experiments/{key}/report"]!["get"]!;
    expect(report.summary).toBeTruthy();
    expect(JSON.stringify(report.responses["200"]!.content!["application/json"]!.schema)).toContain("relativeCi");
    expect(doc.paths["/projects/{project}/sample-plan"]!["post"]!.summary).toBeTruthy();
    expect(doc.paths["/ingest"]).toBeUndefined();
    const page = await (await fetch(`${service.url}/docs`)).text();
    expect(page).toContain("/docs/swagger-ui-bundle.js");
    expect(page).not.toMatch(/https?:\/\//);
    expect((await fetch(`${service.url}/docs/swagger-ui.css`)).status).toBe(200);
  });

  it("answers with a report that matches its documented schema", async () => {
    const parsed = reportSchema.safeParse(JSON.parse((await report("clear")).text));
    expect(parsed.success, JSON.stringify(parsed.error?.issues.slice(0, 3))).toBe(true);
  });

  it("needs a token with access to the project", async () => {
    expect((await fetch(`${service.url}/projects/shop/experiments/exp/report`)).status).toBe(401);
    expect((await report("nope")).status).toBe(404);
  });
});

describe("unit of analysis, allocations, periods and plans", () => {
  // Sent now: newer than the stats service's cached catalog, so it reads the experiments each test writes.
  const exposed = (
    over: Partial<Extract<QueueMessage, { type: "exposures" }>>,
    flagKey: string,
    variant: string,
    allocation?: string,
  ): QueueMessage => ({
    type: "exposures",
    project: "shop",
    deployment: "web",
    time: Date.now(),
    source: "remote-evaluation",
    exposures: [{ flagKey, variant, ...(allocation ? { allocation } : {}) }],
    ...over,
  });

  it("counts groups for a group-bucketed experiment, found through the events' groups", async () => {
    await records.experiment("shop", experiment("by-company", { bucketing: { unit: "group", groupType: "company" } }));
    await deliver([
      { body: exposed({ userId: "g-u1", groups: { company: "acme" } }, "by-company", "control") },
      { body: exposed({ userId: "g-u2", groups: { company: "acme" } }, "by-company", "control") },
      { body: exposed({ userId: "g-u3", groups: { company: "globex" } }, "by-company", "treatment") },
      { body: exposed({ userId: "g-u4" }, "by-company", "treatment") }, // no group: not a unit of this experiment
    ]);
    await deliver([
      {
        body: {
          type: "events",
          project: "shop",
          deployment: "web",
          events: [
            { user_id: "g-u2", event_type: "purchase", time: Date.now(), groups: { company: ["acme"] } },
            // the same group converts once
            { user_id: "g-u1", event_type: "purchase", time: Date.now(), groups: { company: "acme" } },
            { user_id: "g-u3", event_type: "purchase", time: Date.now() }, // no group on the event: not attributable
          ],
        },
      },
    ]);
    const r = await json("by-company");
    expect(r.variants.map((v) => v.exposures)).toEqual([1, 1]);
    expect(variantOf(r, "purchase", "control").mean).toBe(1);
    expect(variantOf(r, "purchase", "treatment").mean).toBe(0);
  });

  it("counts devices for a device-bucketed experiment: one person on two devices is two units", async () => {
    await records.experiment("shop", experiment("by-device", { bucketing: { unit: "device_id" } }));
    await deliver([
      { body: exposed({ userId: "person", deviceId: "phone" }, "by-device", "control") },
      { body: exposed({ userId: "person", deviceId: "laptop" }, "by-device", "treatment") },
    ]);
    const r = await json("by-device");
    expect(r.variants.map((v) => v.exposures)).toEqual([1, 1]);
    expect(r.dataQuality.multipleVariantUnits).toBe(0);
  });

  it("checks the sample ratio against the allocation each unit was exposed under", async () => {
    await records.experiment("shop", experiment("segmented"));
    const messages = [];
    for (let i = 0; i < 300; i++)
      messages.push({
        body: exposed(
          { userId: `s-${i}` },
          "segmented",
          i % 10 === 0 ? "treatment" : "control",
          "control=90,treatment=10",
        ),
      });
    await deliver(messages);
    const r = await json("segmented");
    expect(r.variants.map((v) => v.exposures)).toEqual([270, 30]);
    expect(r.srm).toMatchObject({
      mismatch: false,
      strata: [{ allocation: { control: 90, treatment: 10 }, counts: { control: 270, treatment: 30 } }],
    });
  });

  it("caps revenue as it arrives through ingest, and shows the cap", async () => {
    await records.experiment("shop", experiment("whale"));
    const messages = [];
    for (let i = 0; i < 200; i++) {
      const user = `w-${i}`;
      messages.push({ body: exposed({ userId: user }, "whale", i % 2 ? "treatment" : "control") });
      if (i % 4 < 2)
        messages.push({
          body: events({
            user_id: user,
            event_type: "purchase",
            time: Date.now() + 1,
            event_properties: { amount: i === 1 ? 1_000_000 : 20 + (i % 7) },
          }),
        });
    }
    await deliver(messages);
    const revenue = (await json("whale")).metrics.find((m) => m.key === "revenue")!;
    expect(revenue.cap).toMatchObject({ percentile: 0.975 }); // few buyers: the default range's lowest
    const treatment = revenue.variants[1]!;
    expect(treatment.uncappedMean).toBeGreaterThan(5000);
    expect(treatment.mean).toBeLessThan(20);
  });

  it("starts a restarted experiment's data afresh, and keeps the earlier period's report", async () => {
    const period = (startedAt: number, stoppedAt?: number) => ({
      startedAt: new Date(startedAt).toISOString(),
      ...(stoppedAt ? { stoppedAt: new Date(stoppedAt).toISOString() } : {}),
      settings: experiment("x"),
    });
    const first = Date.now() - 60_000;
    await records.experiment("shop", experiment("restarted", { analysisPeriods: [period(first)] }));
    await deliver([
      { body: exposed({ userId: "p-1" }, "restarted", "control") },
      { body: exposed({ userId: "p-2" }, "restarted", "treatment") },
    ]);
    const restart = Date.now();
    await records.experiment(
      "shop",
      experiment("restarted", { analysisPeriods: [period(first, restart), period(restart)] }),
    );
    await deliver([
      // the same user, re-exposed in the new period
      { body: exposed({ userId: "p-1", time: restart + 1 }, "restarted", "treatment") },
      // sent before the restart, delivered after it
      { body: exposed({ userId: "p-3", time: restart - 5000 }, "restarted", "control") },
    ]);
    const latest = await json("restarted");
    expect(latest.analysisPeriod).toMatchObject({ index: 2, periods: 2 });
    expect(latest.variants.map((v) => v.exposures)).toEqual([0, 1]);
    expect(latest.dataQuality.multipleVariantUnits).toBe(0);
    const earlier = JSON.parse(
      await fetch(`${service.url}/projects/shop/experiments/restarted/report?period=1`, {
        headers: { authorization: `Bearer ${token}` },
      }).then((r) => r.text()),
    ) as Report;
    expect(earlier.variants.map((v) => v.exposures)).toEqual([1, 1]);
    expect(
      (
        await fetch(`${service.url}/projects/shop/experiments/restarted/report?period=3`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await fetch(`${service.url}/projects/shop/experiments/restarted/report?period=x`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).status,
    ).toBe(400);
  });

  it("plans an experiment from an entered baseline", async () => {
    const plan = async (body: unknown) => {
      const response = await fetch(`${service.url}/projects/shop/sample-plan`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return {
        status: response.status,
        body: (await response.json()) as {
          fixedHorizon: { perVariant: number[]; days: number };
          sequential: { perVariant: number[] };
          error?: unknown;
        },
      };
    };
    const ok = await plan({ baselineMean: 0.1, minimumDetectableEffect: 0.05, unitsPerDay: 10_000 });
    expect(ok.status).toBe(200);
    expect(Math.abs(ok.body.fixedHorizon.perVariant[0]! / 57_756 - 1)).toBeLessThan(0.002);
    expect(ok.body.sequential.perVariant[0]).toBeGreaterThan(ok.body.fixedHorizon.perVariant[0]!);
    expect(ok.body.fixedHorizon.days).toBe(12);
    const hostile = [
      {},
      [1],
      "x",
      { baselineMean: 2, minimumDetectableEffect: 0.05 },
      { baselineMean: 10, metricType: "property_sum", minimumDetectableEffect: 0.05 },
      { baselineMean: 0.1, minimumDetectableEffect: -1 },
      { baselineMean: 1e-300, baselineVariance: 1e300, metricType: "property_sum", minimumDetectableEffect: 1e-6 },
      { baselineMean: 0.1, minimumDetectableEffect: 0.05, weights: [1e-9, 50] },
      { baselineMean: 0.1, minimumDetectableEffect: 0.05, unitsPerDay: -5 },
      { baselineMean: 0.1, minimumDetectableEffect: 0.05, confidenceLevel: 1 },
      // a typo is refused, not ignored
      { baselineMean: 0.1, minimumDetectableEffect: 0.05, minimumDetectableEfect: 0.5 },
    ];
    for (const bad of hostile) {
      expect((await plan(bad)).status).toBe(400);
    }
  });

  it("refuses a plan whose treatment rate no conversion rate can be", async () => {
    const response = await fetch(`${service.url}/projects/shop/sample-plan`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ baselineMean: 0.9999999999999999, minimumDetectableEffect: 10 }),
    });
    expect(response.status).toBe(400); // was 200, "2 units"
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toMatch(/Impossible/);
  });

  it("answers 404, not 500, for a report of a key longer than any key", async () => {
    for (const path of [
      `/projects/shop/experiments/${"k".repeat(5000)}/report`,
      `/experiments/${"k".repeat(5000)}/report?project=shop`,
    ]) {
      const response = await fetch(`${service.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
  });
});
