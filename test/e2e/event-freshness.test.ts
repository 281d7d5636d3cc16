/**
 * Freshness at default settings (issue 21: "an event reaches a report within 60 s locally"):
 * the local system as `npm start` runs it (the queue's default batch timeout, the edge's
 * 250 ms flag cache), a user exposed at the edge and a conversion sent to `/track`, then the
 * time until the report, computed from the event store, counts both. Nothing is shortened
 * for the test; it waits on the report, not on a clock.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalSystem, type LocalSystem } from "../../scripts/local-system.js";
import { adminApi, type AdminApi } from "../support/admin-api.js";

const FLAG = "fresh-checkout";
const TARGET_MS = 60_000;

let dataDir: string;
let system: LocalSystem;
let api: AdminApi;
let clientKey: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "event-freshness-"));
  // scripts/local-main.ts's settings: only the folder and the ports differ.
  system = await startLocalSystem({ ingestSecret: "freshness-secret", dataDir, flagCacheTtlMs: 250 });
  api = adminApi(system.controlPlane.url, system.controlPlane.bootstrapToken!);
  expect((await api("POST", "/projects", { key: "shop", name: "Shop" })).status).toBe(201);
  clientKey = (await api("POST", "/projects/shop/deployments", { key: "web", name: "Web" })).body.clientKey;
}, 60_000);
afterAll(async () => {
  await system?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const vardata = async (userId: string, track: boolean) =>
  (await (
    await fetch(`${system.edgeUrl}/sdk/v2/vardata`, {
      headers: {
        authorization: `Api-Key ${clientKey}`,
        "x-amp-exp-user": Buffer.from(JSON.stringify({ user_id: userId })).toString("base64url"),
        ...(track ? {} : { "x-amp-exp-exposure-track": "no-track" }),
      },
    })
  ).json()) as Record<string, { key: string }>;

/** The event store's Parquet files of one table (under the data folder, as `npm start` keeps them). */
const storeFiles = async (table: string) =>
  (await readdir(join(dataDir, "events", table), { recursive: true }).catch(() => [] as string[])).filter((f) =>
    f.endsWith(".parquet"),
  );

describe("freshness at default settings", () => {
  it("an exposure and an event reach the report within 60 s, through the event store", async () => {
    const created = await api("POST", "/projects/shop/flags", {
      key: FLAG,
      name: "Fresh checkout",
      type: "experiment",
      variants: [{ key: "control" }, { key: "treatment" }],
      deployments: ["web"],
      primaryMetric: { key: "purchases", type: "unique_conversions", eventType: "purchase" },
    });
    expect(created.status).toBe(201);
    expect((await api("POST", `/projects/shop/flags/${FLAG}/start`, { version: created.body.version })).status).toBe(
      200,
    );
    await expect.poll(async () => (await vardata("probe", false))[FLAG]?.key, { timeout: 10_000 }).toBeDefined();

    const sent = Date.now();
    const variant = (await vardata("fresh-user", true))[FLAG]!.key;
    const tracked = await fetch(`${system.edgeUrl}/track`, {
      method: "POST",
      headers: { authorization: `Api-Key ${clientKey}`, "content-type": "application/json" },
      body: JSON.stringify({ events: [{ user_id: "fresh-user", event_type: "purchase", insert_id: "fresh-1" }] }),
    });
    expect(tracked.status).toBe(202);

    const stats = adminApi(system.statsUrl, system.controlPlane.bootstrapToken!);
    const counted = async () => {
      const report = (await stats("GET", `/projects/shop/experiments/${FLAG}/report`)).body;
      const row = report?.metrics?.[0]?.variants?.find((v: { variant: string }) => v.variant === variant);
      return row ? { exposures: row.exposures, conversions: Math.round((row.unadjustedMean ?? row.mean) * row.n) } : {};
    };
    await expect.poll(counted, { timeout: TARGET_MS, interval: 250 }).toEqual({ exposures: 1, conversions: 1 });
    const elapsedMs = Date.now() - sent;
    expect(elapsedMs).toBeLessThan(TARGET_MS);
    // It came through the store: the exposure's and the event's rows are in its Parquet files.
    expect(await storeFiles("exposures")).not.toEqual([]);
    expect(await storeFiles("events")).not.toEqual([]);
    console.log(`freshness: exposure and event in the report ${elapsedMs} ms after they were sent`);
  }, 90_000);
});
