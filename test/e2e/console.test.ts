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
import { seriousViolations } from "../support/axe.js";
import { launchChromium, screenshot } from "../support/browser.js";
import { signedInPage } from "../support/console-session.js";
import { controlPlaneRecords } from "../support/control-plane-records.js";

let system: LocalSystem;
let browser: Browser;
let adminToken: string;
let clientKey: string;
let url: string;

const api = (method: string, path: string, body?: unknown, token = adminToken) =>
  adminApi(system.controlPlane.url, token)(method, path, body);

/** A new tab (its own session storage), signed in with `token`. */
const signedIn = (token = adminToken): Promise<Page> => signedInPage(browser, url, token);

/** No serious or critical accessibility violation (axe-core) on what the page shows now. */
const expectAccessible = async (page: Page) => expect(await seriousViolations(page)).toEqual([]);

/** Clicks a lifecycle button, checks the question it asks, and answers it (confirm or cancel). */
async function confirmAction(
  page: Page,
  button: RegExp,
  question: RegExp,
  answer: "confirm" | "cancel",
  screenshotName?: string,
) {
  await page.getByRole("button", { name: button }).click();
  const asking = page.getByRole("group", { name: question });
  await asking.waitFor();
  if (screenshotName) await screenshot(page, screenshotName, { fullPage: false });
  if (answer === "cancel") await asking.getByRole("button", { name: "Cancel" }).click();
  else await asking.getByRole("button", { name: /^Yes, / }).click();
  await asking.waitFor({ state: "detached" });
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
    // The editor's own heading already shows the reapplied name: wait for the save itself, not for a heading.
    await mine.waitForURL((at) => !at.hash.endsWith("/edit"));

    const saved = (await api("GET", "/projects/demo/flags/new-onboarding")).body;
    expect(saved["name"]).toBe("Onboarding v2");
    expect(saved["description"]).toBe("Rolled out by the growth team.");
    await Promise.all([mine.close(), theirs.close()]);
  });

  it("starts an experiment and renders its results: tables, charts with every look, CSV", async () => {
    const page = await signedIn();
    await page.goto(`${url}#/projects/demo/flags/homepage-hero`);
    // Stop asks first, and says what happens; cancelled, nothing changes.
    await confirmAction(
      page,
      /^Stop experiment/,
      /^Stop: .* back to the SDK's fallback; this ends analysis period 1\./,
      "cancel",
    );
    expect((await api("GET", "/projects/demo/flags/homepage-hero")).body["status"]).toBe("running");
    await confirmAction(page, /^Stop experiment/, /^Stop: /, "confirm");
    await page.locator(".badge", { hasText: "stopped" }).waitFor();
    await confirmAction(
      page,
      /^Start experiment/,
      /analysis period 2 \(fresh data; period 1's results stay readable\)/,
      "confirm",
    );
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
    // One look: the axis spans that day (a day either side), not 1,000 days; the legend shows its values, not "--".
    expect(looks).toBe(1);
    const [min, max] = (await exposuresChart.getAttribute("data-x-range"))!.split(",").map(Number);
    const look = Date.parse((await report())["metrics"][0].timeSeries[0].day) / 1000;
    expect([max! - min!, min! < look && look < max!]).toEqual([2 * 86_400, true]);
    expect(await exposuresChart.locator(".u-legend .u-value").allTextContents()).not.toContain("--");
    // A control named "control" is not tagged "control" again.
    expect((await page.locator("[data-metric=signup] tr[data-variant=control] td").first().textContent())?.trim()).toBe(
      "control",
    );
    await expectAccessible(page);
    const total = await page
      // The variants' table, not the Bayesian readout below it (shown once each arm has 100 units).
      .locator("[data-metric=signup] table.list:not(.bayesian) > tbody > tr > td:nth-child(2)")
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
        minimumDetectableEffect: 0.1,
        defaultMetricWindow: "none", // three days of events conclude on running values (a week's window would not close)
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
    // some a purchase (half in treatment, a sixth in control), sent in batches of at most 1,000.
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
      const buys = variants[i] === "treatment" ? Math.floor(i / 3) % 2 === 0 : Math.floor(i / 3) % 6 === 0;
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
    // The report concludes, and the sample-size box agrees with it (no "about 3 days" more next to a verdict).
    const summary = page.getByTestId("summary");
    await expect.poll(() => summary.getAttribute("data-recommendation")).toBe("ship");
    expect(await summary.locator("h2").textContent()).toBe("Ship treatment");
    expect(await page.getByTestId("sample-size").textContent()).toContain("No more data needed");
    await expectAccessible(page);
    await screenshot(page, "console-results-three-days");
    // The flags list links to the results, with the conclusion so far.
    await page.goto(`${url}#/projects/lab/flags`);
    await expect.poll(() => page.getByTestId("results-pricing").textContent()).toBe("Ship treatment");
    await page.getByTestId("results-pricing").click();
    await page.getByTestId("summary").waitFor();
    await page.close();
  });

  it("shows each version's diff and restores an earlier one", async () => {
    const page = await signedIn();
    await page.goto(`${url}#/projects/demo/flags/german-banner/history`);
    const created = page.locator("[data-version='1']");
    await created.waitFor();
    expect(await created.textContent()).toContain("first version");
    expect(await created.textContent()).not.toContain("0 changes");
    await page.locator("[data-version='2']").getByRole("button", { name: "Version 2" }).click();
    await expect.poll(() => page.locator("[data-version='2'] .changes").textContent()).toContain("Status");
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
    expect(await viewer.getByRole("link", { name: "New experiment" }).count()).toBe(0);
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
    // The key hints read cleanly: no "(for browsers and apps (public))".
    expect(await page.locator("[data-deployment='demo']").textContent()).toContain("(for browsers and apps; public)");
    // The SDK quick start fills in this deployment's keys and the edge's URL.
    const demo = (await api("GET", "/projects/demo/deployments/demo")).body;
    const quickStart = page.getByTestId("quick-start-demo");
    await quickStart.locator("summary").click();
    const snippet = () => quickStart.locator("[data-snippet] pre").textContent();
    expect(await snippet()).toContain(`initializeRemote("${demo["serverKey"]}", { serverUrl: "${system.edgeUrl}" })`);
    await quickStart.getByRole("tab", { name: "Node server SDK, local evaluation" }).click();
    expect(await snippet()).toContain(`exposureConfig: { apiKey: "${demo["serverKey"]}"`);
    expect(await quickStart.textContent()).toContain("every 10 s or every 200 events");
    for (const [tab, text] of [
      ["Browser SDK", `Experiment.initialize("${demo["clientKey"]}"`],
      ["OpenFeature (OFREP)", `"Api-Key ${demo["clientKey"]}"`],
      ["CDN middleware (your own Hono worker)", `deploymentKey: "${demo["clientKey"]}"`],
      ["curl", `curl -s ${system.edgeUrl}/sdk/v2/vardata -H 'Authorization: Api-Key ${demo["clientKey"]}'`],
    ] as const) {
      await quickStart.getByRole("tab", { name: tab }).click();
      expect(await snippet()).toContain(text);
    }
    await expectAccessible(page);
    await screenshot(page, "console-deployments");
    await page.close();
  });

  it("reads cleanly: sign-in hint, error icon, wording, filters and empty states", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(url);
    const hint = (await page.locator(".sign-in .hint").textContent())!;
    expect(hint).toContain("npm start prints one");
    expect(hint).not.toContain("`");
    await page.getByLabel("Admin token").fill("cpt_not-a-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    const refused = page.getByRole("alert");
    await refused.waitFor();
    // A glyph the page's fonts have (the emoji drew an empty box).
    expect(await refused.locator(".banner-icon").textContent()).toBe("×");
    await expectAccessible(page);
    await screenshot(page, "console-sign-in", { fullPage: false });
    await page.close();
    // The API docs name an icon, so the browser asks for no /favicon.ico (a 404).
    expect(await (await fetch(`${system.controlPlane.url}/docs`)).text()).toContain('<link rel="icon"');
    const { version } = (await api("GET", "/projects/demo/flags/checkout-redesign")).body;
    const activate = await api("POST", "/projects/demo/flags/checkout-redesign/activate", { version });
    expect([activate.status, activate.body["error"]["message"]]).toEqual([
      400,
      "'activate' does not apply to an experiment",
    ]);

    const signed = await signedIn();
    await api("POST", "/projects", { key: "empty", name: "Empty" });
    await signed.goto(`${url}#/projects/empty`);
    await signed.getByText("No flags or experiments yet.").waitFor();
    await signed.getByRole("link", { name: "Create the first one" }).waitFor();
    await signed.goto(`${url}#/projects/demo`);
    await signed.locator("[data-flag=checkout-redesign]").waitFor();
    // The status filter offers only the statuses of the type chosen, and drops one the type never has.
    await signed.getByLabel("Status", { exact: true }).selectOption("running");
    await signed.getByLabel("Type", { exact: true }).selectOption("release");
    expect(await signed.getByLabel("Status", { exact: true }).inputValue()).toBe("");
    expect(await signed.getByLabel("Status", { exact: true }).locator("option").allTextContents()).toEqual([
      "Any status",
      "active",
      "inactive",
      "archived",
    ]);
    await signed.getByLabel("Type", { exact: true }).selectOption("");
    await signed.locator("[data-flag=checkout-redesign]").waitFor();
    await expectAccessible(signed);
    await screenshot(signed, "console-flags");
    await signed.close();
  });

  it("shows every field of the design on the overview, and asks before start, decide, archive, deactivate", async () => {
    await api("POST", "/projects/demo/flags", {
      key: "search-ranking",
      name: "Search ranking",
      type: "experiment",
      variants: [
        { key: "control", description: "Today's ranking" },
        { key: "treatment", description: "Learned ranking", payload: { model: "ltr-v2" } },
      ],
      weights: { control: 30, treatment: 70 },
      bucketing: { unit: "device_id" },
      rollout: 20,
      segments: [
        {
          name: "US iOS",
          rollout: 50,
          conditions: [
            { property: "country", op: "is", values: ["US"] },
            { property: "platform", op: "is", values: ["iOS"] },
          ],
        },
      ],
      inclusions: { treatment: { userIds: ["qa-1"], deviceIds: [] } },
      exclusions: { userIds: ["bot-7"], deviceIds: [] },
      prerequisites: [{ flagKey: "new-onboarding", variants: ["on"] }],
      deployments: ["demo"],
      hypothesis: {
        problem: "Searchers scroll past the first page.",
        proposedChange: "Rank by a learned model.",
        predictedResult: "More clicks on the first three results.",
      },
      primaryMetric: { key: "click", name: "Result clicked", type: "unique_conversions", eventType: "result_clicked" },
      secondaryMetrics: [
        { key: "revenue", name: "Revenue", type: "property_sum", eventType: "purchase_completed", property: "amount" },
      ],
      guardrailMetrics: [{ key: "errors", name: "Errors shown", type: "unique_conversions", eventType: "error" }],
      minimumDetectableEffect: 0.05,
    });
    const page = await signedIn();
    await page.goto(`${url}#/projects/demo/flags/search-ranking`);
    const hypothesis = page.getByTestId("hypothesis");
    await hypothesis.waitFor();
    for (const text of [
      "Searchers scroll past the first page.",
      "Rank by a learned model.",
      "More clicks on the first three results.",
    ])
      expect(await hypothesis.textContent()).toContain(text);
    const design = page.getByTestId("design");
    await expect.poll(() => design.textContent()).toContain("Depended on byno flag");
    const shown = (await design.textContent())!;
    for (const text of [
      "control 30% · Today's ranking",
      'treatment 70% · Learned ranking · payload {"model":"ltr-v2"}',
      "Bucketing unitdevice: each device always gets the same variant",
      "Allocation20% rollout, split control 30% / treatment 70%",
      "US iOS: devices in US on iOS: 50% rollout",
      "Everyone else: 20% rollout",
      "always treatment: users qa-1",
      "never served: users bot-7",
      "new-onboarding is on",
      "primary Result clicked",
      "secondary Revenue",
      "guardrail Errors shown",
      "sequential test, 95% confidence, minimum detectable effect 5%, bonferroni correction",
    ])
      expect(shown).toContain(text);
    await expectAccessible(page);
    await screenshot(page, "console-overview");

    await confirmAction(
      page,
      /^Start experiment/,
      /^Start: 20% of targeted devices on demo are split control 30% \/ treatment 70% and their exposures count in analysis period 1\.$/,
      "confirm",
    );
    await page.locator(".badge", { hasText: "running" }).waitFor();
    await page.getByLabel("Winning variant").selectOption("treatment");
    await confirmAction(
      page,
      /^Decide: ship treatment/,
      /^Ship treatment: every targeted user gets treatment from now on \(control stops being served\)/,
      "confirm",
    );
    await page.locator(".badge", { hasText: "decided" }).waitFor();
    await page.getByText("Decided: treatment ships.").waitFor();
    expect(await page.locator("[data-testid=design] [data-variant=treatment]").textContent()).toContain(
      "100% (decided)",
    );
    expect(await page.locator("[data-testid=design] [data-variant=control]").textContent()).toContain("control 0%");
    await screenshot(page, "console-overview-decided");
    await confirmAction(
      page,
      /^Archive/,
      /^Archive: stops serving it .*Unarchive puts it back as decided\.$/,
      "cancel",
    );
    expect((await api("GET", "/projects/demo/flags/search-ranking")).body["status"]).toBe("decided");

    // The flag it depends on knows, and warns before it is deactivated; undo puts it back.
    await page.goto(`${url}#/projects/demo/flags/new-onboarding`);
    await expect.poll(() => page.getByTestId("design").textContent()).toContain("Depended on bysearch-ranking");
    // What was confirmed on the last flag stays with it.
    expect(await page.getByText("Shipped treatment: done.").count()).toBe(0);
    await confirmAction(
      page,
      /^Deactivate/,
      /^Deactivate: the 25% of users .* Warning: 1 flag depends on this one \(search-ranking\)/,
      "confirm",
      "console-confirm-deactivate",
    );
    await page.locator(".badge", { hasText: "inactive" }).waitFor();
    await page.getByRole("button", { name: "Undo: activate" }).click();
    await page.locator(".badge", { hasText: /^active$/ }).waitFor();
    expect((await api("GET", "/projects/demo/flags/new-onboarding")).body["status"]).toBe("active");
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
    // Half-filled (step 2 has no event type yet), the preview names the field it waits for.
    await expect
      .poll(() => page.getByTestId("metric-preview").textContent(), { timeout: 10_000 })
      .toBe("Preview: complete the definition to see its values (steps.1.eventType is missing or not valid)");
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
