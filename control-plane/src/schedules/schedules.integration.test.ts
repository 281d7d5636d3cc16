/**
 * Scheduled changes on real dynalite, with the clock in the test's hands: a schedule runs
 * once when the control plane restarts around its time, once when two watchers race for
 * it, once when a watcher stopped after its change landed; against an old version it
 * reports a conflict and changes nothing. Conditions are polled, never slept on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDynalite, type LocalDynamo } from "../../../shared/node/local-dynalite.js";
import { createDb } from "../../../shared/node/dynamo.js";
import { adminApi, type AdminApi } from "../../../test/support/admin-api.js";
import { writeItem } from "../notifications/items.js";
import type { KvWriter } from "../publish/kv-writer.js";
import { startControlPlane, type ControlPlaneServer } from "../server.js";
import { flagInputSchema, flagWriteSchema } from "../../../shared/authoring/schema.js";
import { createStore } from "../db/store.js";
import { createFlagService } from "../services/flags.js";
import { scheduledActor, type Schedule } from "./schedules.js";

/** Conditions are polled up to this long: a loaded machine is slow, never wrong. */
const EVENTUALLY = { timeout: 30_000 };

const T0 = Date.parse("2026-12-07T08:00:00Z");
let clock = T0;
const memoryKv = (): KvWriter => {
  const map = new Map<string, string>();
  return {
    put: async (entries) => {
      for (const { key, value } of entries) map.set(key, value);
    },
    delete: async (keys) => {
      for (const key of keys) map.delete(key);
    },
    get: async (key) => map.get(key) ?? null,
  };
};
const kv = memoryKv();

let dynamo: LocalDynamo;
const started: ControlPlaneServer[] = [];
let token: string;

async function start(): Promise<{ cp: ControlPlaneServer; api: AdminApi }> {
  const cp = await startControlPlane({
    dynamoEndpoint: dynamo.endpoint,
    kv,
    bootstrapToken: "schedules-test-admin-token",
    reconcileEveryMs: 60_000,
    releasesEveryMs: 250,
    now: () => clock,
  });
  started.push(cp);
  return { cp, api: adminApi(cp.url, token) };
}
const stop = async (cp: ControlPlaneServer) => {
  started.splice(started.indexOf(cp), 1);
  await cp.close();
};

const release = (key: string) => ({ key, name: key, type: "release", variants: [{ key: "on" }], rollout: 10 });
const at = (ms: number) => new Date(ms).toISOString();
const history = async (api: AdminApi, flag: string) =>
  (await api("GET", `/projects/sched/flags/${flag}/versions`)).body as Array<{
    version: number;
    actor: string;
    action: string;
  }>;
const scheduleOf = async (api: AdminApi, flag: string, id: string) =>
  (await api("GET", `/projects/sched/flags/${flag}/schedules/${id}`)).body as Schedule;

beforeAll(async () => {
  dynamo = await startDynalite();
  token = "schedules-test-admin-token";
  const { cp, api } = await start();
  expect((await api("POST", "/projects", { key: "sched", name: "Schedules" })).status).toBe(201);
  await stop(cp);
});
afterAll(async () => {
  for (const cp of [...started]) await cp.close();
  await dynamo?.close();
});

