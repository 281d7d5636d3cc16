/**
 * Webhooks on real dynalite, delivering over real HTTP to a receiver the test controls,
 * with the clock in the test's hands (retries wait on it, not on timers): signatures
 * verify with the documented recipe; a receiver down for a minute gets every notification
 * after it returns, in order, once per event id; a receiver that never answers does not
 * slow an edit; "send test", the Slack body, schedule outcomes and the delivery log.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDynalite, type LocalDynamo } from "../../../shared/node/local-dynalite.js";
import { adminApi, type AdminApi } from "../../../test/support/admin-api.js";
import type { KvWriter } from "../publish/kv-writer.js";
import { startControlPlane, type ControlPlaneServer } from "../server.js";

/** Conditions are polled up to this long: a loaded machine is slow, never wrong. */
const EVENTUALLY = { timeout: 30_000 };

/** The verification recipe of docs/releases.md#verifying-a-delivery, as a receiver would write it. */
function verify(secret: string, headers: IncomingMessage["headers"], rawBody: string, nowSeconds: number): boolean {
  const timestamp = Number(headers["webhook-timestamp"]);
  if (!Number.isFinite(timestamp) || Math.abs(nowSeconds - timestamp) > 300) return false; // replayed or stale
  const expected = `v1=${createHmac("sha256", secret).update(`${timestamp}.${rawBody}`).digest("hex")}`;
  const given = String(headers["webhook-signature"] ?? "");
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

interface Received {
  headers: IncomingMessage["headers"];
  body: string;
  json: any;
}

/** A webhook receiver: `up` answers 204, `down` 503, `hang` holds the request until `release`. */
async function startReceiver() {
  const received: Received[] = [];
  let mode: "up" | "down" | "hang" = "up";
  const held: ServerResponse[] = [];
  let attempts = 0;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    req.on("end", () => {
      attempts += 1;
      if (mode === "down") return void res.writeHead(503).end();
      if (mode === "hang") return void held.push(res);
      received.push({ headers: req.headers, body, json: JSON.parse(body) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    held,
    attempts: () => attempts,
    set mode(next: "up" | "down" | "hang") {
      mode = next;
    },
    close: () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

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

let clock = Date.parse("2026-12-07T08:00:00Z");
let dynamo: LocalDynamo;
let cp: ControlPlaneServer;
let api: AdminApi;
const receivers: Receiver[] = [];
const release = (key: string) => ({ key, name: key, type: "release", variants: [{ key: "on" }], rollout: 10 });

async function receiverWithHook(project: string, extra: Record<string, unknown> = {}) {
  const receiver = await startReceiver();
  receivers.push(receiver);
  const hook = await api("POST", `/projects/${project}/webhooks`, { url: receiver.url, ...extra });
  expect(hook.status).toBe(201);
  return { receiver, hook: hook.body as { id: string; secret: string } };
}

async function newProject(key: string) {
  expect((await api("POST", "/projects", { key, name: key })).status).toBe(201);
}

beforeAll(async () => {
  dynamo = await startDynalite();
  cp = await startControlPlane({
    dynamoEndpoint: dynamo.endpoint,
    kv: memoryKv(),
    bootstrapToken: "webhooks-test-admin-token",
    reconcileEveryMs: 60_000,
    releasesEveryMs: 50,
    now: () => clock,
    webhooks: { retryDelaysMs: [1_000, 5_000, 15_000, 30_000], timeoutMs: 20_000 },
  });
  api = adminApi(cp.url, "webhooks-test-admin-token");
});
afterAll(async () => {
  for (const receiver of receivers) await receiver.close();
  await cp?.close();
  await dynamo?.close();
});

describe("webhooks", () => {
  it("signs each delivery so the documented recipe verifies it, with who and the diff", async () => {
    await newProject("signed");
    const { receiver, hook } = await receiverWithHook("signed");
    expect(hook.secret).toMatch(/^whsec_/);
    expect((await api("GET", "/projects/signed/webhooks")).body[0]).not.toHaveProperty("secret");
    expect((await api("POST", "/projects/signed/flags", release("f"))).status).toBe(201);
    expect((await api("PATCH", "/projects/signed/flags/f", { rollout: 30, version: 1 })).status).toBe(200);
    await expect.poll(() => receiver.received.length, EVENTUALLY).toBe(2);
    const [created, changed] = receiver.received;
    for (const delivery of [created!, changed!]) {
      expect(verify(hook.secret, delivery.headers, delivery.body, Math.floor(clock / 1000))).toBe(true);
      expect(verify("whsec_other", delivery.headers, delivery.body, Math.floor(clock / 1000))).toBe(false);
      expect(verify(hook.secret, delivery.headers, `${delivery.body} `, Math.floor(clock / 1000))).toBe(false);
      expect(delivery.headers["webhook-id"]).toBe(delivery.json.id);
    }
    expect(changed!.json).toMatchObject({
      id: "flag-f-v2",
      type: "flag.changed",
      project: "signed",
      data: {
        flag: "f",
        version: 2,
        action: "update",
        actor: "bootstrap",
        diff: [{ type: "CHANGE", path: ["rollout"], oldValue: 10, value: 30 }],
      },
    });
  });

  it("gets every notification once, in order, when the receiver comes back after a minute down", async () => {
    await newProject("outage");
    const { receiver, hook } = await receiverWithHook("outage");
    receiver.mode = "down";
    expect((await api("POST", "/projects/outage/flags", release("f"))).status).toBe(201);
    for (let version = 1; version <= 5; version++) {
      const patched = await api("PATCH", "/projects/outage/flags/f", { rollout: 10 + version, version });
      expect(patched.status).toBe(200);
    }
    const deliveries = () => api("GET", `/projects/outage/webhooks/${hook.id}/deliveries`);
    await expect.poll(async () => (await deliveries()).body.length, EVENTUALLY).toBeGreaterThan(0);
    // A minute passes, a quarter at a time: retries back off (1, 5, 15, 30 s).
    for (let quarter = 0; quarter < 4; quarter++) {
      clock += 15_000;
      await cp.tick();
    }
    const failed = (await deliveries()).body as Array<{ ok: boolean; attempt: number; status?: number }>;
    expect(failed.every((d) => !d.ok && d.status === 503)).toBe(true);
    expect(Math.max(...failed.map((d) => d.attempt))).toBeGreaterThanOrEqual(4);
    expect(failed.length).toBeLessThan(10); // backed off: not one attempt per tick
    expect(receiver.received).toHaveLength(0);

    receiver.mode = "up";
    clock += 30_000;
    await expect.poll(() => receiver.received.length, EVENTUALLY).toBe(6);
    for (let i = 0; i < 2; i++) {
      clock += 30_000;
      await cp.tick(); // nothing more arrives: each event once
    }
    const ids = receiver.received.map((r) => r.json.id);
    expect(ids).toEqual(["flag-f-v1", "flag-f-v2", "flag-f-v3", "flag-f-v4", "flag-f-v5", "flag-f-v6"]);
    expect(receiver.received.map((r) => r.json.data.version)).toEqual([1, 2, 3, 4, 5, 6]);
    const log = (await deliveries()).body as Array<{ ok: boolean; eventId: string }>;
    expect(log.filter((d) => d.ok).map((d) => d.eventId)).toEqual([...ids].reverse());
  });

  it("answers edits at once while a receiver never answers", async () => {
    await newProject("slow");
    const { receiver, hook } = await receiverWithHook("slow");
    receiver.mode = "hang";
    expect((await api("POST", "/projects/slow/flags", release("f"))).status).toBe(201);
    await expect.poll(() => receiver.held.length, EVENTUALLY).toBe(1); // the first delivery is being held
    for (let version = 1; version <= 5; version++)
      expect((await api("PATCH", "/projects/slow/flags/f", { rollout: 10 + version, version })).status).toBe(200);
    // All five edits answered while the receiver still held the first delivery, unanswered.
    expect(receiver.held).toHaveLength(1);
    expect(receiver.received).toHaveLength(0);
    receiver.mode = "up";
    for (const res of receiver.held.splice(0)) res.destroy(); // its attempt fails; the retry gets through
    const deliveries = async () => (await api("GET", `/projects/slow/webhooks/${hook.id}/deliveries`)).body;
    await expect.poll(async () => (await deliveries()).length, EVENTUALLY).toBe(1);
    clock += 60_000;
    await expect.poll(() => receiver.received.length, EVENTUALLY).toBe(6);
    expect(receiver.received.map((r) => r.json.data.version)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("sends a test to one webhook only, and Slack-compatible bodies", async () => {
    await newProject("chat");
    const slack = await receiverWithHook("chat", { format: "slack", events: ["flag.changed", "webhook.test"] });
    const other = await receiverWithHook("chat");
    const test = await api("POST", `/projects/chat/webhooks/${slack.hook.id}/test`);
    expect(test.status).toBe(202);
    await expect.poll(() => slack.receiver.received.length, EVENTUALLY).toBe(1);
    expect(slack.receiver.received[0]!.json).toEqual({ text: "Test notification from project chat" });
    expect(slack.receiver.received[0]!.headers["webhook-id"]).toBe(test.body.eventId);
    expect((await api("POST", "/projects/chat/flags", release("f"))).status).toBe(201);
    expect((await api("PATCH", "/projects/chat/flags/f", { rollout: 50, version: 1 })).status).toBe(200);
    await expect.poll(() => slack.receiver.received.length, EVENTUALLY).toBe(3);
    expect(slack.receiver.received[2]!.json.text).toBe(
      "*bootstrap*: update on flag `f` (v2) in chat\n• rollout: 10 → 50",
    );
    await expect.poll(() => other.receiver.received.length, EVENTUALLY).toBe(2); // the two changes, not the other's test
    expect(other.receiver.received.map((r) => r.json.type)).toEqual(["flag.changed", "flag.changed"]);
  });

  it("notifies a schedule's outcome: executed, or failed on a conflict", async () => {
    await newProject("timed");
    const { receiver } = await receiverWithHook("timed", { events: ["schedule.executed", "schedule.failed"] });
    for (const key of ["ok", "stale"])
      expect((await api("POST", "/projects/timed/flags", release(key))).status).toBe(201);
    const runAt = new Date(clock + 60_000).toISOString();
    const path = (flag: string) => `/projects/timed/flags/${flag}/schedules`;
    const ok = await api("POST", path("ok"), { action: "activate", runAt, version: 1 });
    const stale = await api("POST", path("stale"), { action: "update", patch: { rollout: 99 }, runAt, version: 1 });
    expect((await api("PATCH", "/projects/timed/flags/stale", { rollout: 20, version: 1 })).status).toBe(200);
    clock += 120_000;
    await expect.poll(() => receiver.received.length, EVENTUALLY).toBe(2);
    const byType = Object.fromEntries(receiver.received.map((r) => [r.json.type, r.json]));
    expect(byType["schedule.executed"]).toMatchObject({
      id: `schedule-${ok.body.id}`,
      data: { flag: "ok", action: "activate", status: "done", version: 2, createdBy: "bootstrap" },
    });
    expect(byType["schedule.failed"]).toMatchObject({
      id: `schedule-${stale.body.id}`,
      data: { flag: "stale", status: "conflict", currentVersion: 2 },
    });
  });

  it("refuses bad webhooks with a 400 naming the field, and unknown ones with a 404", async () => {
    await newProject("bad");
    const bad = async (body: unknown) => (await api("POST", "/projects/bad/webhooks", body)).body.error.details[0].path;
    expect(await bad({ url: "not a url" })).toEqual(["url"]);
    expect(await bad({ url: "ftp://example.com/x" })).toEqual(["url"]);
    expect(await bad({ url: "https://example.com/x", format: "xml" })).toEqual(["format"]);
    expect(await bad({ url: "https://example.com/x", events: ["flag.eaten"] })).toEqual(["events", "0"]);
    expect((await api("POST", "/projects/none/webhooks", { url: "https://example.com/x" })).status).toBe(404);
    expect((await api("POST", "/projects/bad/webhooks/nope/test")).status).toBe(404);
    expect((await api("GET", "/projects/bad/webhooks/nope/deliveries")).status).toBe(404);
    expect((await api("DELETE", "/projects/bad/webhooks/nope")).status).toBe(404);
  });
});
