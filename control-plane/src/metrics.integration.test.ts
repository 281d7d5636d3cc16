/**
 * The metric catalog and metrics any time, through the API on real dynalite: CRUD with
 * versions and 409s, history and restore, roles, references resolved and pinned, and
 * secondary and guardrail metrics added to and removed from a running experiment.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../../test/support/stack.js";

let stack: Stack;

const conversion = {
  key: "checkout-conversion",
  name: "Checkout conversion",
  type: "unique_conversions",
  eventType: "purchase_completed",
  filters: [{ property: "amount", op: ">", value: 0 }],
  window: { endHours: 168 },
};

const experiment = (key: string, extra: object = {}) => ({
  key,
  name: key,
  type: "experiment",
  variants: [{ key: "control" }, { key: "treatment" }],
  deployments: ["web"],
  primaryMetric: { key: "purchase", type: "unique_conversions", eventType: "purchase_completed" },
  ...extra,
});

beforeAll(async () => {
  stack = await startStack();
  expect((await stack.api("POST", "/projects", { key: "shop", name: "Shop" })).status).toBe(201);
  expect((await stack.api("POST", "/projects/shop/deployments", { key: "web", name: "Website" })).status).toBe(201);
});
afterAll(() => stack?.dispose());

describe("metric catalog", () => {
  it("creates, lists, gets and edits a metric with versions, and answers a stale version with 409", async () => {
    const created = await stack.api("POST", "/projects/shop/metrics", conversion);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...conversion, archived: false, version: 1 });
    expect(created.headers.get("etag")).toBe('"1"');
    expect((await stack.api("POST", "/projects/shop/metrics", conversion)).status).toBe(201); // a retry: same answer
    expect((await stack.api("POST", "/projects/shop/metrics", { ...conversion, name: "Other" })).status).toBe(409);

    const list = await stack.api("GET", "/projects/shop/metrics?q=purchase_completed");
    expect(list.body.map((m: { key: string }) => m.key)).toEqual(["checkout-conversion"]);

    const got = await stack.api("GET", "/projects/shop/metrics/checkout-conversion");
    const put = await stack.api("PUT", "/projects/shop/metrics/checkout-conversion", { ...got.body, name: "Buyers" });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ name: "Buyers", version: 2 });

    const stale = await stack.api(
      "PATCH",
      "/projects/shop/metrics/checkout-conversion",
      { name: "Late" },
      { "if-match": '"1"' },
    );
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: "conflict", details: { currentVersion: 2 } });
    expect((await stack.api("PATCH", "/projects/shop/metrics/checkout-conversion", { name: "x" })).status).toBe(428);

    const patched = await stack.api(
      "PATCH",
      "/projects/shop/metrics/checkout-conversion",
      { window: { endHours: 72 } },
      { "if-match": '"2"' },
    );
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: "Buyers", window: { startHours: 0, endHours: 72 }, version: 3 });
  });

  it("refuses bad definitions with 400 and the zod path", async () => {
    const cases: Array<[object, string]> = [
      [{ ...conversion, key: "funnel-1", type: "funnel", steps: [{ eventType: "a" }] }, "steps"],
      [{ ...conversion, key: "f2", filters: [{ property: "plan", op: "in", value: "pro" }] }, "filters.0.value"],
      [{ ...conversion, key: "w", window: { startHours: 48, endHours: 24 } }, "window.endHours"],
      [{ key: "sum", type: "property_sum", eventType: "purchase" }, "property"],
      [{ ...conversion, key: "typo", evenType: "x" }, "evenType"],
    ];
    for (const [body, path] of cases) {
      const response = await stack.api("POST", "/projects/shop/metrics", body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.code).toBe("validation_failed");
      expect(response.body.error.details.map((d: { path: string[] }) => d.path.join("."))).toContain(path);
    }
    expect((await stack.api("GET", "/projects/shop/metrics/nope")).status).toBe(404);
    expect((await stack.api("GET", "/projects/nowhere/metrics")).status).toBe(404);
  });

  it("keeps every version with its diff, and restores one as a new version", async () => {
    const history = await stack.api("GET", "/projects/shop/metrics/checkout-conversion/versions");
    expect(history.body.map((e: { version: number; action: string }) => [e.version, e.action])).toEqual([
      [1, "create"],
      [2, "update"],
      [3, "update"],
    ]);
    expect(history.body[1].diff).toEqual([
      { type: "CHANGE", path: ["name"], value: "Buyers", oldValue: "Checkout conversion" },
    ]);
    const restored = await stack.api("POST", "/projects/shop/metrics/checkout-conversion/versions/1/restore", {
      version: 3,
    });
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ name: "Checkout conversion", window: { endHours: 168 }, version: 4 });
    expect(restored.body.lastChange.action).toBe("restore v1");
    expect((await stack.api("GET", "/projects/shop/metrics/checkout-conversion/versions/9")).status).toBe(404);
  });

  it("lets viewers read and only editors write", async () => {
    const viewer = (await stack.api("POST", "/tokens", { name: "analyst", role: "viewer", project: "shop" })).body;
    const as = { authorization: `Bearer ${viewer.token}` };
    expect((await stack.api("GET", "/projects/shop/metrics", undefined, as)).status).toBe(200);
    expect((await stack.api("GET", "/projects/shop/metrics/checkout-conversion/versions", undefined, as)).status).toBe(
      200,
    );
    const writes = [
      stack.api("POST", "/projects/shop/metrics", { ...conversion, key: "v" }, as),
      stack.api("PATCH", "/projects/shop/metrics/checkout-conversion", { name: "v", version: 4 }, as),
      stack.api("POST", "/projects/shop/metrics/checkout-conversion/archive", { version: 4 }, as),
      stack.api("POST", "/projects/shop/metrics/checkout-conversion/versions/1/restore", { version: 4 }, as),
    ];
    expect((await Promise.all(writes)).map((r) => r.status)).toEqual([403, 403, 403, 403]);
  });

  it("resolves a reference when the experiment is saved and pins it: a later catalog edit changes nothing", async () => {
    const created = await stack.api(
      "POST",
      "/projects/shop/flags",
      experiment("pinned", {
        primaryMetric: { metric: "checkout-conversion" },
        secondaryMetrics: [{ key: "views", type: "event_totals", eventType: "page_view" }], // inline still works
      }),
    );
    expect(created.status).toBe(201);
    expect(created.body.primaryMetric).toEqual({
      key: "checkout-conversion",
      name: "Checkout conversion",
      type: "unique_conversions",
      eventType: "purchase_completed",
      filters: [{ property: "amount", scope: "event", op: ">", value: 0 }],
      window: { startHours: 0, endHours: 168 },
      catalog: { key: "checkout-conversion", version: 4 },
    });
    expect(created.body.secondaryMetrics).toEqual([
      { key: "views", type: "event_totals", eventType: "page_view", filters: [] },
    ]);

    const edited = await stack.api("PATCH", "/projects/shop/metrics/checkout-conversion", {
      eventType: "order_paid",
      version: 4,
    });
    expect(edited.status).toBe(200);
    const after = (await stack.api("GET", "/projects/shop/flags/pinned")).body;
    expect(after.primaryMetric).toMatchObject({ eventType: "purchase_completed", catalog: { version: 4 } });

    // Saving the reference again on a draft takes the catalog's latest version.
    const updated = await stack.api("PATCH", "/projects/shop/flags/pinned", {
      primaryMetric: { metric: "checkout-conversion" },
      version: after.version,
    });
    expect(updated.status).toBe(200);
    expect(updated.body.primaryMetric).toMatchObject({ eventType: "order_paid", catalog: { version: 5 } });
  });

  it("refuses a reference to an unknown or archived metric with 400 naming the field", async () => {
    const unknown = await stack.api(
      "POST",
      "/projects/shop/flags",
      experiment("unknown-ref", { guardrailMetrics: [{ metric: "nope" }] }),
    );
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details[0].path).toEqual(["guardrailMetrics", "0", "metric"]);

    const archived = await stack.api("POST", "/projects/shop/metrics/checkout-conversion/archive", undefined, {
      "if-match": '"5"',
    });
    expect(archived.body).toMatchObject({ archived: true, version: 6 });
    expect((await stack.api("GET", "/projects/shop/metrics?archived=false")).body).toEqual([]);
    const refused = await stack.api(
      "POST",
      "/projects/shop/flags",
      experiment("archived-ref", { primaryMetric: { metric: "checkout-conversion" } }),
    );
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain("archived");
    // The experiment that copied it keeps its copy.
    expect((await stack.api("GET", "/projects/shop/flags/pinned")).body.primaryMetric.catalog.version).toBe(5);
    expect((await stack.api("PATCH", "/projects/shop/metrics/checkout-conversion", { version: 6 })).status).toBe(409);
    const back = await stack.api("POST", "/projects/shop/metrics/checkout-conversion/unarchive", { version: 6 });
    expect(back.body).toMatchObject({ archived: false, version: 7 });
  });
});

describe("metrics any time", () => {
  it("adds and removes secondary and guardrail metrics on a running experiment, recorded in its period", async () => {
    await stack.api("POST", "/projects/shop/metrics", {
      key: "errors",
      type: "event_totals",
      eventType: "error",
      direction: "decrease",
    });
    const created = await stack.api("POST", "/projects/shop/flags", experiment("live"));
    const started = await stack.api("POST", "/projects/shop/flags/live/start", { version: created.body.version });
    expect(started.body.status).toBe("running");

    const added = await stack.api("PATCH", "/projects/shop/flags/live", {
      secondaryMetrics: [{ key: "revenue", type: "property_sum", eventType: "purchase_completed", property: "amount" }],
      guardrailMetrics: [{ metric: "errors" }],
      version: started.body.version,
    });
    expect(added.status).toBe(200);
    const period = added.body.analysisPeriods.at(-1);
    expect(period.metricChanges).toEqual([
      { at: expect.any(String), action: "added", role: "secondary", metric: "revenue" },
      { at: expect.any(String), action: "added", role: "guardrail", metric: "errors" },
    ]);
    expect(period.settings.secondaryMetrics.map((m: { key: string }) => m.key)).toEqual(["revenue"]);
    expect(period.settings.guardrailMetrics[0]).toMatchObject({ key: "errors", catalog: { key: "errors" } });

    // Redefining a kept metric while running would rewrite past looks: refused.
    const redefined = await stack.api("PATCH", "/projects/shop/flags/live", {
      secondaryMetrics: [{ key: "revenue", type: "property_sum", eventType: "purchase_completed", property: "net" }],
      version: added.body.version,
    });
    expect(redefined.status).toBe(409);
    expect(redefined.body.error.message).toContain("remove it and add the new definition under another key");

    const removed = await stack.api("PATCH", "/projects/shop/flags/live", {
      secondaryMetrics: [],
      version: added.body.version,
    });
    expect(removed.status).toBe(200);
    const after = removed.body.analysisPeriods.at(-1);
    expect(after.metricChanges.map((c: { action: string; metric: string }) => `${c.action} ${c.metric}`)).toEqual([
      "added revenue",
      "added errors",
      "removed revenue",
    ]);
    expect(after.settings.secondaryMetrics).toEqual([]);

    const history = (await stack.api("GET", "/projects/shop/flags/live/versions")).body;
    const last = history.at(-1);
    expect(last.diff.some((d: { path: string[] }) => d.path[0] === "secondaryMetrics")).toBe(true);
    expect(last.diff.some((d: { path: string[] }) => d.path[0] === "analysisPeriods")).toBe(true);
  });

  it("keeps the primary metric, method and confidence locked while running", async () => {
    const live = (await stack.api("GET", "/projects/shop/flags/live")).body;
    const primary = await stack.api("PATCH", "/projects/shop/flags/live", {
      primaryMetric: { key: "purchase", type: "event_totals", eventType: "purchase_completed" },
      version: live.version,
    });
    expect(primary.status).toBe(409);
    expect(primary.body.error.message).toContain("primaryMetric cannot change while the experiment runs");
    expect(primary.body.error.message).toContain("new analysis period");
    for (const patch of [{ statisticalMethod: "ttest" }, { confidenceLevel: 0.9 }]) {
      const response = await stack.api("PATCH", "/projects/shop/flags/live", { ...patch, version: live.version });
      expect(response.status).toBe(409);
    }
  });

  it("records a metric added to a stopped experiment in its last period", async () => {
    const live = (await stack.api("GET", "/projects/shop/flags/live")).body;
    const stopped = await stack.api("POST", "/projects/shop/flags/live/stop", { version: live.version });
    const added = await stack.api("PATCH", "/projects/shop/flags/live", {
      secondaryMetrics: [{ key: "signups", type: "unique_conversions", eventType: "signup" }],
      version: stopped.body.version,
    });
    expect(added.status).toBe(200);
    const period = added.body.analysisPeriods.at(-1);
    expect(period.stoppedAt).toBeDefined();
    expect(period.metricChanges.at(-1)).toMatchObject({ action: "added", role: "secondary", metric: "signups" });
    expect(period.settings.secondaryMetrics.map((m: { key: string }) => m.key)).toEqual(["signups"]);
  });

  it("still accepts the four old inline metric shapes unchanged", async () => {
    const old = [
      { key: "a", type: "unique_conversions", eventType: "purchase" },
      { key: "b", type: "event_totals", eventType: "view", capValue: 50 },
      { key: "c", type: "property_sum", eventType: "purchase", property: "amount", capPercentile: 0.95 },
      { key: "d", type: "property_average", eventType: "purchase", property: "amount", direction: "decrease" },
    ];
    const created = await stack.api(
      "POST",
      "/projects/shop/flags",
      experiment("old-shapes", { primaryMetric: old[0], secondaryMetrics: old.slice(1) }),
    );
    expect(created.status).toBe(201);
    expect(created.body.secondaryMetrics).toEqual(old.slice(1).map((m) => ({ ...m, filters: [] })));
  });
});