describe("scheduled changes", () => {
  it("runs once when the control plane restarts around its time, and history says who scheduled it", async () => {
    const { cp, api } = await start();
    expect((await api("POST", "/projects/sched/flags", release("restart"))).status).toBe(201);
    const runAt = clock + 60_000;
    const created = await api("POST", "/projects/sched/flags/restart/schedules", {
      action: "activate",
      runAt: at(runAt),
      version: 1,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: "pending", action: "activate", version: 1, createdBy: "bootstrap" });
    await cp.tick();
    expect((await scheduleOf(api, "restart", created.body.id)).status).toBe("pending"); // not due yet

    await stop(cp); // down across its time
    clock = runAt + 5_000;
    const next = await start();
    await expect
      .poll(async () => (await scheduleOf(next.api, "restart", created.body.id)).status, EVENTUALLY)
      .toBe("done");
    await stop(next.cp);
    const again = await start(); // and a start after it ran does nothing more
    await again.cp.tick();
    await again.cp.tick();

    const flag = (await again.api("GET", "/projects/sched/flags/restart")).body;
    expect(flag).toMatchObject({ status: "active", version: 2 });
    const entries = await history(again.api, "restart");
    expect(entries.map((e) => [e.version, e.actor, e.action])).toEqual([
      [1, "bootstrap", "create"],
      [2, "scheduled by bootstrap", "activate"],
    ]);
    const done = await scheduleOf(again.api, "restart", created.body.id);
    expect(done).toMatchObject({ status: "done", attempts: 1, result: { version: 2 } });
    await stop(again.cp);
  });

  it("runs each schedule once when two watchers race for it", async () => {
    const [a, b] = [await start(), await start()];
    const ids: Array<[string, string]> = [];
    for (let i = 0; i < 4; i++) {
      const key = `race-${i}`;
      expect((await a.api("POST", "/projects/sched/flags", release(key))).status).toBe(201);
      const body = i % 2 ? { action: "activate" } : { action: "update", patch: { rollout: 50 + i } };
      const created = await a.api("POST", `/projects/sched/flags/${key}/schedules`, {
        ...body,
        runAt: at(clock + 1_000),
        version: 1,
      });
      expect(created.status).toBe(201);
      ids.push([key, created.body.id]);
    }
    clock += 2_000;
    await Promise.all([a.cp.tick(), b.cp.tick(), a.cp.tick(), b.cp.tick()]);
    for (const [key, id] of ids) {
      await expect.poll(async () => (await scheduleOf(a.api, key, id)).status, EVENTUALLY).toBe("done");
      expect((await scheduleOf(a.api, key, id)).attempts).toBe(1);
      const entries = await history(a.api, key);
      expect(entries.map((e) => e.version)).toEqual([1, 2]);
      expect(entries[1]!.actor).toBe("scheduled by bootstrap");
    }
    expect((await a.api("GET", "/projects/sched/flags/race-0")).body.rollout).toBe(50);
    await stop(a.cp);
    await stop(b.cp);
  });

  it("finishes, without a second change, a schedule whose watcher stopped after the change landed", async () => {
    const { cp, api } = await start();
    expect((await api("POST", "/projects/sched/flags", release("crash"))).status).toBe(201);
    const created = await api("POST", "/projects/sched/flags/crash/schedules", {
      action: "update",
      patch: { rollout: 75 },
      runAt: at(clock + 1_000),
      version: 1,
    });
    // A watcher claimed it, made the change and stopped before recording it: the claim is still there.
    const db = createDb({ table: "experiments", endpoint: dynamo.endpoint, region: "local" });
    const stuck: Schedule = { ...created.body, status: "running", attempts: 1, claimedUntil: at(clock + 60_000) };
    expect(await writeItem(db, { pk: "PROJECT#sched", sk: `SCHEDULE#crash#${stuck.id}` }, stuck, 1)).toBe(true);
    // …as the watcher would have made it: the same actor, the same patch on version 1.
    const flags = createFlagService({ store: createStore(db), onChange: async () => undefined });
    const base = (await flags.version("sched", "crash", 1)).flag;
    const input = flagWriteSchema.parse({ ...flagInputSchema.parse(base), rollout: 75 });
    await flags.update("sched", "crash", input, 1, scheduledActor(stuck));

    clock += 30_000; // the claim holds: nobody takes it over yet
    await cp.tick();
    expect((await scheduleOf(api, "crash", stuck.id)).status).toBe("running");
    clock += 60_000; // expired: the next watcher takes over, and its replay finds the change made
    await cp.tick();
    const after = await scheduleOf(api, "crash", stuck.id);
    expect(after).toMatchObject({ status: "done", attempts: 2, result: { version: 2 } });
    expect((await history(api, "crash")).map((e) => [e.version, e.actor])).toEqual([
      [1, "bootstrap"],
      [2, "scheduled by bootstrap"],
    ]);
    expect((await api("GET", "/projects/sched/flags/crash")).body).toMatchObject({ version: 2, rollout: 75 });
    await stop(cp);
  });

  it("reports a schedule made against an old version as a conflict and changes nothing", async () => {
    const { cp, api } = await start();
    expect((await api("POST", "/projects/sched/flags", release("stale"))).status).toBe(201);
    const created = await api("POST", "/projects/sched/flags/stale/schedules", {
      action: "update",
      patch: { rollout: 90 },
      runAt: at(clock + 1_000),
      version: 1,
    });
    expect((await api("PATCH", "/projects/sched/flags/stale", { rollout: 20, version: 1 })).status).toBe(200);
    clock += 2_000;
    await cp.tick();
    // Another watcher may hold it a moment longer: wait for the outcome, whoever records it.
    await expect
      .poll(async () => (await scheduleOf(api, "stale", created.body.id)).status, EVENTUALLY)
      .not.toBe("running");
    const outcome = await scheduleOf(api, "stale", created.body.id);
    expect(outcome).toMatchObject({ status: "conflict", result: { currentVersion: 2 } });
    expect(outcome.result!.message).toContain("changed since version 1");
    const flag = (await api("GET", "/projects/sched/flags/stale")).body;
    expect(flag).toMatchObject({ version: 2, rollout: 20 });
    await stop(cp);
  });

  it("lists and cancels; refuses bad schedules with a clear 4xx", async () => {
    const { cp, api } = await start();
    expect((await api("POST", "/projects/sched/flags", release("api"))).status).toBe(201);
    const path = "/projects/sched/flags/api/schedules";
    const later = await api("POST", path, { action: "activate", runAt: at(clock + 7_200_000), version: 1 });
    const sooner = await api(
      "POST",
      path,
      { action: "update", patch: { rollout: 40 }, runAt: at(clock + 3_600_000) },
      { "if-match": '"1"' },
    );
    expect([later.body, sooner.body]).toMatchObject([{ status: "pending" }, { status: "pending" }]);
    expect((await api("GET", path)).body.map((s: Schedule) => s.id)).toEqual([sooner.body.id, later.body.id]);

    const cancelled = await api("DELETE", `${path}/${later.body.id}`);
    expect(cancelled.body).toMatchObject({ status: "cancelled", cancelledBy: "bootstrap" });
    expect((await api("DELETE", `${path}/${later.body.id}`)).status).toBe(409);
    clock += 7_300_000;
    await cp.tick();
    expect((await scheduleOf(api, "api", later.body.id)).status).toBe("cancelled");
    expect((await api("GET", "/projects/sched/flags/api")).body).toMatchObject({ status: "inactive", rollout: 40 });

    const bad = async (body: unknown, headers = {}) => api("POST", path, body, headers);
    const runAt = at(clock + 60_000);
    expect((await bad({ action: "activate", runAt })).status).toBe(428);
    expect((await bad({ action: "launch", runAt, version: 2 })).status).toBe(400);
    expect((await bad({ action: "activate", runAt: "monday", version: 2 })).status).toBe(400);
    expect((await bad({ action: "update", runAt, version: 2 })).body.error.message).toContain("patch");
    expect((await bad({ action: "update", patch: { rollout: 150 }, runAt, version: 2 })).status).toBe(400);
    expect((await bad({ action: "activate", patch: { rollout: 1 }, runAt, version: 2 })).status).toBe(400);
    expect((await bad({ action: "decide", variant: "nope", runAt, version: 2 })).status).toBe(400);
    expect((await bad({ action: "activate", runAt, version: 9 })).status).toBe(409);
    expect((await bad({ action: "activate", runAt, version: 2, extra: 1 })).status).toBe(400);
    expect(
      (await api("POST", "/projects/sched/flags/none/schedules", { action: "activate", runAt, version: 1 })).status,
    ).toBe(404);
    expect((await api("GET", `${path}/nope`)).status).toBe(404);
    await stop(cp);
  });
});
