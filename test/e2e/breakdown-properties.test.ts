/**
 * A project-configured breakdown property, end to end: `plan` set in the console's settings
 * (the API's bounds checked first), users exposed through the edge with `plan` among their
 * user properties, and the report's `?breakdown=plan` giving each plan's exposed units exactly;
 * on the same experiment (purchases before and after exposure, so CUPED adjusts), the console
 * shows the observed means, the CUPED-adjusted differences labelled, the Bayesian readout,
 * and the breakdown picker offers `plan`.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminApi } from "../support/admin-api.js";
import { launchChromium, screenshot } from "../support/browser.js";
import { type FullStack, startFullStack } from "../support/stack.js";

/** Enough for both arms to pass the report's 100 exposed units a test (and the Bayesian readout) needs. */
const USERS = 300;
const FLAG = "pricing-page";
const PLANS = ["free", "pro", "team"] as const;
const planOf = (i: number) => PLANS[i % PLANS.length]!;
/** Bought in the days before: a quarter of the users; those buy again after exposure, and a few others. */
const boughtBefore = (i: number) => i % 4 === 0;
const buysAfter = (i: number) => boughtBefore(i) || i % 7 === 0;

let stack: FullStack;
let browser: Browser;
let clientKey: string;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startFullStack(), launchChromium()]);
  expect((await stack.api("POST", "/projects", { key: "plans", name: "Plans" })).status).toBe(201);
  clientKey = (await stack.api("POST", "/projects/plans/deployments", { key: "web", name: "Web" })).body.clientKey;
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await stack?.dispose();
});

