/**
 * `npm start`'s CDN proxy: the middleware in proxy mode in front of an origin (here the
 * demo site it serves when no CDN_ORIGIN is given), keyed to a deployment, kept up to date
 * by the control plane like the edge.
 */
import { adminApi } from "../support/admin-api.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoSite } from "../../scripts/demo-site.js";
import { startLocalSystem, type LocalSystem } from "../../scripts/local-system.js";

let system: LocalSystem;
let site: Awaited<ReturnType<typeof startDemoSite>>;
let cdnUrl: string;
let api: (method: string, path: string, body?: unknown) => Promise<Record<string, any>>;
// Bucketed by device: the CDN's anonymous visitors have a device id (its cookie), no user id.
const experiment = (key: string) => ({
  key,
  name: key,
  type: "experiment",
  variants: [{ key: "control" }, { key: "treatment" }],
  deployments: ["web"],
  bucketing: { unit: "device_id" },
  primaryMetric: { key: "buy", type: "unique_conversions", eventType: "buy" },
});

beforeAll(async () => {
  system = await startLocalSystem({
    ingestSecret: "local-cdn-secret",
    flagCacheTtlMs: 50,
    reconcileEveryMs: 60_000,
    queueBatchTimeoutSeconds: 0.2,
  });
  const token = system.controlPlane.bootstrapToken!;
  const call = adminApi(system.controlPlane.url, token);
  api = async (method, path, body) => (await call(method, path, body)).body;
  await api("POST", "/projects", { key: "site", name: "Site" });
  const { clientKey } = await api("POST", "/projects/site/deployments", { key: "web", name: "Web" });
  const created = await api("POST", "/projects/site/flags", experiment("hero"));
  await api("POST", "/projects/site/flags/hero/start", { version: created["version"] });
  site = await startDemoSite();
  cdnUrl = await system.startCdn({ origin: site.url, deploymentKey: clientKey });
});
afterAll(async () => {
  await system?.close();
  await site?.close();
});

describe("npm start's CDN proxy", () => {
  it("serves the demo site with a device cookie, the assignments header and the variants injected", async () => {
    const response = await fetch(`${cdnUrl}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get("set-cookie")).toMatch(/^exp_device_id=/);
    expect(response.headers.get("cache-control")).toContain("private");
    const html = await response.text();
    expect(html).toMatch(/<code id="header">hero=(control|treatment)<\/code>/);
    expect(html).toMatch(/window\.__AMPLITUDE_EXPERIMENT_INITIAL_VARIANTS__=\{"hero":\{"key":"(control|treatment)"/);
  });

  it("follows flag changes like the edge does", async () => {
    const created = await api("POST", "/projects/site/flags", experiment("banner"));
    await api("POST", "/projects/site/flags/banner/start", { version: created["version"] });
    await expect
      .poll(async () => (await (await fetch(`${cdnUrl}/`)).text()).includes("banner="), { timeout: 3000 })
      .toBe(true);
  });
});
