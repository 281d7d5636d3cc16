/**
 * The console's Segments tab and the segment picker of the flag editor, in Debian's Chromium against the real
 * local stack: a segment's "used by" list, an edit through the condition rows that reaches the edge, and a rule
 * that names the segment, and a change request on a segment a guarded flag names (its diff, approval), and one on a
 * group a guarded flag is in. Screenshots
 * for docs/control-plane.md land in docs/images/.
 */
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalSystem, type LocalSystem } from "../../scripts/local-system.js";
import { adminApi, type AdminApi } from "../support/admin-api.js";
import { seriousViolations } from "../support/axe.js";
import { launchChromium, screenshot } from "../support/browser.js";

let system: LocalSystem;
let browser: Browser;
let api: AdminApi;
let clientKey: string;
const DOCS_IMAGES = join(process.cwd(), "docs", "images");

async function signedIn(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (error) => console.error("console page error:", error.message));
  await page.goto(`${system.controlPlane.url}/`);
  await page.getByLabel("Admin token").fill(system.controlPlane.bootstrapToken!);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Projects" }).waitFor();
  return page;
}

const served = async (properties: Record<string, string>) => {
  const user = Buffer.from(JSON.stringify({ user_id: "u1", user_properties: properties })).toString("base64url");
  const response = await fetch(`${system.edgeUrl}/sdk/v2/vardata`, {
    headers: { authorization: `Api-Key ${clientKey}`, "x-amp-exp-user": user },
  });
  return ((await response.json()) as Record<string, { key: string }>)["new-nav"]?.key;
};

beforeAll(async () => {
  system = await startLocalSystem({ ingestSecret: "console-segments-secret", flagCacheTtlMs: 50 });
  api = adminApi(system.controlPlane.url, system.controlPlane.bootstrapToken!);
  await api("POST", "/projects", { key: "shop", name: "Shop" });
  await api("POST", "/projects/shop/deployments", { key: "web", name: "Web" });
  clientKey = (await api("GET", "/projects/shop/deployments/web")).body.clientKey;
  await api("POST", "/projects/shop/segments", {
    key: "beta",
    name: "Beta testers",
    description: "Opted into the beta on a paid plan",
    conditions: [
      { property: "beta", op: "is", values: ["true"] },
      { property: "plan", groupType: "company_id", op: "is not", values: ["free"] },
    ],
  });
  await api("POST", "/projects/shop/segments", {
    key: "germany",
    name: "Germany",
    conditions: [{ property: "country", op: "is", values: ["DE"] }],
  });
  const nav = await api("POST", "/projects/shop/flags", {
    key: "new-nav",
    name: "New navigation",
    type: "release",
    variants: [{ key: "on" }],
    rollout: 0,
    deployments: ["web"],
    segments: [{ name: "Beta", segment: "beta", conditions: [] }],
  });
  await api("POST", "/projects/shop/flags/new-nav/activate", { version: nav.body.version });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await system?.close();
});

