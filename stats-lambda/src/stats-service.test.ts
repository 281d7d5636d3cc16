import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueueMessage } from "../../shared/events.js";
import { sign } from "../../shared/ingest-signature.js";
import { startDynalite, type LocalDynamo } from "../../shared/node/local-dynalite.js";
import { controlPlaneRecords, runningExperiment as experiment } from "../../test/support/control-plane-records.js";
import { startStatsService } from "./server.js";
import type { Report } from "./report.js";

const SECRET = "test-ingest-secret";
let dynamo: LocalDynamo;
let service: Awaited<ReturnType<typeof startStatsService>>;
let token: string;
let records: Awaited<ReturnType<typeof controlPlaneRecords>>;
let messageId = 0;

async function deliver(messages: Array<{ id?: string; body: QueueMessage | object }>, signature?: string) {
  const body = JSON.stringify({ messages: messages.map((m) => ({ id: m.id ?? `m${++messageId}`, body: m.body })) });
  const response = await fetch(`${service.url}/ingest`, { method: "POST", headers: { "content-type": "application/json", "x-signature": signature ?? (await sign(SECRET, body)) }, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const exposure = (user: string, flagKey: string, variant: string, time = 1_700_000_000_000): QueueMessage => ({
  type: "exposures", project: "shop", deployment: "web", userId: user, time, source: "remote-evaluation", exposures: [{ flagKey, variant }],
});
const events = (...list: Array<{ user_id: string; event_type: string; time?: number; event_properties?: Record<string, unknown>; insert_id?: string }>): QueueMessage => ({
  type: "events", project: "shop", deployment: "web", events: list.map((e) => ({ time: 1_700_000_100_000, ...e })),
});

const report = async (key: string, accept = "application/json") => {
  const response = await fetch(`${service.url}/projects/shop/experiments/${key}/report`, { headers: { authorization: `Bearer ${token}`, accept } });
  return { status: response.status, text: await response.text() };
};
const json = async (key: string) => JSON.parse((await report(key)).text) as Report;
const variantOf = (r: Report, metric: string, variant: string) => r.metrics.find((m) => m.key === metric)!.variants.find((v) => v.variant === variant)!;

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
    for (const signature of ["", "t=1,v1=00", await sign("wrong-secret", body), await sign(SECRET, body, Math.floor(Date.now() / 1000) - 3600)]) {
      const response = await fetch(`${service.url}/ingest`, { method: "POST", headers: signature ? { "x-signature": signature } : {}, body });
      expect(response.status).toBe(401);
    }
  });

  it("counts exposures once, and a user seen in two variants once, as a data-quality issue", async () => {
    const first = await deliver([{ body: exposure("u1", "exp", "control") }, { body: exposure("u2", "exp", "treatment") }, { body: exposure("u3", "draft", "control") }]);
    expect(first.body).toMatchObject({ exposures: 2 }); // drafts are not counted
    await deliver([{ body: exposure("u1", "exp", "control") }, { body: exposure("u1", "exp", "treatment") }, { body: exposure("u1", "exp", "treatment") }]);
    const r = await json("exp");
    expect(r.variants.map((v) => v.exposures)).toEqual([1, 1]);
    expect(r.dataQuality.multipleVariantUsers).toBe(1);
  });

  it("counts events after the first exposure, per metric type, and ignores redeliveries and repeated insert_ids", async () => {
    const batch = [
      { id: "batch-1", body: events({ user_id: "u1", event_type: "purchase", event_properties: { amount: 10 }, insert_id: "p1" }, { user_id: "u1", event_type: "pageview" }, { user_id: "u1", event_type: "pageview" }) },
      { id: "batch-2", body: events({ user_id: "u2", event_type: "purchase", event_properties: { amount: "30" } }, { user_id: "u2", event_type: "purchase", event_properties: { amount: 50 } }) },
      { id: "batch-3", body: events({ user_id: "u2", event_type: "purchase", time: 1_600_000_000_000, event_properties: { amount: 999 } }) }, // before exposure
    ];
    expect((await deliver(batch)).body).toMatchObject({ events: 5 });
    expect((await deliver(batch)).body).toMatchObject({ events: 0, duplicates: 5 }); // the same batch again
    expect((await deliver([{ body: events({ user_id: "u1", event_type: "purchase", event_properties: { amount: 10 }, insert_id: "p1" }) }])).body).toMatchObject({ events: 0 });

    const r = await json("exp");
    expect(variantOf(r, "purchase", "control")).toMatchObject({ n: 1, mean: 1 });
    expect(variantOf(r, "purchase", "treatment")).toMatchObject({ n: 1, mean: 1 });
    expect(variantOf(r, "pageviews", "control").mean).toBe(2);
    expect(variantOf(r, "revenue", "treatment").mean).toBe(80);
    expect(variantOf(r, "basket", "treatment")).toMatchObject({ n: 1, mean: 40 });
    expect(variantOf(r, "purchase", "treatment").comparison?.verdict).toBe("insufficient_data");
  });

  it("unpacks batch messages, idempotently", async () => {
    const batch = { type: "batch", messages: [exposure("b1", "exp", "treatment"), events({ user_id: "b1", event_type: "pageview" }), events({ user_id: "b1", event_type: "pageview" })] };
    expect((await deliver([{ id: "packed-1", body: batch }])).body).toMatchObject({ exposures: 1, events: 2 });
    expect((await deliver([{ id: "packed-1", body: batch }])).body).toMatchObject({ exposures: 0, events: 0, duplicates: 3 });
  });

  it("skips malformed messages without blocking the batch", async () => {
    const result = await deliver([{ body: { type: "nonsense" } }, { body: exposure("u9", "exp", "treatment") }]);
    expect(result.body).toMatchObject({ rejected: 1, exposures: 1 });
  });
});

