/**
 * Metrics any time, end to end with Amplitude's own SDKs: users exposed through the edge by
 * `@amplitude/experiment-node-server` (remote evaluation, exposures tracked), events sent by
 * `@amplitude/analytics-node` to the edge's `/2/httpapi` (a three-step funnel done fully, partly,
 * out of order, partly before the exposure), and only then a funnel metric from the catalog added
 * to the running experiment. The report must compute it over everything already in the event
 * store, with the per-variant units and conversions this file derives on its own from what it
 * sent and what the SDK answered, mark it as added later, and the console must show the same.
 */
import { createInstance } from "@amplitude/analytics-node";
import { Experiment } from "@amplitude/experiment-node-server";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, screenshot } from "../support/browser.js";
import { type FullStack, startFullStack } from "../support/stack.js";

const USERS = 300;
const FLAG = "checkout-flow";
const STEPS = ["view_item", "add_to_cart", "purchase"] as const;
type Step = (typeof STEPS)[number];
type Variant = "control" | "treatment";

/** What one user does: steps before the exposure (sent before it), then steps after it, in this order. */
interface Plan {
  before: Step[];
  after: Step[];
}
const [VIEW, CART, BUY] = STEPS;
const PLANS: Plan[] = [
  { before: [], after: [VIEW, CART, BUY] }, // completes
  { before: [], after: [VIEW, CART] }, // stops after two steps
  { before: [], after: [VIEW] }, // stops after one
  { before: [], after: [CART, VIEW, BUY] }, // out of order: no cart after the view
  { before: [], after: [VIEW, BUY, CART, BUY] }, // out of order, then completes
  { before: [VIEW], after: [CART, BUY] }, // the first step only before the exposure
  { before: [VIEW, CART, BUY], after: [] }, // all of it before the exposure
  { before: [VIEW, CART], after: [VIEW, CART, BUY] }, // started before, done again after
  { before: [], after: [] }, // exposed, nothing else
];
const planOf = (i: number) => PLANS[(i * 7 + Math.floor(i / PLANS.length)) % PLANS.length]!;

interface Sent {
  user: string;
  step: Step;
  time: number;
  beforeExposure: boolean;
}

/** The funnel as docs/metrics.md defines it: each step's earliest event strictly after the previous step's. */
function converts(events: Sent[]): boolean {
  let previous = -Infinity;
  let first: number | undefined;
  for (const step of STEPS) {
    const next = events
      .filter((e) => !e.beforeExposure && e.step === step && e.time > previous)
      .reduce((min, e) => Math.min(min, e.time), Infinity);
    if (next === Infinity) return false;
    first ??= next;
    previous = next;
  }
  return previous - first! < 168 * 3_600_000;
}

let stack: FullStack;
let browser: Browser;
let clientKey: string;
let serverKey: string;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startFullStack(), launchChromium()]);
  expect((await stack.api("POST", "/projects", { key: "shop", name: "Shop" })).status).toBe(201);
  const deployment = await stack.api("POST", "/projects/shop/deployments", { key: "web", name: "Web" });
  ({ clientKey, serverKey } = deployment.body);
}, 30_000);
afterAll(async () => {
  await browser?.close();
  await stack?.dispose();
});