describe("console segments", () => {
  it("lists segments with their users, edits one through the condition rows, and the edge serves the edit", async () => {
    const page = await signedIn();
    await page.goto(`${system.controlPlane.url}/#/projects/shop/segments`);
    const usedBy = page.getByRole("list", { name: "Flags using beta" });
    await usedBy.getByRole("link", { name: "new-nav" }).waitFor();
    expect(await page.getByRole("button", { name: "Delete beta" }).count()).toBe(0); // in use: no delete
    expect(await page.getByRole("button", { name: "Delete germany" }).count()).toBe(1);
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: join(DOCS_IMAGES, "console-segments.png"), fullPage: true });

    await page.getByRole("button", { name: "Edit beta" }).click();
    const form = page.getByRole("form", { name: "Edit segment beta" });
    await form.getByText("Saving republishes new-nav").waitFor();
    await form.getByLabel("Values").first().fill("yes");
    await form.getByRole("button", { name: "Save as version 2" }).click();
    await page.getByRole("form", { name: "New segment" }).waitFor();
    expect((await api("GET", "/projects/shop/segments/beta")).body).toMatchObject({
      version: 2,
      conditions: [{ property: "beta", values: ["yes"] }, { groupType: "company_id" }],
    });
    // The flag was republished with the new conditions (a user without a company group is not "free").
    while ((await served({ beta: "yes" })) !== "on") await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await served({ beta: "true" })).toBe("off");
    await page.close();
  });

  it("offers the project's segments in a targeting rule and describes the one picked", async () => {
    const page = await signedIn();
    await page.goto(`${system.controlPlane.url}/#/projects/shop/flags/new-nav/edit`);
    const picker = page.getByLabel("Segment 1: project segment");
    await picker.waitFor();
    await page.getByText("Users in").waitFor();
    expect(await picker.inputValue()).toBe("beta");
    await picker.selectOption("germany");
    await page.getByText("country is DE").waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await page
      .locator("[data-segment-index='0']")
      .screenshot({ path: join(DOCS_IMAGES, "console-segment-picker.png") });
    await page.close();
  });

  it("shows a segment's change request with a readable diff, and approval applies it", async () => {
    await api("PUT", "/projects/shop/review-policy", { project: false, deployments: ["web"] });
    const token = (await api("POST", "/tokens", { name: "alice", role: "editor", project: "shop" })).body.token;
    const alice = adminApi(system.controlPlane.url, token as string);
    const beta = (await api("GET", "/projects/shop/segments/beta")).body;
    expect((await alice("PATCH", "/projects/shop/segments/beta", { name: "B", version: beta.version })).status).toBe(
      403,
    );
    const conditions = [beta.conditions[0], { ...beta.conditions[1], values: ["free", "trial"] }];
    const opened = await alice("POST", "/projects/shop/change-requests", {
      segment: "beta",
      kind: "update",
      title: "Trials are not beta testers",
      input: { key: "beta", name: beta.name, description: beta.description, conditions },
    });
    expect(opened.status).toBe(201);

    const page = await signedIn();
    await page.goto(`${system.controlPlane.url}/#/projects/shop/requests`);
    const row = page.getByRole("row", { name: /Trials are not beta testers/ });
    await row.getByRole("link", { name: "segment beta" }).waitFor();
    await row.getByText("Condition 2 › Values › Item 2").waitFor();
    await row.getByText("trial", { exact: true }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, "segment-change-request");
    await row.getByRole("button", { name: "Approve and apply" }).click();
    await page.getByText("No change requests.").waitFor(); // the list shows open requests: this one is applied
    expect((await api("GET", "/projects/shop/segments/beta")).body).toMatchObject({
      version: beta.version + 1,
      conditions: [{}, { values: ["free", "trial"] }],
    });
    await page.close();
  });

  it("shows a group's change request with a labelled diff", async () => {
    await api("PUT", "/projects/shop/review-policy", { project: false, deployments: ["web"] });
    await api("PUT", "/projects/shop/groups/hold", { kind: "holdout", percentage: 5 });
    const nav = (await api("GET", "/projects/shop/flags/new-nav")).body;
    expect(
      (
        await api(
          "PATCH",
          "/projects/shop/flags/new-nav",
          { groups: ["hold"], version: nav.version },
          {
            "x-review-bypass": "join the holdout",
          },
        )
      ).status,
    ).toBe(200);
    const token = (await api("POST", "/tokens", { name: "carol", role: "editor", project: "shop" })).body.token;
    const carol = adminApi(system.controlPlane.url, token as string);
    expect(
      (await carol("PUT", "/projects/shop/groups/hold", { kind: "holdout", percentage: 40, version: 1 })).status,
    ).toBe(403);
    const opened = await carol("POST", "/projects/shop/change-requests", {
      group: "hold",
      kind: "update",
      title: "Hold out 40%",
      input: { key: "hold", kind: "holdout", percentage: 40 },
    });
    expect(opened.status).toBe(201);

    const page = await signedIn();
    await page.goto(`${system.controlPlane.url}/#/projects/shop/requests`);
    const row = page.getByRole("row", { name: /Hold out 40%/ });
    await row.getByRole("link", { name: "group hold" }).waitFor();
    await row.getByText("Holdout (%)").waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, "group-change-request");
    await page.close();
  });
});