describe("report", () => {
  it("calls a clear effect significant, with SRM, CSV and a time series", async () => {
    const day = 86_400_000;
    const start = 1_700_000_000_000;
    const messages: Array<{ body: QueueMessage }> = [];
    // 400 users per arm over 4 days; treatment converts 30%, control 10%.
    for (let i = 0; i < 800; i++) {
      const variant = i % 2 ? "treatment" : "control";
      const time = start + (i % 4) * day;
      messages.push({ body: { ...exposure(`r${i}`, "clear", variant, time) } });
      const inArm = Math.floor(i / 2);
      if (inArm % 10 < (variant === "treatment" ? 3 : 1)) messages.push({ body: events({ user_id: `r${i}`, event_type: "purchase", time: time + 1000, event_properties: { amount: 20 } }) });
    }
    await records.experiment("shop", experiment("clear"));
    for (let i = 0; i < messages.length; i += 500) await deliver(messages.slice(i, i + 500));

    const r = await json("clear");
    expect(r.variants.map((v) => v.exposures)).toEqual([400, 400]);
    expect(r.srm.mismatch).toBe(false);
    const treatment = variantOf(r, "purchase", "treatment");
    expect(treatment.mean).toBeCloseTo(0.3, 5);
    expect(treatment.comparison).toMatchObject({ verdict: "significant_positive" });
    expect(treatment.comparison!.ci[0]).toBeGreaterThan(0); // the absolute interval excludes 0
    expect(treatment.comparison!.relativeCi[0]).toBeLessThan(treatment.comparison!.lift);
    expect(treatment.comparison!.relativeCi[1]).toBeGreaterThan(treatment.comparison!.lift);
    expect(r.metrics[0]!.timeSeries).toHaveLength(4);
    expect(r.metrics[0]!.timeSeries.at(-1)!.variants[1]!.pValue).toBe(treatment.comparison!.pValue);

    const csv = await report("clear", "text/csv");
    expect(csv.text.split("\n")[0]).toContain("metric,role,variant");
    expect(csv.text).toContain("purchase,primary,treatment,false,400,400,0.3");
  });

  it("reports no difference or lift while an arm has no users", async () => {
    await records.experiment("shop", experiment("lopsided"));
    await deliver([{ body: exposure("l1", "lopsided", "control") }, { body: events({ user_id: "l1", event_type: "purchase" }) }]);
    const treatment = variantOf(await json("lopsided"), "purchase", "treatment");
    expect(treatment).toMatchObject({ exposures: 0, n: 0 });
    const comparison = JSON.parse(JSON.stringify(treatment.comparison)) as Record<string, unknown>;
    expect(comparison).toMatchObject({ difference: null, lift: null, ci: [null, null], verdict: "insufficient_data" });
  });

  it("needs a token with access to the project", async () => {
    expect((await fetch(`${service.url}/projects/shop/experiments/exp/report`)).status).toBe(401);
    expect((await report("nope")).status).toBe(404);
  });
});
