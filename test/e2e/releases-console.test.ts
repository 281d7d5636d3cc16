/**
 * The console's release pages in a real Chromium (Debian's, via playwright-core): a release
 * flag's "Progressive rollout" section while its plan runs with the guardrail checked, and
 * after a guardrail rolled it back; the project's notification feed; the token list with the
 * release watcher's own token labelled. The control plane runs on dynalite with the guardrail
 * statistics given by the test (the data path itself is releases.test.ts's), its watcher ticked
 * by hand. Screenshots go to .tmp/screenshots (docs/images are copied from there).
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GuardrailReading } from "../../control-plane/src/rollouts/monitor.js";
import type { KvWriter } from "../../control-plane/src/publish/kv-writer.js";
import { startControlPlane, type ControlPlaneServer } from "../../control-plane/src/server.js";
import { startDynalite, type LocalDynamo } from "../../shared/node/local-dynalite.js";
import type { SufficientStats } from "../../shared/stats/sufficient.js";
import { adminApi, type AdminApi } from "../support/admin-api.js";
import { seriousViolations } from "../support/axe.js";
import { launchChromium, screenshot } from "../support/browser.js";

const TOKEN = "releases-console-admin-token";
let dynamo: LocalDynamo;
let cp: ControlPlaneServer;
let api: AdminApi;
let browser: Browser;

const map = new Map<string, string>();
const kv: KvWriter = {
  put: async (entries) => {
    for (const { key, value } of entries) map.set(key, value);
  },
  delete: async (keys) => {
    for (const key of keys) map.delete(key);
  },
  get: async (key) => map.get(key) ?? null,
};

/** The guardrail statistics per flag, as the stats service would answer them. */
const readings = new Map<string, GuardrailReading[]>();
const counts = (n: number, mean: number): SufficientStats => ({ n, mean, m2: n * mean }); // Poisson: variance = mean
const errors = (servedMean: number, served: number, heldBack: number): GuardrailReading[] => [
  { metric: "errors", direction: "decrease", served: counts(served, servedMean), heldBack: counts(heldBack, 4) },
];

const release = (key: string) => ({
  key,
  name: key === "new-checkout" ? "New checkout" : "New search",
  type: "release",
  variants: [{ key: "on" }],
  deployments: [],
  rollout: 0,
  guardrailMetrics: [{ key: "errors", type: "event_totals", eventType: "error", direction: "decrease" }],
});
const STEPS = [
  { percent: 5, minutes: 60 },
  { percent: 25, minutes: 60 },
  { percent: 50, minutes: 120 },
  { percent: 100, minutes: 0 },
];

async function signedIn(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (error) => console.error("console page error:", error.message));
  await page.goto(`${cp.url}/`);
  await page.getByLabel("Admin token").fill(TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Projects" }).waitFor();
  return page;
}

beforeAll(async () => {
  dynamo = await startDynalite();
  cp = await startControlPlane({
    dynamoEndpoint: dynamo.endpoint,
    kv,
    bootstrapToken: TOKEN,
    reconcileEveryMs: 60_000,
    releasesEveryMs: 600_000, // ticked by hand
    // No stats service runs here: the reports' reader fails quietly (no experiment runs), and the watcher's token is made.
    statsUrl: "http://127.0.0.1:9",
    guardrails: async (_project, flag) => readings.get(flag.key) ?? [],
  });
  api = adminApi(cp.url, TOKEN);
  expect((await api("POST", "/projects", { key: "shop", name: "Shop" })).status).toBe(201);
  for (const key of ["new-checkout", "new-search"]) {
    const created = await api("POST", "/projects/shop/flags", release(key));
    expect(created.status).toBe(201);
    expect((await api("POST", `/projects/shop/flags/${key}/activate`, { version: created.body.version })).status).toBe(
      200,
    );
    expect((await api("PUT", `/projects/shop/flags/${key}/rollout-plan`, { steps: STEPS })).status).toBe(201);
  }
  readings.set("new-search", errors(4.02, 2_400, 45_600)); // no harm
  readings.set("new-checkout", errors(5.2, 150, 2_850)); // 30% more errors
  await cp.tick();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await cp?.close();
  await dynamo?.close();
});

describe("the console's release pages", () => {
  it("shows a running plan with its guardrail's last check", async () => {
    const page = await signedIn();
    await page.goto(`${cp.url}/#/projects/shop/flags/new-search`);
    const section = page.getByRole("region", { name: "Progressive rollout" });
    await section.waitFor();
    await expect.poll(() => section.textContent()).toContain("errors");
    await section.scrollIntoViewIfNeeded();
    await screenshot(page, "console-rollout-running");
    expect(await seriousViolations(page)).toEqual([]);
    await page.close();
  });

  it("shows why a plan rolled back, and the feed tells of it", async () => {
    const page = await signedIn();
    await page.goto(`${cp.url}/#/projects/shop/flags/new-checkout`);
    const section = page.getByRole("region", { name: "Progressive rollout" });
    await section.waitFor();
    await expect.poll(() => section.textContent()).toMatch(/rolled back/i);
    await screenshot(page, "console-rollout-rolled-back");
    expect(await seriousViolations(page)).toEqual([]);

    await page.goto(`${cp.url}/#/projects/shop/notifications`);
    await page
      .getByText(/Rolled back `?new-checkout/)
      .first()
      .waitFor();
    await screenshot(page, "console-notifications");
    expect(await seriousViolations(page)).toEqual([]);
    await page.close();
  });

  it("labels the release watcher's own token in the token list", async () => {
    const page = await signedIn();
    await page.goto(`${cp.url}/#/tokens`);
    const row = page.locator('tr[data-token="release watcher"]');
    await row.waitFor();
    expect(await row.textContent()).toContain("made by the control plane");
    await screenshot(page, "console-tokens");
    await page.close();
  });
});