describe("a project-configured breakdown property", () => {
  it("is in the OpenAPI document, and refused with a clear 400 when out of bounds", async () => {
    const put = (body: unknown) => stack.api("PUT", "/projects/plans/breakdown-properties", body);
    for (const [body, message] of [
      [{ properties: ["country"] }, /built in/],
      [{ properties: ["plan", "plan"] }, /twice/],
      [{ properties: ["no spaces"] }, /letters, digits/],
      [{ properties: ["x".repeat(65)] }, /letters, digits/],
      [{ properties: Array.from({ length: 11 }, (_, i) => `p${i}`) }, /10/],
      [{ properties: "plan" }, /array/i],
      [{ properties: ["plan"], extra: true }, /extra|unrecognized/i],
    ] as const) {
      const answer = await put(body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(answer.body.error), JSON.stringify(body)).toMatch(message);
    }
    expect((await stack.api("PUT", "/projects/nowhere/breakdown-properties", { properties: [] })).status).toBe(404);
    const openapi = (await (await fetch(`${stack.controlPlane.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { summary: string }>>;
    };
    expect(openapi.paths["/projects/{project}/breakdown-properties"]?.["put"]?.summary).toMatch(/broken down/);
  });

  it("is kept with exposures from the edge and breaks the report down; the console shows CUPED and Bayes", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("pageerror", (error) => console.error("console page error:", error.message));
    await page.goto(`${stack.controlPlane.url}/`);
    await page.getByLabel("Admin token").fill(stack.adminToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Projects" }).waitFor();

    // The setting, through the console's settings tab.
    await page.goto(`${stack.controlPlane.url}/#/projects/plans/settings`);
    await page.getByRole("textbox", { name: "Extra properties" }).fill("plan, seats");
    await page.getByRole("button", { name: "Save breakdown properties" }).click();
    await page.getByText("Saved: every deployment is published").waitFor();
    expect((await stack.api("GET", "/projects/plans")).body.breakdownProperties).toEqual(["plan", "seats"]);

    // Created after the setting: every document that serves the experiment carries the list.
    const created = await stack.api("POST", "/projects/plans/flags", {
      key: FLAG,
      name: "Pricing page",
      type: "experiment",
      variants: [{ key: "control" }, { key: "treatment" }],
      deployments: ["web"],
      primaryMetric: { key: "purchases", type: "unique_conversions", eventType: "purchase" },
      minimumDetectableEffect: 0.2,
      defaultMetricWindow: "none", // minutes of events: tested on running values (a week's window would not close)
    });
    expect(created.status).toBe(201);
    const started = await stack.api("POST", `/projects/plans/flags/${FLAG}/start`, { version: created.body.version });
    expect(started.status).toBe(200);
    const evaluate = async (user: object, track: boolean) =>
      (await (
        await fetch(`${stack.edgeUrl}/sdk/v2/vardata`, {
          method: "POST",
          headers: {
            authorization: `Api-Key ${clientKey}`,
            "content-type": "application/json",
            "x-amp-exp-exposure-track": track ? "track" : "no-track",
          },
          body: JSON.stringify(user),
        })
      ).json()) as Record<string, { key: string }>;
    await expect
      .poll(async () => (await evaluate({ user_id: "probe" }, false))[FLAG]?.key)
      .toMatch(/control|treatment/);

    const track = async (events: object[]) => {
      const response = await fetch(`${stack.edgeUrl}/track`, {
        method: "POST",
        headers: { authorization: `Api-Key ${clientKey}`, "content-type": "application/json" },
        body: JSON.stringify({ events }),
      });
      expect(response.status).toBe(202);
    };
    const users = Array.from({ length: USERS }, (_, i) => `user-${i}`);
    // Purchases before the exposures (inside the run, earlier than any exposure): CUPED's covariate.
    const early = Date.now() - 3;
    expect(early).toBeGreaterThan(Date.parse(started.body.analysisPeriods.at(-1).startedAt));
    await track(
      users.flatMap((user, i) => (boughtBefore(i) ? [{ user_id: user, event_type: "purchase", time: early }] : [])),
    );
    const variantOf = new Map<string, string>();
    for (let i = 0; i < USERS; i += 25)
      await Promise.all(
        users.slice(i, i + 25).map(async (user, k) => {
          const served = await evaluate(
            { user_id: user, user_properties: { plan: planOf(i + k), seats: i + k } },
            true,
          );
          variantOf.set(user, served[FLAG]!.key);
        }),
      );
    const late = Date.now() + 1_000;
    await track(
      users.flatMap((user, i) => (buysAfter(i) ? [{ user_id: user, event_type: "purchase", time: late }] : [])),
    );

    // The breakdown by the configured property: each plan's units, as exposed.
    const stats = adminApi(stack.statsUrl, stack.adminToken);
    const report = async (query = "") =>
      (await stats("GET", `/projects/plans/experiments/${FLAG}/report${query}`)).body;
    const bought = async () =>
      (await report()).metrics[0].variants.reduce(
        (n: number, v: { n: number; mean: number; unadjustedMean?: number }) =>
          n + Math.round((v.unadjustedMean ?? v.mean) * v.n),
        0,
      );
    await expect.poll(bought, { timeout: 20_000 }).toBe(users.filter((_, i) => buysAfter(i)).length);
    const withBreakdown = await report("?breakdown=plan");
    expect(withBreakdown.breakdown.property).toBe("plan");
    const segments = withBreakdown.breakdown.metrics[0].segments as Array<{ value: string; units: number }>;
    expect(Object.fromEntries(segments.map((s) => [s.value, s.units]))).toEqual({ free: 100, pro: 100, team: 100 });

    // CUPED adjusted the metric (a quarter of the units have a pre-exposure purchase), and the readout is there.
    const { metrics } = await report();
    const metric = metrics[0];
    expect(metric.cuped).toMatchObject({ preExposureDays: 14, unitsWithHistory: 75 });
    expect(metric.cuped.varianceReduction).toBeGreaterThan(0.1);
    const treatment = metric.variants.find((v: { control: boolean }) => !v.control);
    expect(treatment.unadjustedMean).toBeDefined();
    expect(treatment.bayesian.chanceToBeatControl).toBeGreaterThan(0);

    // The console: observed means, the adjusted columns labelled, the Bayesian readout, and `plan` to break down by.
    await page.goto(`${stack.controlPlane.url}/#/projects/plans/flags/${FLAG}/results`);
    const section = page.locator("[data-metric=purchases]");
    await section.getByTestId("cuped").waitFor();
    expect(await section.getByTestId("cuped").textContent()).toContain(
      `variance reduced by ${(metric.cuped.varianceReduction * 100).toFixed(0)}%`,
    );
    const headers = await section.locator("table.list").first().locator("thead th").allTextContents();
    expect(headers.slice(2, 6)).toEqual([
      "Mean",
      "Difference (CUPED-adjusted)",
      "Interval of the difference",
      "Lift (CUPED-adjusted)",
    ]);
    for (const v of metric.variants as Array<{ variant: string; n: number; unadjustedMean: number }>) {
      const cells = await section
        .locator(`table.list >> nth=0 >> tr[data-variant=${v.variant}] > td`)
        .allTextContents();
      expect(cells[2]).toBe(v.unadjustedMean.toPrecision(4));
    }
    const bayes = section.getByTestId("bayesian-purchases");
    expect(await bayes.locator("caption").textContent()).toMatch(/flat prior/);
    const bayesCells = await bayes.locator(`tr[data-variant=${treatment.variant}] > td`).allTextContents();
    expect(bayesCells[1]).toBe(`${(treatment.bayesian.chanceToBeatControl * 100).toFixed(1)}%`);
    expect(bayesCells[3]).toBe(
      `${(treatment.bayesian.credibleInterval[0] * 100).toFixed(1)}% to ${(treatment.bayesian.credibleInterval[1] * 100).toFixed(1)}%`,
    );
    // The sample plan on the reduced variance, and what it would be without.
    const { plan } = await report();
    expect(plan.sequential.total).toBeLessThan(plan.withoutCuped.sequential.total);
    expect(await page.getByTestId("plan-without-cuped").textContent()).toContain(
      Math.ceil(plan.withoutCuped.sequential.total).toLocaleString("en-US"),
    );
    await page.getByTestId("sample-size").evaluate((box) => box.scrollIntoView({ block: "start" }));
    await screenshot(page, "console-results-cuped", { fullPage: false });

    const picker = page.getByLabel("Break down by");
    await expect.poll(() => picker.locator("option").allTextContents()).toContain("plan");
    await picker.selectOption("plan");
    const rows = page.locator("[data-testid=breakdown] [data-breakdown-metric=purchases] tbody tr");
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    for (const plan of PLANS) expect(await page.locator(`tr[data-segment=${plan}]`).count()).toBeGreaterThan(0);
    await page.getByTestId("breakdown").scrollIntoViewIfNeeded();
    await screenshot(page, "console-results-breakdown-plan", { fullPage: false });
    await page.close();
  }, 90_000);
});