describe("a funnel metric added to a running experiment after its data", () => {
  it("is computed over the whole period, exactly, and the console shows the same numbers", async () => {
    const created = await stack.api("POST", "/projects/shop/flags", {
      key: FLAG,
      name: "Checkout flow",
      type: "experiment",
      variants: [{ key: "control" }, { key: "treatment" }],
      deployments: ["web"],
      primaryMetric: { key: "purchases", type: "unique_conversions", eventType: BUY },
    });
    expect(created.status).toBe(201);
    const started = await stack.api("POST", `/projects/shop/flags/${FLAG}/start`, { version: created.body.version });
    expect(started.status).toBe(200);

    const experiment = Experiment.initializeRemote(serverKey, { serverUrl: stack.edgeUrl, fetchRetries: 0 });
    // A third of the users in Germany, as the SDK's user field says: the edge keeps it with the exposure.
    const countryOf = (userId: string) => (Number(userId.split("-")[1]) % 3 === 0 ? "DE" : "US");
    const variantOf = async (userId: string, tracksExposure: boolean) =>
      (await experiment.fetchV2({ user_id: userId, country: countryOf(userId) }, { tracksExposure }))[FLAG]?.key as
        | Variant
        | undefined;
    await expect.poll(() => variantOf("probe", false), { timeout: 10_000 }).toMatch(/^(control|treatment)$/);

    const analytics = createInstance();
    await analytics.init(clientKey, {
      serverUrl: `${stack.edgeUrl}/2/httpapi`,
      flushQueueSize: 1_000,
      flushIntervalMillis: 60_000,
      logLevel: 0,
    }).promise;
    const sent: Sent[] = [];
    const send = async (events: Sent[]) => {
      const results = events.map(
        (e) => analytics.track(e.step, { sku: `sku-${e.user}` }, { user_id: e.user, time: e.time }).promise,
      );
      await analytics.flush().promise;
      expect((await Promise.all(results)).every((r) => r.code === 200)).toBe(true);
      sent.push(...events);
    };

    const users = Array.from({ length: USERS }, (_, i) => `user-${i}`);
    // Events sent before their users' exposures, with earlier times, yet inside the analysis period.
    const early = Date.now() - 3;
    expect(early).toBeGreaterThan(Date.parse(started.body.analysisPeriods.at(-1).startedAt));
    await send(
      users.flatMap((user, i) =>
        planOf(i).before.map((step, k) => ({ user, step, time: early + k, beforeExposure: true })),
      ),
    );

    // The exposures: the SDK's answer says which variant each user got.
    const variants = new Map<string, Variant>();
    for (let i = 0; i < USERS; i += 25)
      await Promise.all(
        users.slice(i, i + 25).map(async (user) => {
          const variant = await variantOf(user, true);
          expect(variant).toMatch(/^(control|treatment)$/);
          variants.set(user, variant!);
        }),
      );

    // The events after the exposures, a second apart per user, in each plan's order.
    const late = Date.now() + 1_000;
    await send(
      users.flatMap((user, i) =>
        planOf(i).after.map((step, k) => ({ user, step, time: late + k * 1_000, beforeExposure: false })),
      ),
    );

    // What the report must say, derived here from what was sent.
    const expected = {
      control: { units: 0, funnel: 0, purchases: 0, germanPurchases: 0 },
      treatment: { units: 0, funnel: 0, purchases: 0, germanPurchases: 0 },
    };
    for (const user of users) {
      const own = sent.filter((e) => e.user === user);
      const counts = expected[variants.get(user)!];
      counts.units++;
      if (converts(own)) counts.funnel++;
      if (own.some((e) => !e.beforeExposure && e.step === BUY)) {
        counts.purchases++;
        if (countryOf(user) === "DE") counts.germanPurchases++;
      }
    }
    // Every kind of user is there, in both variants.
    expect(expected.control.units + expected.treatment.units).toBe(USERS);
    for (const v of ["control", "treatment"] as const) {
      expect(expected[v].funnel).toBeGreaterThan(0);
      expect(expected[v].purchases).toBeGreaterThan(expected[v].funnel);
      expect(expected[v].germanPurchases).toBeGreaterThan(0);
      expect(expected[v].germanPurchases).toBeLessThan(expected[v].purchases);
    }

    type MetricVariant = { variant: Variant; exposures: number; n: number; mean: number; unadjustedMean?: number };
    type ReportedMetric = {
      key: string;
      role: string;
      registeredAt: string;
      variants: MetricVariant[];
      timeSeries: unknown[];
    };
    const metricOf = async (key: string) =>
      ((await stack.report("shop", FLAG)).metrics as ReportedMetric[]).find((m) => m.key === key);
    const tally = (metric: ReportedMetric | undefined) =>
      metric &&
      Object.fromEntries(
        metric.variants.map((v) => [
          v.variant,
          // The observed rate: where CUPED adjusted the metric (units with events before exposure), `mean` is after it.
          { units: v.n, exposures: v.exposures, conversions: Math.round((v.unadjustedMean ?? v.mean) * v.n) },
        ]),
      );
    const expectedTally = (which: "funnel" | "purchases" | "germanPurchases") =>
      Object.fromEntries(
        (["control", "treatment"] as const).map((v) => [
          v,
          { units: expected[v].units, exposures: expected[v].units, conversions: expected[v][which] },
        ]),
      );

    // The data is in before the funnel exists: the primary metric counts every purchase after an exposure.
    await expect
      .poll(async () => tally(await metricOf("purchases")), { timeout: 20_000 })
      .toEqual(expectedTally("purchases"));
    expect(await metricOf("checkout-funnel")).toBeUndefined();

    // Only now: the funnel goes into the catalog and onto the running experiment.
    const catalog = await stack.api("POST", "/projects/shop/metrics", {
      key: "checkout-funnel",
      name: "Checkout funnel",
      type: "funnel",
      steps: STEPS.map((eventType) => ({ eventType })),
      conversionWindowHours: 24,
    });
    expect(catalog.status).toBe(201);
    const german = await stack.api("POST", "/projects/shop/metrics", {
      key: "german-purchases",
      name: "Purchases in Germany",
      type: "unique_conversions",
      eventType: BUY,
      filters: [{ scope: "user", property: "country", op: "=", value: "DE" }],
    });
    expect(german.status).toBe(201);
    const added = await stack.api("PATCH", `/projects/shop/flags/${FLAG}`, {
      secondaryMetrics: [{ metric: "checkout-funnel" }, { metric: "german-purchases" }],
      version: started.body.version,
    });
    expect(added.status).toBe(200);
    const change = added.body.analysisPeriods
      .at(-1)
      .metricChanges.find((c: { metric: string }) => c.metric === "checkout-funnel");
    expect(change).toMatchObject({ action: "added", role: "secondary", metric: "checkout-funnel" });

    await expect
      .poll(async () => tally(await metricOf("checkout-funnel")), { timeout: 20_000 })
      .toEqual(expectedTally("funnel"));
    // A user-property filter reads the country the SDK sent with the exposure.
    expect(tally(await metricOf("german-purchases"))).toEqual(expectedTally("germanPurchases"));
    const funnel = (await metricOf("checkout-funnel"))!;
    expect(funnel).toMatchObject({ role: "secondary", registeredAt: change.at });
    expect(funnel.registeredAt).not.toBe("start");
    expect((await metricOf("purchases"))!.registeredAt).toBe("start");

    // The console's results page shows the same units and conversion rates.
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("pageerror", (error) => console.error("console page error:", error.message));
    await page.goto(`${stack.controlPlane.url}/`);
    await page.getByLabel("Admin token").fill(stack.adminToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Projects" }).waitFor();
    await page.goto(`${stack.controlPlane.url}/#/projects/shop/flags/${FLAG}/results`);
    const section = page.locator("[data-metric=checkout-funnel]");
    await section.locator("table.list > tbody > tr").first().waitFor();
    await expect.poll(() => section.locator(".added-later").textContent()).toMatch(/^added .*\d:\d\d/); // day and time
    // What the funnel measures, in full: every step and its conversion window, not only the first event.
    expect(await section.locator("p.muted").first().textContent()).toBe(
      "funnel view_item → add_to_cart → purchase, the last step within 24 h of the first",
    );
    for (const v of ["control", "treatment"] as const) {
      const cells = await section.locator(`tr[data-variant=${v}] > td`).allTextContents();
      expect(Number(cells[1]!.replace(/,/g, ""))).toBe(expected[v].units);
      expect(cells[2]).toBe((expected[v].funnel / expected[v].units).toPrecision(4));
    }
    // Each chart's time axis spans the looks' days: one look (all data from today) shows a day either side.
    const looks = (await metricOf("checkout-funnel"))!.timeSeries.length;
    const charts = page.locator("[data-testid$=-chart], [data-testid^=lift-chart-]");
    await expect.poll(() => charts.count()).toBe(4); // exposures, and each of the 3 metrics' lift
    for (const chart of await charts.all()) {
      expect(await chart.getAttribute("data-points")).toBe(String(looks));
      await expect.poll(() => chart.getAttribute("data-x-range")).toMatch(/^\d+,\d+$/);
      const [min, max] = (await chart.getAttribute("data-x-range"))!.split(",").map(Number);
      expect(max! - min!).toBe((looks === 1 ? 2 : looks - 1) * 86_400);
    }
    await section.scrollIntoViewIfNeeded();
    await screenshot(page, "metrics-any-time-results");

    await page.close();
  }, 60_000);
});
