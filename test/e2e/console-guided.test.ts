/**
 * Issue 23's newcomer path in a real Chromium against the real local stack: an experiment
 * created, started and read only through the guided flow, every entered field on the overview
 * and in the brief; inline validation and the readable diff preview; the project's audit log;
 * and `npm start`'s demo traffic (scripts/demo-traffic.ts) through the real pipeline, down to a
 * results page that concludes. Every new page is checked by axe-core; screenshots go to
 * .tmp/screenshots (docs/images are copied from there).
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemo } from "../../scripts/demo-seed.js";
import { seedDemoTraffic } from "../../scripts/demo-traffic.js";
import { startLocalSystem, type LocalSystem } from "../../scripts/local-system.js";
import { adminApi } from "../support/admin-api.js";
import { seriousViolations } from "../support/axe.js";
import { launchChromium, screenshot } from "../support/browser.js";
import { signedInPage } from "../support/console-session.js";

let system: LocalSystem;
let browser: Browser;
let adminToken: string;
let clientKey: string;
let url: string;

const api = (method: string, path: string, body?: unknown) =>
  adminApi(system.controlPlane.url, adminToken)(method, path, body);

const signedIn = (): Promise<Page> => signedInPage(browser, url, adminToken);

const expectAccessible = async (page: Page) => expect(await seriousViolations(page)).toEqual([]);

beforeAll(async () => {
  system = await startLocalSystem({
    ingestSecret: "console-guided-secret",
    flagCacheTtlMs: 50,
    reconcileEveryMs: 60_000,
    queueBatchTimeoutSeconds: 0.2,
  });
  adminToken = system.controlPlane.bootstrapToken!;
  clientKey = (await seedDemo(system.controlPlane.url, adminToken)).clientKey;
  url = `${system.controlPlane.url}/`;
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await system?.close();
});

describe("the console for a newcomer", () => {
  it("creates, starts and reads an experiment only through the guided flow", { timeout: 90_000 }, async () => {
    const page = await signedIn();
    await page.goto(`${url}#/projects/demo/flags`);
    await page.getByRole("link", { name: "New experiment" }).click();
    const step = (n: number, title: string) =>
      page.getByRole("heading", { name: `Step ${n} of 8: ${title}` }).waitFor();
    const next = (title: string) => page.getByRole("button", { name: `Next: ${title}` }).click();

    await step(1, "Hypothesis");
    // Validation as you type: the key's problem shows at once, said once, naming what to remove.
    await page.getByLabel("Key", { exact: true }).fill("bad key!");
    await page.getByText("Only letters, digits, “.”, “_” and “-”: remove space, “!”").waitFor();
    await expectAccessible(page);
    await screenshot(page, "console-guided-validation", { fullPage: false });
    await next("Deployment and SDK");
    await page.getByText("Before going on, fix: Key, Name.").waitFor();
    await step(1, "Hypothesis"); // still here
    await page.getByLabel("Name", { exact: true }).fill("Free shipping banner");
    await page.getByLabel("Key", { exact: true }).fill("free-shipping");
    await page.getByLabel("Problem").fill("Visitors leave when they see the shipping cost.");
    await page.getByLabel("Proposed change").fill("A banner: free shipping over 50.");
    await page.getByLabel("Predicted result").fill("More checkouts started.");
    await next("Deployment and SDK");

    await step(2, "Deployment and SDK");
    expect(await page.getByRole("checkbox", { name: /Demo website/ }).isChecked()).toBe(true);
    await page.getByTestId("quick-start-demo").waitFor();
    await expectAccessible(page);
    await next("Variants");

    await step(3, "Variants");
    await page.getByText(/Keep each variant to one or a few changes/).waitFor();
    await page.getByLabel("Description of variant 2").fill("Banner: free shipping over 50");
    await page.getByLabel("Payload of treatment (JSON)").fill('{"banner": "free-shipping"}');
    await expectAccessible(page);
    await screenshot(page, "console-guided-variants");
    await next("Who is randomized");

    await step(4, "Who is randomized");
    await page.getByText(/SUTVA/).waitFor();
    await page.getByLabel("Randomize by").selectOption("device_id");
    await next("How many");

    await step(5, "How many");
    await page.getByRole("slider", { name: /In the experiment/ }).fill("80");
    await page.getByRole("checkbox", { name: "Equal split" }).uncheck();
    await page.getByRole("slider", { name: /Weight of treatment/ }).fill("60");
    await next("Targeting, inclusions and exclusions");

    await step(6, "Targeting, inclusions and exclusions");
    await page.getByRole("button", { name: "Add segment" }).click();
    await page.getByLabel("Segment name").fill("Germany");
    await page.getByLabel("Field", { exact: true }).selectOption("country");
    await page.getByLabel("Values", { exact: true }).fill("DE");
    await page.getByLabel("Device IDs always in treatment").fill("qa-device-1");
    await page.getByLabel("Excluded device IDs").fill("bot-device-9");
    await expectAccessible(page);
    await next("Metrics");

    await step(7, "Metrics");
    await next("Review and start");
    await page.getByText("Before going on, fix: Primary metric.").waitFor();
    await page.getByRole("button", { name: "Add inline primary metric" }).click();
    await page.getByLabel("Primary metric: name").fill("Checkout started");
    await page.getByLabel("Primary metric: event type").fill("checkout_started");
    await page.getByRole("button", { name: "Add inline guardrail metric" }).click();
    await page.getByLabel("Guardrail metrics 1: name").fill("Support tickets");
    await page.getByLabel("Guardrail metrics 1: event type").fill("support_ticket");
    await page.getByLabel("Minimum detectable effect (%)").fill("10");
    await expectAccessible(page);
    await next("Review and start");

    await step(8, "Review and start");
    // The review names fields as the editor does, values in full.
    const review = page.locator("table.changes");
    await review.locator("[data-field='Hypothesis › Problem']").waitFor();
    expect(await review.textContent()).not.toContain("…");
    await page.getByRole("button", { name: "Create and start" }).click();
    await page.waitForURL(/#\/projects\/demo\/flags\/free-shipping$/);
    await page.locator(".badge", { hasText: "running" }).waitFor();

    // Every entered field on the overview.
    const overview = page.locator("section.overview");
    await overview.waitFor();
    const entered = [
      "Visitors leave when they see the shipping cost.",
      "A banner: free shipping over 50.",
      "More checkouts started.",
      "Banner: free shipping over 50",
      "free-shipping",
      "device",
      "80%",
      "control 40% / treatment 60%",
      "Germany",
      "qa-device-1",
      "bot-device-9",
      "Checkout started",
      "Support tickets",
      "demo",
    ];
    const overviewText = await overview.textContent();
    for (const text of entered) expect(overviewText).toContain(text);

    // And in the brief, with a Markdown copy that says the same.
    await page.getByRole("link", { name: "Brief" }).click();
    const brief = page.getByTestId("brief");
    await brief.waitFor();
    const briefText = await brief.textContent();
    for (const text of [...entered, "10.0%"]) expect(briefText).toContain(text);
    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: "Download Markdown" }).click();
    const markdownFile = await download;
    expect(markdownFile.suggestedFilename()).toBe("free-shipping-brief.md");
    const markdown = await (await import("node:fs/promises")).readFile((await markdownFile.path())!, "utf8");
    for (const text of entered) expect(markdown).toContain(text);
    await expectAccessible(page);
    await page.close();
  });

  it("keeps the full editor a click away, with what was entered", async () => {
    const page = await signedIn();
    await page.goto(`${url}#/projects/demo/guide/release`);
    await page.getByRole("heading", { name: "Step 1 of 5: Name" }).waitFor();
    await page.getByLabel("Name", { exact: true }).fill("Dark mode");
    expect(await page.getByLabel("Key", { exact: true }).inputValue()).toBe("dark-mode"); // made from the name
    await page.getByRole("button", { name: "Open the full editor with what you entered" }).click();
    await page.getByRole("heading", { name: "New flag or experiment" }).waitFor();
    expect(await page.getByLabel("Key", { exact: true }).inputValue()).toBe("dark-mode");
    // A taken key, and a condition value the operator cannot compare, are said next to their fields.
    await page.getByLabel("Key", { exact: true }).fill("new-onboarding");
    await page.getByText("The project has a flag new-onboarding already").waitFor();
    await page.getByLabel("Key", { exact: true }).fill("dark-mode");
    await page.getByRole("button", { name: "Add segment" }).click();
    await page.getByLabel("Operator", { exact: true }).selectOption("greater");
    await page.getByLabel("Values", { exact: true }).fill("eighteen");
    await page.getByText("“eighteen” is not a number; “greater” compares numbers").waitFor();
    await page.getByLabel("Values", { exact: true }).fill("18");
    await page.getByLabel("Description", { exact: true }).fill("x".repeat(300));
    await page.getByRole("button", { name: /Review changes/ }).click();
    await page.getByRole("heading", { name: "Review your changes" }).waitFor();
    // Field names, before and after, nothing cut off.
    const rows = page.locator("table.changes");
    await rows.locator("[data-field='Segment 1 › Condition 1 › Values']").waitFor();
    expect(await rows.textContent()).toContain("x".repeat(300));
    await expectAccessible(page);
    await screenshot(page, "console-diff-preview", { fullPage: false });
    await page.close();
  });

  it("offers a new experiment a 7-day metric window; one stored without a window shows none", async () => {
    const page = await signedIn();
    await page.goto(`${url}#/projects/demo/flags/new`);
    await page.getByLabel("Type", { exact: true }).selectOption("experiment");
    const windowDays = page.getByLabel("Metric window (days after exposure)");
    await windowDays.waitFor();
    expect(await windowDays.inputValue()).toBe("7");
    await windowDays.scrollIntoViewIfNeeded();
    await screenshot(page, "console-metric-window", { fullPage: false });
    await page.close();
    // An experiment stored without a window reads running values: its field is empty, not the new default.
    const stored = await signedIn();
    await stored.goto(`${url}#/projects/demo/flags/checkout-redesign/edit`);
    const storedWindow = stored.getByLabel("Metric window (days after exposure)");
    await storedWindow.waitFor();
    expect(await storedWindow.inputValue()).toBe("");
    await storedWindow.scrollIntoViewIfNeeded();
    await screenshot(stored, "console-metric-window-stored", { fullPage: false });
    await stored.close();
  });

  it("lists every change of the project, filtered by who, flag, action, date and text", async () => {
    const audit = async (query: string) => (await api("GET", `/projects/demo/audit${query}`)).body;
    const all = await audit("");
    expect(all.total).toBeGreaterThanOrEqual(6); // the seed's three creates, two starts and an activate
    expect(all.entries.map((e: { at: string }) => e.at)).toEqual(
      [...all.entries.map((e: { at: string }) => e.at)].sort().reverse(),
    );
    const starts = await audit("?action=start");
    expect(starts.entries.every((e: { action: string }) => e.action === "start")).toBe(true);
    expect((await audit("?key=new-onboarding")).entries.map((e: { action: string }) => e.action)).toEqual([
      "activate",
      "create",
    ]);
    // Text is looked for in the changes too: the starts set the status to "running".
    expect((await audit("?q=running")).entries.map((e: { key: string }) => e.key)).toContain("checkout-redesign");
    const today = new Date().toISOString().slice(0, 10);
    expect((await audit(`?to=2000-01-01`)).total).toBe(0);
    expect((await audit(`?from=${today}&to=${today}`)).total).toBe(all.total);
    // Bad input: a clear JSON error, not a 500.
    const bad = await api("GET", "/projects/demo/audit?from=yesterday");
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.error)).toContain("ISO date");
    expect((await api("GET", "/projects/nope/audit")).status).toBe(404);

    const page = await signedIn();
    await page.goto(`${url}#/projects/demo/audit`);
    await page.locator("[data-audit='new-onboarding@2']").waitFor();
    await page.getByLabel("Action").selectOption("start");
    await expect.poll(() => page.locator("tr[data-audit]").count()).toBe(starts.total);
    await page.getByLabel("Action").selectOption("");
    await page.getByLabel("Flag or metric").selectOption("new-onboarding");
    await page.getByLabel("Search").fill("inactive");
    await expect.poll(() => page.locator("tr[data-audit]").count()).toBe(1);
    await page.locator("[data-audit='new-onboarding@2']").getByRole("button").click();
    await page.locator("[data-field='Status']").waitFor();
    await page.getByLabel("Search").fill("");
    await page.getByLabel("Who").selectOption({ index: 1 });
    await expectAccessible(page);
    await screenshot(page, "console-audit-log", { fullPage: false });
    await page.getByLabel("Search").fill("no such thing anywhere");
    await page.getByText("No change matches these filters.").waitFor();
    await page.close();
  });

  it("shows npm start's demo traffic: results that conclude, charts over the days, a brief with intervals", {
    timeout: 120_000,
  }, async () => {
    const sent = await seedDemoTraffic({ edgeUrl: system.edgeUrl, clientKey, store: system.controlPlane.store });
    const exposed = Object.values(sent.exposures).reduce((a, b) => a + b, 0);
    expect(exposed).toBe(4000);
    const report = async () =>
      (await adminApi(system.statsUrl, adminToken)("GET", "/projects/demo/experiments/checkout-redesign/report")).body;
    await expect
      .poll(async () => (await report()).variants.reduce((n: number, v: { exposures: number }) => n + v.exposures, 0), {
        timeout: 90_000,
      })
      .toBe(exposed);
    await expect
      .poll(async () => (await report()).metrics[0].variants.reduce((n: number, v: { n: number }) => n + v.n, 0), {
        timeout: 30_000,
      })
      .toBe(exposed);
    const final = await report();
    expect(final.metrics[0].timeSeries.length).toBeGreaterThanOrEqual(3);

    const page = await signedIn();
    await page.goto(`${url}#/projects/demo/flags/checkout-redesign/results`);
    const summary = page.getByTestId("summary");
    await expect.poll(() => summary.getAttribute("data-recommendation")).toBe("ship");
    await page.getByTestId("exposures-chart").locator("canvas").waitFor();
    await screenshot(page, "console-results-demo");
    await page.getByRole("link", { name: "Brief" }).click();
    const brief = page.getByTestId("brief");
    await brief.locator("[data-brief-section='Results'] table").first().waitFor();
    const text = await brief.textContent();
    expect(text).toContain("Ship treatment");
    expect(text).toMatch(/\+\d+\.\d% to \+\d+\.\d%/); // the lift's interval
    expect(text).toContain("Many users abandon the multi-step checkout.");
    await expectAccessible(page);
    await screenshot(page, "console-brief");
    await page.close();
  });
});
