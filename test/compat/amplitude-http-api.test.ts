/**
 * Amplitude's analytics SDK, unchanged, sending to the edge's HTTP API (`serverUrl`):
 * metric events and `$exposure` events land in the same queue as `/track`'s, and bad
 * requests get Amplitude's error shapes.
 */
import { createInstance } from "@amplitude/analytics-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EvaluationFlag } from "../../shared/evaluation/index.js";
import { startEdge, type EdgeHarness } from "../support/edge-harness.js";

const KEY = "client-httpapi-key-01";
const everyone: EvaluationFlag = {
  key: "exp",
  metadata: { flagType: "experiment", experimentKey: "exp" },
  variants: { off: { key: "off", metadata: { default: true } }, on: { key: "on" } },
  segments: [
    {
      bucket: {
        selector: ["context", "user", "user_id"],
        salt: "s",
        allocations: [{ range: [0, 100], distributions: [{ variant: "on", range: [0, 42949673] }] }],
      },
      variant: "off",
    },
  ],
};
let edge: EdgeHarness;

beforeAll(async () => {
  edge = await startEdge();
  await edge.publish(KEY, { keyType: "client", deployment: "web", flags: [everyone] });
});
afterAll(() => edge?.dispose());

const post = (path: string, body: unknown) =>
  fetch(`${edge.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

describe("Amplitude's HTTP API at the edge", () => {
  it("takes @amplitude/analytics-node's events and exposures into the pipeline", async () => {
    await edge.clearReceived();
    const client = createInstance();
    await client.init(KEY, {
      serverUrl: `${edge.url}/2/httpapi`,
      flushQueueSize: 50,
      flushIntervalMillis: 60_000,
      logLevel: 0,
    }).promise;
    const sent = [
      client.track("purchase", { amount: 12.5 }, { user_id: "http-user-1" }).promise,
      client.track("$exposure", { flag_key: "exp", variant: "on" }, { user_id: "http-user-1" }).promise,
      client.track("$exposure", { flag_key: "exp", variant: "off-by-lie" }, { user_id: "http-user-2", device_id: "d2" })
        .promise,
    ];
    await client.flush().promise;
    const results = await Promise.all(sent);
    expect(results.map((r) => r.code)).toEqual([200, 200, 200]);
    const messages = await edge.received(2);
    const events = messages.flatMap((m) => (m.type === "events" ? m.events : []));
    expect(events).toEqual([
      expect.objectContaining({
        user_id: "http-user-1",
        event_type: "purchase",
        event_properties: { amount: 12.5 },
        insert_id: expect.any(String),
      }),
    ]);
    const exposures = messages.flatMap((m) =>
      m.type === "exposures" ? m.exposures.map((e) => ({ ...e, user: m.userId })) : [],
    );
    expect(exposures).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ flagKey: "exp", variant: "on", user: "http-user-1" }),
        // the trust rules apply
        expect.objectContaining({ flagKey: "exp", variant: "off-by-lie", untrusted: true, user: "http-user-2" }),
      ]),
    );
  });

  it("answers as Amplitude does: 200 counts, 400 with the fields and event indexes, 413, invalid key", async () => {
    const ok = await post("/batch", { api_key: KEY, events: [{ event_type: "a", user_id: "u" }] });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      code: 200,
      events_ingested: 1,
      payload_size_bytes: expect.any(Number),
      server_upload_time: expect.any(Number),
    });

    const bad = await post("/2/httpapi", {
      api_key: KEY,
      events: [
        { event_type: "a", user_id: "u" },
        { user_id: "u" },
        { event_type: "b" },
        { event_type: "c", device_id: "d", time: 1 },
      ],
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      code: 400,
      error: "Request missing required field",
      events_with_missing_fields: { event_type: [1], user_id: [2] },
      events_with_invalid_fields: { time: [3] },
    });
    expect(await (await post("/2/httpapi", { events: [] })).json()).toEqual({
      code: 400,
      error: "Request missing required field",
      missing_field: "api_key",
    });
    expect(
      await (
        await post("/2/httpapi", { api_key: "unknown-key-123", events: [{ event_type: "a", user_id: "u" }] })
      ).json(),
    ).toEqual({ code: 400, error: "Invalid API key" });
    expect((await post("/2/httpapi", "{not json")).status).toBe(400);
    const huge = await post("/2/httpapi", {
      api_key: KEY,
      events: [{ event_type: "a", user_id: "u", event_properties: { x: "y".repeat(1_100_000) } }],
    });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toEqual({ code: 413, error: "Payload too large" });
  });
});
