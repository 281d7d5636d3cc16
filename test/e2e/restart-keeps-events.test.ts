/**
 * `npm start`'s durability: an exposure and a conversion accepted (202) just before the
 * system stops are in the report after it starts again on the same data folder. Miniflare
 * keeps queued messages in memory only; the local system drains the queue before stopping.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { adminApi } from "../support/admin-api.js";
import { afterAll, describe, expect, it } from "vitest";
import { startLocalSystem, type LocalSystem } from "../../scripts/local-system.js";

const dataDir = mkdtempSync(join(tmpdir(), "restart-keeps-events-"));
const SECRET = "restart-secret";
let system: LocalSystem | undefined;
afterAll(async () => {
  await system?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const start = () =>
  startLocalSystem({
    ingestSecret: SECRET,
    dataDir,
    flagCacheTtlMs: 50,
    reconcileEveryMs: 60_000,
    queueBatchTimeoutSeconds: 1,
  });

describe("a local restart", () => {
  it("keeps events accepted just before the stop", async () => {
    system = await start();
    const token = system.controlPlane.bootstrapToken!;
    const call = adminApi(system.controlPlane.url, token);
    const api = async (method: string, path: string, body?: unknown) => (await call(method, path, body)).body;
    await api("POST", "/projects", { key: "durable", name: "Durable" });
    const { clientKey } = await api("POST", "/projects/durable/deployments", { key: "web", name: "Web" });
    const created = await api("POST", "/projects/durable/flags", {
      key: "keep",
      name: "Keep",
      type: "experiment",
      variants: [{ key: "control" }, { key: "treatment" }],
      deployments: ["web"],
      primaryMetric: { key: "purchase", type: "unique_conversions", eventType: "purchase" },
    });
    await api("POST", "/projects/durable/flags/keep/start", { version: created["version"] });
    const user = Buffer.from(JSON.stringify({ user_id: "last-minute" })).toString("base64url");
    const evaluate = async () =>
      (
        (await (
          await fetch(`${system!.edgeUrl}/sdk/v2/vardata`, {
            headers: { authorization: `Api-Key ${clientKey}`, "x-amp-exp-user": user },
          })
        ).json()) as Record<string, { key: string }>
      )["keep"]?.key;
    await expect.poll(evaluate, { timeout: 5000 }).toMatch(/^(control|treatment)$/); // also the exposure
    const variant = (await evaluate())!;
    const tracked = await fetch(`${system.edgeUrl}/track`, {
      method: "POST",
      headers: { authorization: `Api-Key ${clientKey}`, "content-type": "application/json" },
      body: JSON.stringify([{ user_id: "last-minute", event_type: "purchase", time: Date.now() + 1 }]),
    });
    expect(tracked.status).toBe(202);
    await system.close(); // at once: the events are still in the queue
    system = undefined;

    system = await start();
    const report = (await (
      await fetch(`${system.statsUrl}/projects/durable/experiments/keep/report`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).json()) as {
      variants: Array<{ key: string; exposures: number }>;
      metrics: Array<{ variants: Array<{ variant: string; mean: number }> }>;
    };
    expect(report.variants.find((v) => v.key === variant)!.exposures).toBe(1);
    expect(report.metrics[0]!.variants.find((v) => v.variant === variant)!.mean).toBe(1);
  });
});
