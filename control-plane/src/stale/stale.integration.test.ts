/**
 * Stale flags on real dynalite with the clock in the test's hands: signed evaluation counts
 * flushed day by day mark the flag that served one variant to everyone for 30 days and the
 * flag no one evaluated for 30 days, and leave a flag still split, a young flag and an
 * archived one alone; the list filters on it. A flush without the right signature is a 401.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sign, SIGNATURE_HEADER } from "../../../shared/ingest-signature.js";
import { startDynalite, type LocalDynamo } from "../../../shared/node/local-dynalite.js";
import { adminApi, type AdminApi } from "../../../test/support/admin-api.js";
import type { KvWriter } from "../publish/kv-writer.js";
import { startControlPlane, type ControlPlaneServer } from "../server.js";
import { NO_VARIANT } from "./staleness.js";

const DAY = 86_400_000;
const T0 = Date.parse("2026-10-01T12:00:00Z");
let clock = T0;
const SECRET = "stale-test-secret";
const kv: KvWriter = { put: async () => {}, delete: async () => {}, get: async () => null };

let dynamo: LocalDynamo;
let cp: ControlPlaneServer;
let api: AdminApi;

const flush = async (counts: Record<string, Record<string, number>>, secret = SECRET) => {
  const body = JSON.stringify({ batches: [{ project: "old", deployment: "web", counts }] });
  const response = await fetch(`${cp.url}/internal/evaluation-counts`, {
    method: "POST",
    headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await sign(secret, body) },
    body,
  });
  return response.status;
};
const release = (key: string) => ({ key, name: key, type: "release", variants: [{ key: "on" }], deployments: ["web"] });

beforeAll(async () => {
  dynamo = await startDynalite();
  cp = await startControlPlane({
    dynamoEndpoint: dynamo.endpoint,
    kv,
    bootstrapToken: "stale-test-admin-token",
    reconcileEveryMs: 60_000,
    releasesEveryMs: 60_000,
    evaluationCountsSecret: SECRET,
    now: () => clock,
  });
  api = adminApi(cp.url, "stale-test-admin-token");
  await api("POST", "/projects", { key: "old", name: "Old" });
  await api("POST", "/projects/old/deployments", { key: "web", name: "Web" });
}, 60_000);
afterAll(async () => {
  await cp?.close();
  await dynamo?.close();
});

describe("stale flags", () => {
  it("marks one variant to everyone for 30 days and no evaluation for 30 days, nothing else", async () => {
    // Flags are created "now" by the service's own clock: the test moves its clock past their creation.
    for (const key of ["everyone-on", "split", "unused", "retired"])
      expect((await api("POST", "/projects/old/flags", release(key))).status).toBe(201);
    await api("POST", "/projects/old/flags/retired/archive", { version: 1 });
    clock = Date.now();
    // 35 days of traffic: everyone-on serves `on` only, split also serves the default, unused is never asked for.
    for (let day = 0; day < 35; day++) {
      clock = Date.now() + day * DAY;
      expect(await flush({ "everyone-on": { on: 40 }, split: { on: 10, [NO_VARIANT]: 30 } })).toBe(204);
    }
    const all = (await api("GET", "/projects/old/stale-flags")).body as Array<Record<string, unknown>>;
    const by = new Map(all.map((s) => [s.flag, s]));
    expect(by.get("everyone-on")).toMatchObject({
      stale: true,
      reason: "single_variant",
      variants: { on: 1200 },
      days: 34,
      message: "one variant to everyone for 34 days (on)",
    });
    expect(by.get("unused")).toMatchObject({
      stale: true,
      reason: "not_evaluated",
      days: 34,
      message: "not evaluated for 34 days",
    });
    expect(by.get("unused")?.lastEvaluatedDay).toBeUndefined();
    expect(by.get("split")).toMatchObject({ stale: false, variants: { on: 300, [NO_VARIANT]: 900 } });
    expect(by.get("retired")).toMatchObject({ stale: false });
    const stale = (await api("GET", "/projects/old/stale-flags?stale=true")).body.map((s: { flag: string }) => s.flag);
    expect(stale.sort()).toEqual(["everyone-on", "unused"]);

    // A flag evaluated again is no longer stale for lack of evaluations.
    expect(await flush({ unused: { on: 1, [NO_VARIANT]: 1 } })).toBe(204);
    expect(
      (await api("GET", "/projects/old/stale-flags?stale=false")).body.map((s: { flag: string }) => s.flag).sort(),
    ).toEqual(["retired", "split", "unused"]);
  });

  it("a young flag is not stale yet, and a flush needs the signature", async () => {
    expect((await api("POST", "/projects/old/flags", release("young"))).status).toBe(201);
    clock = Date.now() + 10 * DAY;
    const young = (await api("GET", "/projects/old/stale-flags")).body.find(
      (s: { flag: string }) => s.flag === "young",
    );
    expect(young).toMatchObject({ stale: false });
    expect(await flush({ young: { on: 1 } }, "wrong-secret")).toBe(401);
    const bad = await fetch(`${cp.url}/internal/evaluation-counts`, { method: "POST", body: "{}" });
    expect(bad.status).toBe(401);
  });
});
