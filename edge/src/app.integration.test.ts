import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startEdge, type EdgeHarness } from "../../test/support/edge-harness.js";
import { TEST_FLAGS } from "../../test/support/flags.js";
import type { SingleMessage } from "../../shared/events.js";

const SERVER_KEY = "server-key-0001";
const CLIENT_KEY = "client-key-0001";

let edge: EdgeHarness;
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${edge.url}${path}`, { headers });
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${edge.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
// Responses are read loosely: the assertions check their shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = (response: Response): Promise<any> => response.json();
const auth = (key = SERVER_KEY) => ({ authorization: `Api-Key ${key}` });

async function expectError(response: Response, status: number, code?: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/application\/json/);
  const body = (await json(response)) as { error: { code: string; message: string } };
  expect(body.error.message).toEqual(expect.any(String));
  if (code) expect(body.error.code).toBe(code);
  return body;
}

beforeAll(async () => {
  edge = await startEdge();
  await edge.publish(SERVER_KEY, { keyType: "server", deployment: "web", flags: TEST_FLAGS });
  await edge.publish(CLIENT_KEY, { keyType: "client", deployment: "web", flags: TEST_FLAGS });
});
afterAll(() => edge.dispose());

describe("remote evaluation v2", () => {
  it("evaluates the user from X-Amp-Exp-User, defaults included", async () => {
    const response = await get("/sdk/v2/vardata?v=0", {
      ...auth(CLIENT_KEY),
      "X-Amp-Exp-User": b64url({ user_id: "user-1", device_id: "d" }),
    });
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body["checkout-redesign"]).toMatchObject({
      key: "treatment",
      value: "treatment",
      payload: { color: "green" },
    });
    expect(body["checkout-banner"]).toMatchObject({ key: "on" });
    expect(body["sso"]).toMatchObject({ key: "off", metadata: { default: true } });
  });

  it("accepts standard base64 with padding and a lower-case prefix", async () => {
    const user = Buffer.from(JSON.stringify({ user_id: "user-4" })).toString("base64");
    const response = await get("/sdk/v2/vardata", { authorization: `api-key ${CLIENT_KEY}`, "X-Amp-Exp-User": user });
    expect((await json(response))["checkout-redesign"].key).toBe("control");
  });

  it("decodes non-ASCII users from the header as UTF-8", async () => {
    const user = { user_id: "用户-1", device_id: "Zoë", user_properties: { beta: true } };
    const viaHeader = await json(
      await get("/sdk/v2/vardata", {
        ...auth(),
        "X-Amp-Exp-User": b64url(user),
        "X-Amp-Exp-Exposure-Track": "no-track",
      }),
    );
    const viaBody = await json(
      await post("/sdk/v2/vardata", user, { ...auth(), "X-Amp-Exp-Exposure-Track": "no-track" }),
    );
    expect(viaHeader).toEqual(viaBody);
    expect(viaHeader["new-onboarding"].key).toBe("on"); // the beta rule saw the decoded properties
    await expectError(
      await get("/sdk/v2/vardata", {
        ...auth(),
        "X-Amp-Exp-User": Buffer.from([0x7b, 0xff, 0x7d]).toString("base64url"),
      }),
      400,
    );
  });

  it("takes the user as a POST body and limits results to the requested keys", async () => {
    const response = await post(
      "/sdk/v2/vardata",
      { user_id: "user-1" },
      { ...auth(), "X-Amp-Exp-Flag-Keys": b64url(["checkout-banner"]) },
    );
    expect(Object.keys(await json(response))).toEqual(["checkout-banner"]);
  });

  it("reads groups and group properties", async () => {
    const user = {
      user_id: "u",
      groups: { company: ["acme"] },
      group_properties: { company: { acme: { plan: "enterprise" } } },
    };
    const response = await get("/sdk/v2/vardata", { ...auth(), "X-Amp-Exp-User": b64url(user) });
    expect((await json(response))["sso"].key).toBe("on");
  });
});

describe("remote evaluation v1", () => {
  it("omits default variants and reads context JSON", async () => {
    const context = encodeURIComponent(JSON.stringify({ user_properties: { beta: true } }));
    const response = await get(`/v1/vardata?user_id=user-2&flag_keys=new-onboarding,sso&context=${context}`, auth());
    expect(await json(response)).toEqual({ "new-onboarding": expect.objectContaining({ key: "on" }) });
  });

  it("accepts flag_key and POST", async () => {
    expect(Object.keys(await json(await get("/v1/vardata?user_id=user-1&flag_key=checkout-redesign", auth())))).toEqual(
      ["checkout-redesign"],
    );
    const response = await post("/v1/vardata", { user_id: "user-1", flag_keys: ["checkout-redesign"] }, auth());
    expect((await json(response))["checkout-redesign"].key).toBe("treatment");
  });

  it("answers 400 for context that is not JSON or a user with no id", async () => {
    await expectError(await get("/v1/vardata?user_id=a&context=%7Bnot", auth()), 400, "invalid_json");
    await expectError(await get("/v1/vardata", auth()), 400, "bad_request");
  });
});

describe("keys", () => {
  it("401 without a key or with an unknown one, 403 for a client key on flag configs", async () => {
    await expectError(await get("/sdk/v2/flags"), 401, "unauthorized");
    await expectError(await get("/sdk/v2/flags", auth("no-such-key-123")), 401, "unauthorized");
    await expectError(await get("/sdk/v2/flags", { authorization: "Api-Key ../../etc" }), 401, "unauthorized");
    await expectError(await get("/sdk/v2/flags", auth(CLIENT_KEY)), 403, "forbidden");
  });

  it("serves flag configs to server keys with an ETag", async () => {
    const response = await get("/sdk/v2/flags?v=0", auth());
    expect(response.status).toBe(200);
    const flags = (await json(response)) as Array<{ key: string }>;
    expect(flags.map((f) => f.key).sort()).toEqual(TEST_FLAGS.map((f) => f.key).sort());
    const again = await get("/sdk/v2/flags", { ...auth(), "if-none-match": response.headers.get("etag")! });
    expect(again.status).toBe(304);
  });
});

describe("exposures", () => {
  beforeEach(() => edge.clearReceived());

  it("sends one exposure per user, flag and variant to the queue", async () => {
    const headers = { ...auth(), "X-Amp-Exp-User": b64url({ user_id: "user-1", device_id: "dev-1" }) };
    for (let i = 0; i < 3; i++) expect((await get("/sdk/v2/vardata", headers)).status).toBe(200);
    const messages = await edge.received(1);
    // A later user's exposure: the isolate's buffer sends in order, so once it has arrived any duplicate sent for
    // dev-1 has too.
    await get("/sdk/v2/vardata", {
      ...auth(),
      "X-Amp-Exp-User": b64url({ user_id: "user-1", device_id: "dev-1-end" }),
    });
    await expect
      .poll(async () => (await edge.receivedSoFar()).some((m) => m.type === "exposures" && m.deviceId === "dev-1-end"))
      .toBe(true);
    // Only this test's device: messages of earlier tests may still be arriving.
    const exposures = (await edge.receivedSoFar()).filter((m) => m.type === "exposures" && m.deviceId === "dev-1");
    expect(messages.length).toBeGreaterThan(0);
    expect(exposures).toEqual([
      expect.objectContaining({
        type: "exposures",
        deployment: "web",
        userId: "user-1",
        deviceId: "dev-1",
        source: "remote-evaluation",
        exposures: [
          {
            flagKey: "checkout-redesign",
            variant: "treatment",
            experimentKey: "exp-checkout",
            allocation: "control=50,treatment=50",
          },
        ],
      }),
    ]);
  });

  it("sends none for default variants, release flags or an opt-out", async () => {
    // not allocated
    await get("/sdk/v2/vardata", { ...auth(), "X-Amp-Exp-User": b64url({ user_id: "user-2", device_id: "quiet" }) });
    await get("/sdk/v2/vardata", {
      ...auth(),
      "X-Amp-Exp-User": b64url({ user_id: "user-4", device_id: "quiet" }),
      "X-Amp-Exp-Exposure-Track": "no-track",
    });
    expect((await edge.received(0, 500)).filter((m) => m.type === "exposures" && m.deviceId === "quiet")).toEqual([]);
  });
});

describe("/track", () => {
  beforeEach(() => edge.clearReceived());

  it("queues events and turns $exposure events into exposures", async () => {
    const events = [
      {
        user_id: "user-1",
        event_type: "purchase_completed",
        time: Date.now() - 60_000,
        event_properties: { amount: 12.5 },
        insert_id: "i-1",
      },
      {
        user_id: "user-4",
        device_id: "dev-9",
        event_type: "$exposure",
        event_properties: { flag_key: "checkout-redesign", variant: "control", experiment_key: "exp-checkout" },
      },
    ];
    const response = await post("/track", { events }, auth(CLIENT_KEY));
    expect(response.status).toBe(202);
    expect(await json(response)).toEqual({ accepted: 2 });
    const messages = await edge.received(2);
    expect(messages).toEqual(
      expect.arrayContaining([
        { type: "events", deployment: "web", events: [events[0]] },
        expect.objectContaining({
          type: "exposures",
          deviceId: "dev-9",
          source: "client",
          exposures: [
            {
              flagKey: "checkout-redesign",
              variant: "control",
              experimentKey: "exp-checkout",
              allocation: "control=50,treatment=50",
            },
          ],
        }),
      ]),
    );
  });

  it("packs many events into few messages", async () => {
    const events = Array.from({ length: 1000 }, (_, i) => ({
      user_id: `u${i}`,
      event_type: "page_view",
      time: Date.now(),
      event_properties: { path: "/x".repeat(50) },
    }));
    expect((await post("/track", events, auth())).status).toBe(202);
    const messages = await edge.received(1);
    const eventsOf = (all: SingleMessage[]) => all.flatMap((m) => (m.type === "events" ? m.events : []));
    await expect.poll(async () => eventsOf(await edge.receivedSoFar()).length).toBeGreaterThanOrEqual(1000);
    const batches = (await edge.receivedSoFar()).filter((m) => m.type === "events");
    expect(batches.flatMap((m) => (m.type === "events" ? m.events : []))).toHaveLength(1000);
    expect(batches.length).toBeLessThanOrEqual(5);
    expect(messages.length).toBeGreaterThan(0);
  });

  it("marks a client exposure the edge would not serve as untrusted: a client key cannot move a user", async () => {
    // The edge buckets user-1 into treatment and user-2 into no variant at all.
    const forged = [
      {
        user_id: "user-1",
        event_type: "$exposure",
        event_properties: { flag_key: "checkout-redesign", variant: "control" },
      },
      {
        user_id: "user-2",
        event_type: "$exposure",
        event_properties: { flag_key: "checkout-redesign", variant: "treatment" },
      },
      {
        user_id: "user-1",
        device_id: "honest",
        event_type: "$exposure",
        event_properties: { flag_key: "checkout-redesign", variant: "treatment" },
      },
    ];
    expect((await post("/track", { events: forged }, auth(CLIENT_KEY))).status).toBe(202);
    const exposures = (await edge.received(3))
      .filter((m) => m.type === "exposures")
      .flatMap((m) =>
        m.type === "exposures" ? m.exposures.map((e) => ({ ...e, user: m.userId, device: m.deviceId })) : [],
      );
    expect(exposures).toEqual(
      expect.arrayContaining([
        { flagKey: "checkout-redesign", variant: "control", untrusted: true, user: "user-1", device: undefined },
        { flagKey: "checkout-redesign", variant: "treatment", untrusted: true, user: "user-2", device: undefined },
        // Confirmed: it carries the allocation the edge served it under, for the sample-ratio check.
        {
          flagKey: "checkout-redesign",
          variant: "treatment",
          allocation: "control=50,treatment=50",
          user: "user-1",
          device: "honest",
        },
      ]),
    );
  });

  it("refuses times outside the window and numbers beyond ±1e15, naming the event, and queues nothing", async () => {
    const ok = { user_id: "u", event_type: "purchase", event_properties: { amount: 10 } };
    const old = await expectError(
      await post("/track", [ok, { ...ok, time: Date.now() - 40 * 86_400_000 }], auth()),
      400,
      "bad_request",
    );
    expect(JSON.stringify(old)).toContain("Event 1");
    await expectError(await post("/track", [{ ...ok, time: Date.now() + 2 * 3_600_000 }], auth()), 400, "bad_request");
    const huge = await expectError(
      await post("/track", [ok, ok, { ...ok, event_properties: { order: { total: 1e16 } } }], auth()),
      400,
      "bad_request",
    );
    expect(JSON.stringify(huge)).toContain("event_properties.order.total");
    expect(await edge.received(0, 300)).toEqual([]);
  });

  it("rejects an event larger than a queue message with 413", async () => {
    const big = { user_id: "u", event_type: "e", event_properties: { blob: "x".repeat(70_000) } };
    await expectError(await post("/track", { events: [big] }, auth()), 413, "payload_too_large");
  });

  it("rejects events without ids, with a zod path, and queues nothing", async () => {
    const body = await expectError(
      await post("/track", [{ event_type: "x" }, { user_id: 5, event_type: "y" }], auth()),
      400,
      "validation_failed",
    );
    expect(JSON.stringify(body)).toContain("user_id");
    expect(await edge.received(0, 300)).toEqual([]);
  });
});

describe("bad input", () => {
  it("answers malformed JSON, bad base64 and wrong types with 400", async () => {
    await expectError(await post("/sdk/v2/vardata", "{oops", auth()), 400, "invalid_json");
    await expectError(await get("/sdk/v2/vardata", { ...auth(), "X-Amp-Exp-User": "!!!not base64!!!" }), 400);
    await expectError(
      await get("/sdk/v2/vardata", { ...auth(), "X-Amp-Exp-User": b64url("just a string") }),
      400,
      "validation_failed",
    );
    const body = await expectError(await post("/sdk/v2/vardata", { user_id: 42 }, auth()), 400, "validation_failed");
    expect(body.error.message).toContain("user_id");
    await expectError(await get("/sdk/v2/vardata", auth()), 400);
  });

  it("limits body size (413), flag keys and nesting depth (400)", async () => {
    await expectError(
      await post("/sdk/v2/vardata", { user_id: "u", user_properties: { big: "x".repeat(100_000) } }, auth()),
      413,
      "payload_too_large",
    );
    const keys = Array.from({ length: 1500 }, (_, i) => `f${i}`);
    await expectError(
      await post("/sdk/v2/vardata", { user_id: "u" }, { ...auth(), "X-Amp-Exp-Flag-Keys": b64url(keys) }),
      400,
      "validation_failed",
    );
    const huge = Array.from({ length: 3500 }, (_, i) => `flag-${i}`); // ~56 KB: over our limit, under workerd's own 431
    await expectError(
      await post("/sdk/v2/vardata", { user_id: "u" }, { ...auth(), "X-Amp-Exp-Flag-Keys": b64url(huge) }),
      413,
      "payload_too_large",
    );
    const deep = `{"user_id":"u","user_properties":${'{"d":'.repeat(5000)}1${"}".repeat(5001)}`;
    await expectError(await post("/sdk/v2/vardata", deep, auth()), 400, "bad_request");
  });

  it("answers 413 to every oversized body and keeps the connection usable", async () => {
    // Answering before the body is read made workerd reset the socket while the client was
    // still writing it (ECONNRESET, most runs of this loop): the body is drained first.
    const big = JSON.stringify({ user_id: "u", user_properties: { big: "x".repeat(5_000_000) } });
    const keys = b64url(Array.from({ length: 1500 }, (_, i) => `f${i}`));
    for (let i = 0; i < 20; i++) {
      await expectError(await post("/sdk/v2/vardata", big, auth()), 413, "payload_too_large");
      await expectError(
        await post("/sdk/v2/vardata", { user_id: "u" }, { ...auth(), "X-Amp-Exp-Flag-Keys": keys }),
        400,
        "validation_failed",
      );
    }
  });

  it("answers unknown routes with a JSON 404 and supports CORS preflight", async () => {
    await expectError(await get("/nope"), 404, "not_found");
    const preflight = await fetch(`${edge.url}/sdk/v2/vardata`, {
      method: "OPTIONS",
      headers: {
        origin: "https://shop.example",
        "access-control-request-method": "GET",
        "access-control-request-headers": "authorization,x-amp-exp-user",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("x-amp-exp-user");
  });

  it("reports health", async () => {
    expect(await json(await get("/health"))).toEqual({ status: "ok" });
  });
});

describe("group flags", () => {
  it("evaluates mutual-exclusion flags for their members but never lists them", async () => {
    const key = "group-key-00001";
    const mutex = {
      key: "$mutex-g",
      metadata: { flagType: "mutual-exclusion-group" },
      variants: { off: { key: "off", metadata: { default: true } }, member: { key: "member" } },
      segments: [{ variant: "member" }],
    };
    const member = {
      key: "member",
      dependencies: ["$mutex-g"],
      metadata: { flagType: "experiment" },
      variants: { off: { key: "off", metadata: { default: true } }, on: { key: "on" } },
      segments: [
        {
          conditions: [[{ selector: ["result", "$mutex-g", "key"], op: "is not", values: ["member"] }]],
          variant: "off",
        },
        { variant: "on" },
      ],
    };
    await edge.publish(key, { version: 1, flags: [mutex, member] });
    const headers = {
      ...auth(key),
      "X-Amp-Exp-User": b64url({ user_id: "u" }),
      "X-Amp-Exp-Exposure-Track": "no-track",
    };
    expect(await json(await get("/sdk/v2/vardata", headers))).toEqual({
      member: expect.objectContaining({ key: "on" }),
    });
    expect(
      await json(await get("/sdk/v2/vardata", { ...headers, "X-Amp-Exp-Flag-Keys": b64url(["$mutex-g", "member"]) })),
    ).toEqual({ member: expect.objectContaining({ key: "on" }) });
    const bulk = await json(await post("/ofrep/v1/evaluate/flags", { context: { targetingKey: "u" } }, auth(key)));
    expect(bulk.flags.map((f: { key: string }) => f.key)).toEqual(["member"]);
    expect(
      (await post("/ofrep/v1/evaluate/flags/$mutex-g", { context: { targetingKey: "u" } }, auth(key))).status,
    ).toBe(404);
  });
});

describe("publishing", () => {
  it("serves a newly published version and keeps the last good copy when a document is invalid", async () => {
    const key = "publish-key-001";
    const user = { ...auth(key), "X-Amp-Exp-User": b64url({ user_id: "user-1" }) };
    await edge.publish(key, { version: 1, flags: TEST_FLAGS });
    expect((await json(await get("/sdk/v2/vardata", user)))["checkout-redesign"].key).toBe("treatment");

    const [experiment, ...rest] = TEST_FLAGS;
    const allControl = { ...experiment!, segments: [{ variant: "control" }] };
    await edge.publish(key, { version: 2, flags: [allControl, ...rest] });
    await expect
      .poll(async () => (await json(await get("/sdk/v2/vardata", user)))["checkout-redesign"].key, { timeout: 3000 })
      .toBe("control");

    const flagsKv = await edge.mf.getKVNamespace("FLAGS", "edge");
    await flagsKv.put(`apikey:${key}`, '{"version": 3, "flags": "broken"}');
    // Requests until one has read the broken copy (past the 20 ms TTL they revalidate), which the edge logs refusing.
    const served: string[] = [];
    await expect
      .poll(async () => {
        served.push((await json(await get("/sdk/v2/vardata", user)))["checkout-redesign"].key);
        return edge.stderr().includes("Ignoring an invalid deployment document");
      })
      .toBe(true);
    for (let i = 0; i < 3; i++) served.push((await json(await get("/sdk/v2/vardata", user)))["checkout-redesign"].key);
    expect(new Set(served)).toEqual(new Set(["control"]));
  });
});
