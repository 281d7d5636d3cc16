/**
 * The admin console in a real Chromium (Debian's, via playwright-core) against the real
 * local stack: dynalite, the edge in workerd, the stats service, the control plane serving
 * the console. What an admin does, end to end: sign in, author a flag through the form and
 * see the edge serve it, collide with another tab's edit, start an experiment and read its
 * results, restore a version, and be refused as a viewer. (In-page code goes to page.evaluate as
 * text: this project's types are the Worker's, not the DOM's.)
 */
import { gzipSync } from "node:zlib";
import type { Browser, Page } from "playwright-core";
import { adminApi } from "../support/admin-api.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemo } from "../../scripts/demo-seed.js";
import { startLocalSystem, type LocalSystem } from "../../scripts/local-system.js";
import type { Flag } from "../../shared/authoring/schema.js";
import { launchChromium, screenshot } from "../support/browser.js";
import { controlPlaneRecords } from "../support/control-plane-records.js";

let system: LocalSystem;
let browser: Browser;
let adminToken: string;
let clientKey: string;
let url: string;

const api = (method: string, path: string, body?: unknown, token = adminToken) =>
  adminApi(system.controlPlane.url, token)(method, path, body);

/** A new tab (its own session storage), signed in with `token`. */
async function signedIn(token = adminToken): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (error) => console.error("console page error:", error.message));
  await page.goto(url);
  await page.getByLabel("Admin token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Projects" }).waitFor();
  return page;
}

const edgeVariants = async (user: Record<string, unknown>) => {
  const response = await fetch(`${system.edgeUrl}/sdk/v2/vardata`, {
    headers: {
      authorization: `Api-Key ${clientKey}`,
      "x-amp-exp-user": Buffer.from(JSON.stringify(user)).toString("base64url"),
    },
  });
  return (await response.json()) as Record<string, { key: string; payload?: unknown }>;
};

