/**
 * Stale flags and change requests in the console, in a real Chromium against a control plane
 * on real dynalite whose clock the test holds: 35 days of signed evaluation counts make one
 * flag serve one variant to everyone and leave another unevaluated; the flags list marks both
 * with the reason and filters on staleness. A project that requires review shows an editor's
 * request, with its diff, on its "Change requests" tab and on the flag's page. Screenshots go
 * to .tmp/screenshots (docs/images are copied from there). Only the control plane runs: no
 * edge, no stats service.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type ControlPlaneServer } from "../../control-plane/src/server.js";
import { NO_VARIANT } from "../../control-plane/src/stale/staleness.js";
import { sign, SIGNATURE_HEADER } from "../../shared/ingest-signature.js";
import { startDynalite, type LocalDynamo } from "../../shared/node/local-dynalite.js";
import { adminApi, type AdminApi } from "../support/admin-api.js";
import { seriousViolations } from "../support/axe.js";
import { launchChromium, screenshot } from "../support/browser.js";
import { signedInPage } from "../support/console-session.js";

const DAY = 86_400_000;
const SECRET = "console-stale-secret";
const TOKEN = "console-stale-admin-token";
let clock = Date.now();
let dynamo: LocalDynamo;
let cp: ControlPlaneServer;
let browser: Browser;
let admin: AdminApi;

const release = (key: string, name: string) => ({
  key,
  name,
  type: "release",
  variants: [{ key: "on" }],
  rollout: 100,
  deployments: ["web"],
});
/** One signed flush from the edge, counted on the day the clock says. */
async function flush(counts: Record<string, Record<string, number>>): Promise<void> {
  const body = JSON.stringify({ batches: [{ project: "tidy", deployment: "web", counts }] });
  const response = await fetch(`${cp.url}/internal/evaluation-counts`, {
    method: "POST",
    headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await sign(SECRET, body) },
    body,
  });
  expect(response.status).toBe(204);
}
const signedIn = (): Promise<Page> => signedInPage(browser, `${cp.url}/`, TOKEN);

beforeAll(async () => {
  dynamo = await startDynalite();
  cp = await startControlPlane({
    dynamoEndpoint: dynamo.endpoint,
    kv: { put: async () => {}, delete: async () => {}, get: async () => null },
    bootstrapToken: TOKEN,
    reconcileEveryMs: 60_000,
    releasesEveryMs: 60_000,
    evaluationCountsSecret: SECRET,
    now: () => clock,
  });
  admin = adminApi(cp.url, TOKEN);
  expect((await admin("POST", "/projects", { key: "tidy", name: "Tidy shop" })).status).toBe(201);
  expect((await admin("POST", "/projects/tidy/deployments", { key: "web", name: "Web" })).status).toBe(201);
  for (const [key, name] of [
    ["new-checkout", "New checkout"],
    ["search-v2", "Search v2"],
    ["holiday-banner", "Holiday banner"],
  ] as const) {
    expect((await admin("POST", "/projects/tidy/flags", release(key, name))).status).toBe(201);
    expect((await admin("POST", `/projects/tidy/flags/${key}/activate`, { version: 1 })).status).toBe(200);
  }
  // 35 days of traffic (flags are made by the real clock; the counts' clock moves past it): new-checkout
  // serves `on` to everyone, search-v2 is split, holiday-banner is never asked for.
  for (let day = 0; day < 35; day++) {
    clock = Date.now() + day * DAY;
    await flush({ "new-checkout": { on: 40 }, "search-v2": { on: 10, [NO_VARIANT]: 30 } });
  }
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await cp?.close();
  await dynamo?.close();
});