beforeAll(async () => {
  system = await startLocalSystem({
    ingestSecret: "console-test-secret",
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

describe("the admin console", () => {
  it("is served by the control plane within its budget, with no third-party asset", async () => {
    const html = await (await fetch(url)).text();
    const assets = [...html.matchAll(/(?:src|href)="(\/console\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toHaveLength(2);
    const gzipped = await Promise.all(
      assets.map(
        async (asset) =>
          gzipSync(Buffer.from(await (await fetch(system.controlPlane.url + asset)).arrayBuffer())).length,
      ),
    );
    expect(gzipped.reduce((a, b) => a + b, 0)).toBeLessThan(200 * 1024);
    // Script and stylesheet come from us; the page only names the stats service, for its report API.
    expect(html).not.toMatch(/(?:src|href)="https?:/);
  });

  it("refuses a wrong token and signs in with the right one", async () => {
    const page = await browser.newPage();
    await page.goto(url);
    await page.getByLabel("Admin token").fill("cpt_not-a-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("That token is not valid here.").waitFor();
    await page.getByLabel("Admin token").fill(adminToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("link", { name: /Demo shop/ }).waitFor();
    // The token lives in this tab's session storage, never in the address.
    expect(page.url()).not.toContain(adminToken);
    expect(await page.evaluate("Object.values(sessionStorage)")).toContain(adminToken);
    await page.close();
  });

  it("works from the keyboard alone, with a visible focus", async () => {
    const page = await browser.newPage();
    await page.goto(url);
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement?.getAttribute('name')")).toBe("token");
    await page.keyboard.type(adminToken);
    await page.keyboard.press("Enter");
    await page.getByRole("link", { name: /Demo shop/ }).waitFor();
    // Tab to the demo project's link and open it with Enter.
    const onDemoLink = () =>
      page.evaluate(
        "document.activeElement?.tagName === 'A' && document.activeElement.textContent.includes('Demo shop')",
      );
    for (let i = 0; i < 20 && !(await onDemoLink()); i++) await page.keyboard.press("Tab");
    expect(await onDemoLink()).toBe(true);
    const outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle");
    expect(outline).not.toBe("none");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: /Demo shop/ }).waitFor();
    await page.close();
  });

  it("creates a release flag with a segment and a JSON payload through the form, and the edge serves it", async () => {
    const page = await signedIn();
    await page.goto(`${url}#/projects/demo/flags/new`);
    await page.getByLabel("Key", { exact: true }).fill("german-banner");
    await page.getByLabel("Name", { exact: true }).fill("German banner");
    await page.getByLabel("Variant 1 key").fill("banner");
    const payload = page.getByLabel("Payload of banner (JSON)");
    await payload.fill('{"text": "Hallo"');
    await page.getByText("Not valid JSON").waitFor();
    expect(await page.getByRole("button", { name: /Review changes/ }).isDisabled()).toBe(true);
    await payload.fill('{"text": "Hallo", "sizes": [1, 2]}');
    await page.getByRole("button", { name: "Add segment" }).click();
    await page.getByLabel("Segment name").fill("Germany");
    await page.getByLabel("Field", { exact: true }).selectOption("country");
    await page.getByLabel("Operator", { exact: true }).selectOption("is");
    await page.getByLabel("Values", { exact: true }).fill("DE");
    await page.getByRole("slider", { name: /^Rollout/ }).fill("0");
    await page.getByRole("button", { name: /Review changes/ }).click();
    await page.getByRole("heading", { name: "Review your changes" }).waitFor();
    await expect.poll(() => page.locator(".changes tbody tr").count()).toBeGreaterThan(3);
    await screenshot(page, "console-editor-review", { fullPage: false });
    await page.getByRole("button", { name: "Create" }).click();
    await page.getByRole("heading", { name: /German banner/ }).waitFor();
    await page.getByRole("button", { name: /^Activate/ }).click();
    await page.locator(".badge", { hasText: "active" }).waitFor();

    await expect
      .poll(async () => (await edgeVariants({ user_id: "hans", country: "DE" }))["german-banner"], { timeout: 10_000 })
      .toMatchObject({
        key: "banner",
        payload: { text: "Hallo", sizes: [1, 2] },
        metadata: { segmentName: "Germany" },
      });
    // Outside the segment, at a 0% default rollout: the flag's "off" (no variant served).
    expect((await edgeVariants({ user_id: "jean", country: "FR" }))["german-banner"]?.key ?? "off").toBe("off");
    await page.close();
  });

  it("shows a conflicting edit from another tab and reapplies mine on top, never overwriting theirs", async () => {
    const [mine, theirs] = [await signedIn(), await signedIn()];
    const editor = `${url}#/projects/demo/flags/new-onboarding/edit`;
    await Promise.all([mine.goto(editor), theirs.goto(editor)]);
    await Promise.all([
      mine.getByLabel("Name", { exact: true }).waitFor(),
      theirs.getByLabel("Name", { exact: true }).waitFor(),
    ]);

    await theirs.getByLabel("Name", { exact: true }).fill("Onboarding v2");
    await theirs.getByRole("button", { name: /Review changes/ }).click();
    await theirs.getByRole("button", { name: /Save as version/ }).click();
    await theirs.getByRole("heading", { name: /Onboarding v2/ }).waitFor();

    await mine.getByLabel("Description", { exact: true }).fill("Rolled out by the growth team.");
    await mine.getByRole("button", { name: /Review changes/ }).click();
    await mine.getByRole("button", { name: /Save as version/ }).click();
    const conflict = mine.getByRole("alert").filter({ hasText: "Someone else saved" });
    await conflict.waitFor();
    await expect.poll(() => conflict.locator(".changes").first().textContent()).toContain("Onboarding v2");
    await screenshot(mine, "console-conflict", { fullPage: false });
    await mine.getByRole("button", { name: "Reapply my changes on top of theirs" }).click();
    await mine.getByRole("button", { name: /Save as version/ }).click();
    await mine.getByRole("heading", { name: /Onboarding v2/ }).waitFor();

    const saved = (await api("GET", "/projects/demo/flags/new-onboarding")).body;
    expect(saved["name"]).toBe("Onboarding v2");
    expect(saved["description"]).toBe("Rolled out by the growth team.");
    await Promise.all([mine.close(), theirs.close()]);
  });

  it("starts an experiment and renders its results: tables, charts with every look, CSV", async () => {
    const page = await signedIn();
    await page.goto(`${url}#/projects/demo/flags/homepage-hero`);
    await page.getByRole("button", { name: /^Stop experiment/ }).click();
    await page.locator(".badge", { hasText: "stopped" }).waitFor();
    await page.getByRole("button", { name: /^Start experiment/ }).click();
    await page.locator(".badge", { hasText: "running" }).waitFor();

    // Simulated traffic through the edge: 300 visitors exposed, a third of them sign up.
    const users = Array.from({ length: 300 }, (_, i) => ({ device_id: `visitor-${i}` }));
    const served = await Promise.all(users.map((user) => edgeVariants(user)));
    expect(served.every((variants) => variants["homepage-hero"])).toBe(true);
    const track = await fetch(`${system.edgeUrl}/track`, {
      method: "POST",
      headers: { authorization: `Api-Key ${clientKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        events: users.filter((_, i) => i % 3 === 0).map((user) => ({ ...user, event_type: "signup" })),
      }),
    });
    expect(track.status).toBe(202);
    const report = async () =>
      (await (
        await fetch(`${system.statsUrl}/projects/demo/experiments/homepage-hero/report?period=2`, {
          headers: { authorization: `Bearer ${adminToken}` },
        })
      ).json()) as Record<string, any>;
    await expect
      .poll(async () => (await report())["metrics"][0].variants.reduce((n: number, v: { n: number }) => n + v.n, 0), {
        timeout: 20_000,
      })
      .toBe(300);
    const looks = (await report())["metrics"][0].timeSeries.length;

    await page.getByRole("link", { name: "Results", exact: true }).click();
    await page.getByRole("heading", { name: "Exposures" }).waitFor();
    const exposuresChart = page.getByTestId("exposures-chart");
    await exposuresChart.locator("canvas").waitFor();
    expect(Number(await exposuresChart.getAttribute("data-points"))).toBe(looks);
    const liftChart = page.getByTestId("lift-chart-signup-treatment");
    await liftChart.locator("canvas").waitFor();
    expect(Number(await liftChart.getAttribute("data-points"))).toBe(looks);
    const total = await page
      .locator("[data-metric=signup] table.list > tbody > tr > td:nth-child(2)")
      .allTextContents();
    expect(total.map((t) => Number(t.replace(/,/g, ""))).reduce((a, b) => a + b, 0)).toBe(300);
    // A verdict is written out, not only coloured.
    await expect
      .poll(() => page.locator("[data-metric=signup] .verdict").first().textContent())
      .toMatch(/Not enough data|Not yet significant|Significant/);
    await screenshot(page, "console-results");

    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: "Download CSV" }).click();
    expect((await download).suggestedFilename()).toBe("homepage-hero-report.csv");
    await page.close();
  });

  it("draws one point per daily look, for an experiment three days into its run", { timeout: 120_000 }, async () => {
    // A project of its own: no delivery has read its experiments before the run is backdated.
    await api("POST", "/projects", { key: "lab", name: "Lab" });
    const labKey = (await api("POST", "/projects/lab/deployments", { key: "web", name: "Web" })).body[
      "clientKey"
    ] as string;
    const created = (
      await api("POST", "/projects/lab/flags", {
        key: "pricing",
        name: "Pricing",
        type: "experiment",
        variants: [{ key: "control" }, { key: "treatment" }],
        deployments: ["web"],
        bucketing: { unit: "device_id" },
        primaryMetric: { key: "buy", type: "unique_conversions", eventType: "buy" },
      })
    ).body;
    const started = (await api("POST", "/projects/lab/flags/pricing/start", { version: created["version"] }))
      .body as Flag;
    const DAY = 86_400_000;
    const now = Date.now();
    await (await controlPlaneRecords(system.dynamoEndpoint)).experiment("lab", {
      ...started,
      analysisPeriods: [{ ...started.analysisPeriods![0]!, startedAt: new Date(now - 3 * DAY).toISOString() }],
    });

    const evaluate = async (device: string) => {
      const response = await fetch(`${system.edgeUrl}/sdk/v2/vardata`, {
        headers: {
          authorization: `Api-Key ${labKey}`,
          "x-amp-exp-user": Buffer.from(JSON.stringify({ device_id: device })).toString("base64url"),
          "x-amp-exp-exposure-track": "no-track",
        },
      });
      return ((await response.json()) as Record<string, { key: string }>)["pricing"]?.key;
    };
    await expect.poll(() => evaluate("probe"), { timeout: 10_000 }).toMatch(/control|treatment/);
    // 900 visitors over the last three days, as a browser SDK reports them: an exposure, then for
    // some a purchase (a third in treatment, a quarter in control), sent in batches of at most 1,000.
    const devices = Array.from({ length: 900 }, (_, i) => `lab-visitor-${i}`);
    const variants = await Promise.all(devices.map(evaluate));
    const events = devices.flatMap((device, i) => {
      const time = now - (2 - (i % 3)) * DAY - 60_000;
      const exposure = {
        device_id: device,
        event_type: "$exposure",
        time,
        event_properties: { flag_key: "pricing", variant: variants[i] },
      };
      const buys = variants[i] === "treatment" ? Math.floor(i / 3) % 3 === 0 : Math.floor(i / 3) % 4 === 0;
      return buys ? [exposure, { device_id: device, event_type: "buy", time: time + 1000 }] : [exposure];
    });
    for (let start = 0; start < events.length; start += 1000) {
      const track = await fetch(`${system.edgeUrl}/track`, {
        method: "POST",
        headers: { authorization: `Api-Key ${labKey}`, "content-type": "application/json" },
        body: JSON.stringify({ events: events.slice(start, start + 1000) }),
      });
      expect(track.status).toBe(202);
    }
    const report = async () =>
      (await (
        await fetch(`${system.statsUrl}/projects/lab/experiments/pricing/report`, {
          headers: { authorization: `Bearer ${adminToken}` },
        })
      ).json()) as Record<string, any>;
    // Within the freshness target (docs/event-store.md: an event reaches a report within 60 s locally).
    await expect
      .poll(
        async () => (await report())["variants"].reduce((n: number, v: { exposures: number }) => n + v.exposures, 0),
        { timeout: 60_000 },
      )
      .toBe(900);
    await expect
      .poll(async () => (await report())["metrics"][0].variants.reduce((n: number, v: { n: number }) => n + v.n, 0), {
        timeout: 20_000,
      })
      .toBe(900);
    const looks = (await report())["metrics"][0].timeSeries.length;
    expect(looks).toBeGreaterThanOrEqual(3);

    const page = await signedIn();
    await page.goto(`${url}#/projects/lab/flags/pricing/results`);
    for (const chart of ["exposures-chart", "lift-chart-buy-treatment"]) {
      await page.getByTestId(chart).locator("canvas").waitFor();
      expect(Number(await page.getByTestId(chart).getAttribute("data-points"))).toBe(looks);
    }
    await screenshot(page, "console-results-three-days");
    await page.close();
  });

  it("shows each version's diff and restores an earlier one", async () => {
    const page = await signedIn();
    await page.goto(`${url}#/projects/demo/flags/german-banner/history`);
    const created = page.locator("[data-version='1']");
    await created.waitFor();
    await page.locator("[data-version='2']").getByRole("button", { name: "Version 2" }).click();
    await expect.poll(() => page.locator("[data-version='2'] .changes").textContent()).toContain("status");
    await screenshot(page, "console-history");
    await created.getByRole("button", { name: "Restore" }).click();
    await created.getByRole("button", { name: "Restore version 1" }).click();
    await page.locator("[data-version='3']").getByText("current").waitFor();
    const flag = (await api("GET", "/projects/demo/flags/german-banner")).body;
    expect(flag["version"]).toBe(3);
    expect(flag["lastChange"]["action"]).toMatch(/restore/);
    await page.close();
  });

  it("lets a viewer read but not edit, and the API refuses the viewer anyway", async () => {
    const admin = await signedIn();
    await admin.getByRole("link", { name: "Admin tokens" }).click();
    await admin.getByLabel("Token name").fill("read-only");
    await admin.getByLabel("Role").selectOption("viewer");
    await admin.getByRole("button", { name: "Create token" }).click();
    const viewerToken = (await admin.getByTestId("new-token").textContent())!;
    expect(viewerToken).toMatch(/^cpt_/);

    const viewer = await signedIn(viewerToken);
    await viewer.goto(`${url}#/projects/demo`);
    await viewer.getByRole("link", { name: "Checkout redesign" }).waitFor();
    expect(await viewer.getByRole("link", { name: "New flag or experiment" }).count()).toBe(0);
    await viewer.getByRole("link", { name: "Checkout redesign" }).click();
    await viewer.getByRole("heading", { name: /Checkout redesign/ }).waitFor();
    expect(await viewer.getByRole("link", { name: "Edit" }).count()).toBe(0);
    expect(await viewer.getByRole("button", { name: /Stop experiment/ }).count()).toBe(0);
    const refused = await api(
      "PATCH",
      "/projects/demo/flags/checkout-redesign",
      { name: "hijacked", version: 1 },
      viewerToken,
    );
    expect(refused.status).toBe(403);

    // Revoked, the token stops working and the console sends the viewer back to sign in.
    await admin.locator("[data-token='read-only']").getByRole("button", { name: "Revoke" }).click();
    await admin.getByRole("button", { name: "Revoke token" }).click();
    await expect.poll(async () => (await api("GET", "/me", undefined, viewerToken)).status).toBe(401);
    await viewer.getByRole("link", { name: "Demo" }).first().click();
    await viewer.getByLabel("Admin token").waitFor();
    await Promise.all([admin.close(), viewer.close()]);
  });

  it("tries a user against a deployment's flags, with the reason", async () => {
    const page = await signedIn();
    await page.goto(`${url}#/projects/demo/try`);
    await page.getByLabel("User ID").fill("hans");
    await page.getByLabel("Country").fill("DE");
    await page.getByRole("button", { name: "Evaluate" }).click();
    const row = page.locator("[data-flag='german-banner']");
    await row.waitFor();
    expect(await row.textContent()).toContain("banner");
    await screenshot(page, "console-try-a-user");
    await page.goto(`${url}#/projects/demo/deployments`);
    await page.locator("[data-deployment='demo']").getByText("replicated").waitFor();
    await screenshot(page, "console-deployments");
    await page.close();
  });
});

describe("the metric catalog and metrics any time", () => {
  it("creates a funnel metric with filters in the catalog, previews it, edits it and shows its history", async () => {
    const page = await signedIn();
    await page.goto(`${url}#/projects/demo/metrics`);
    await page.getByRole("link", { name: "New metric" }).click();
    await page.getByLabel("Metric: key", { exact: true }).fill("checkout-funnel");
    await page.getByLabel("Metric: name", { exact: true }).fill("Checkout funnel");
    await page.getByLabel("Metric: type", { exact: true }).selectOption("funnel");
    await page.getByLabel("Metric: step 1: event type", { exact: true }).fill("cart_viewed");
    await page.getByLabel("Metric: step 2: event type", { exact: true }).fill("purchase_completed");
    await page.getByRole("button", { name: "Add step" }).click();
    await page.getByLabel("Metric: step 3: event type", { exact: true }).fill("review_left");
    // A filter on a user property of step 1, and one on an event property of step 2.
    const step1 = page.locator(".funnel-step").nth(0);
    await step1.getByRole("button", { name: "Add filter" }).click();
    await page.getByLabel("Metric: step 1 filter 1: on", { exact: true }).selectOption("user");
    await page.getByLabel("Metric: step 1 filter 1: property", { exact: true }).fill("country");
    await page.getByLabel("Metric: step 1 filter 1: operator", { exact: true }).selectOption("in");
    await page.getByLabel("Metric: step 1 filter 1: value", { exact: true }).fill("DE, FR");
    const step2 = page.locator(".funnel-step").nth(1);
    await step2.getByRole("button", { name: "Add filter" }).click();
    await page.getByLabel("Metric: step 2 filter 1: operator", { exact: true }).selectOption(">=");
    await page.getByLabel("Metric: step 2 filter 1: property", { exact: true }).fill("amount");
    await page.getByLabel("Metric: step 2 filter 1: value", { exact: true }).fill("10");
    await page.getByLabel("Metric: window ends (hours after exposure)", { exact: true }).fill("168");
    // Until the stats service has events (or the preview endpoint), the preview says so.
    await expect
      .poll(() => page.getByTestId("metric-preview").textContent(), { timeout: 10_000 })
      .toMatch(/no event data yet|last 7 days: [\d,]+ units/);
    await screenshot(page, "console-metric-new");
    await page.getByRole("button", { name: "Create metric" }).click();
    await page.getByRole("heading", { name: /Checkout funnel/ }).waitFor();

    const stored = (await api("GET", "/projects/demo/metrics/checkout-funnel")).body;
    expect(stored).toMatchObject({
      type: "funnel",
      version: 1,
      window: { startHours: 0, endHours: 168 },
      steps: [
        { eventType: "cart_viewed", filters: [{ property: "country", scope: "user", op: "in", value: ["DE", "FR"] }] },
        { eventType: "purchase_completed", filters: [{ property: "amount", scope: "event", op: ">=", value: 10 }] },
        { eventType: "review_left", filters: [] },
      ],
    });

    await page.getByLabel("Metric: name", { exact: true }).fill("Checkout funnel (3 steps)");
    await page.getByRole("button", { name: "Save as version 2" }).click();
    await page.getByText("Version 2, last changed by").waitFor();
    await page.getByRole("button", { name: "Version 2" }).click();
    await page.locator("table.changes").getByText("Checkout funnel (3 steps)").waitFor();
    await screenshot(page, "console-metric-catalog-edit");
    await page.goto(`${url}#/projects/demo/metrics`);
    await page.locator("[data-metric-row=checkout-funnel]").getByText("funnel cart_viewed").waitFor();
    await screenshot(page, "console-metric-catalog");
    await page.close();
  });

  it("adds a catalog metric as a guardrail to a running experiment, pinned, recorded in its period", async () => {
    const page = await signedIn();
    await page.goto(`${url}#/projects/demo/flags/checkout-redesign/edit`);
    // The primary metric stays locked while it runs; guardrails can be added.
    expect(await page.getByLabel("Primary metric: event type", { exact: true }).isDisabled()).toBe(true);
    await page.getByLabel("Catalog metric for guardrail", { exact: true }).selectOption("checkout-funnel");
    await page.getByRole("button", { name: "Add guardrail metric from catalog" }).click();
    await page.getByText("From the catalog: checkout-funnel version 2").waitFor();
    await screenshot(page, "console-add-metric-running");
    await page.getByRole("button", { name: /Review changes/ }).click();
    await page.getByRole("heading", { name: "Review your changes" }).waitFor();
    await page.getByRole("button", { name: /Save as version/ }).click();
    await page.waitForURL(/#\/projects\/demo\/flags\/checkout-redesign$/);

    const flag = (await api("GET", "/projects/demo/flags/checkout-redesign")).body as Flag;
    expect(flag.status).toBe("running");
    expect(flag.guardrailMetrics.at(-1)).toMatchObject({
      key: "checkout-funnel",
      catalog: { key: "checkout-funnel", version: 2 },
    });
    expect(flag.analysisPeriods!.at(-1)!.metricChanges).toEqual([
      { at: expect.any(String), action: "added", role: "guardrail", metric: "checkout-funnel" },
    ]);
    await page.close();
  });
});