describe("stale flags in the console", () => {
  it("marks stale flags with the reason, and filters the list on it", async () => {
    const page = await signedIn();
    await page.goto(`${cp.url}/#/projects/tidy/flags`);
    const row = (flag: string) => page.locator(`tr[data-flag="${flag}"]`);
    await expect
      .poll(() => row("new-checkout").getByTestId("stale-new-checkout").textContent())
      .toBe("stale one variant to everyone for 34 days (on)");
    expect(await row("holiday-banner").getByTestId("stale-holiday-banner").textContent()).toBe(
      "stale not evaluated for 34 days",
    );
    expect(await row("search-v2").locator(".stale-note").count()).toBe(0);
    expect(await seriousViolations(page)).toEqual([]);

    await page.getByLabel("Staleness").selectOption("stale");
    await expect.poll(() => page.locator("tr[data-flag]").count()).toBe(2);
    expect((await page.locator("tr[data-flag]").evaluateAll(rowsFlags)).sort()).toEqual([
      "holiday-banner",
      "new-checkout",
    ]);
    await screenshot(page, "console-flags-stale", { fullPage: false });
    await page.getByLabel("Staleness").selectOption("live");
    await expect.poll(() => page.locator("tr[data-flag]").evaluateAll(rowsFlags)).toEqual(["search-v2"]);
    await page.close();
  });
});

describe("change requests in the console", () => {
  it("lists an editor's request with its diff, on the project's tab and on the flag's page", async () => {
    clock = Date.now(); // back to today: the requests are dated now
    expect((await admin("PUT", "/projects/tidy/review-policy", { project: true, deployments: [] })).status).toBe(200);
    const editor = (await admin("POST", "/tokens", { name: "alice", role: "editor", project: "tidy" })).body.token;
    const alice = adminApi(cp.url, editor as string);
    const { version, status, createdAt, updatedAt, lastChange, ...editable } = (
      await alice("GET", "/projects/tidy/flags/search-v2")
    ).body;
    const opened = await alice("POST", "/projects/tidy/change-requests", {
      flag: "search-v2",
      kind: "update",
      input: { ...editable, rollout: 50, description: "Half of the traffic first" },
      title: "Search v2 to half of the traffic",
    });
    expect(opened.status).toBe(201);
    const rejected = await alice("POST", "/projects/tidy/change-requests", {
      flag: "new-checkout",
      kind: "action",
      action: "archive",
      title: "Retire new checkout: it is everyone's now",
    });
    expect(rejected.status).toBe(201);
    const bob = (await admin("POST", "/tokens", { name: "bob", role: "editor", project: "tidy" })).body.token;
    const review = { comment: "Not before the code is gone" };
    const refused = await adminApi(cp.url, bob as string)(
      "POST",
      `/projects/tidy/change-requests/${rejected.body.id}/reject`,
      review,
    );
    expect(refused.status).toBe(200);

    const page = await signedIn();
    await page.goto(`${cp.url}/#/projects/tidy/requests`);
    await page.getByLabel("Status").selectOption(""); // all, the rejected one too
    const request = page.getByRole("row", { name: /Search v2 to half of the traffic/ });
    await request.waitFor();
    // The diff reads as the history's does: the field by its label, before and after.
    expect(await request.locator('tr[data-field="Rollout (%)"] td').allTextContents()).toEqual([
      "Rollout (%) changed",
      "100",
      "50",
    ]);
    expect(await request.locator('tr[data-field="Description"] td').allTextContents()).toEqual([
      "Description changed",
      "(empty)",
      "Half of the traffic first",
    ]);
    expect(await request.textContent()).toMatch(/alice/);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, "console-change-requests", { fullPage: false });

    await page.goto(`${cp.url}/#/projects/tidy/flags/search-v2/overview`);
    const onFlag = page.getByRole("row", { name: /Search v2 to half of the traffic/ });
    await onFlag.waitFor();
    await onFlag.scrollIntoViewIfNeeded();
    await screenshot(page, "console-change-request-diff", { fullPage: false });
    await page.close();
  });
});

/** The flag keys of the list's rows, in order (runs in the page). */
const rowsFlags = (rows: Array<{ getAttribute(name: string): string | null }>) =>
  rows.map((row) => row.getAttribute("data-flag") ?? "");
