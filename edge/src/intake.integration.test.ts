/**
 * What the edge takes in from clients, through real workerd: groups in both of Amplitude's
 * forms, nesting refused on every intake route before anything walks it, and one user's
 * oversize input never costing another user's exposures.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EvaluationFlag } from "../../shared/evaluation/index.js";
import type { QueueMessage, SingleMessage } from "../../shared/events.js";
import { startEdge, type EdgeHarness } from "../../test/support/edge-harness.js";
import { TEST_FLAGS } from "../../test/support/flags.js";
import { sendToQueue } from "./queue.js";

const KEY = "client-key-intake";
const EVERYONE_KEY = "client-key-everyone";
const OFF = { key: "off", metadata: { default: true } };

/** An experiment bucketed by company: half the companies get `a`, half `b`. */
const byCompany: EvaluationFlag = {
  key: "team-plan",
  metadata: { flagType: "experiment", experimentKey: "team-plan" },
  variants: { off: OFF, a: { key: "a", value: "a" }, b: { key: "b", value: "b" } },
  segments: [
    {
      bucket: {
        selector: ["context", "groups", "company_id", "group_name"],
        salt: "team-plan",
        allocations: [
          {
            range: [0, 100],
            distributions: [
              { variant: "a", range: [0, 21474836] },
              { variant: "b", range: [21474836, 42949673] },
            ],
          },
        ],
      },
      variant: "off",
    },
  ],
};

/** An experiment every user is exposed to. */
const everyone: EvaluationFlag = {
  key: "everyone",
  metadata: { flagType: "experiment", experimentKey: "everyone" },
  variants: { off: OFF, on: { key: "on", value: "on" } },
  segments: [{ variant: "on" }],
};

let edge: EdgeHarness;
const auth = { authorization: `Api-Key ${KEY}` };
const post = (path: string, body: unknown, headers: Record<string, string> = auth) =>
  fetch(`${edge.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = (response: Response): Promise<any> => response.json();
const exposuresOf = (messages: SingleMessage[]) =>
  messages.flatMap((m) => (m.type === "exposures" ? m.exposures.map((e) => ({ ...e, message: m })) : []));
/** A value nested `depth` levels deep, as JSON text. */
const nested = (depth: number) => `${'{"d":'.repeat(depth)}1${"}".repeat(depth)}`;

beforeAll(async () => {
  edge = await startEdge();
  await edge.publish(KEY, { keyType: "client", deployment: "web", flags: [...TEST_FLAGS, byCompany] });
  await edge.publish(EVERYONE_KEY, { keyType: "client", deployment: "web", flags: [everyone] });
});
afterAll(() => edge.dispose());
beforeEach(() => edge.clearReceived());

describe("groups as Amplitude's analytics SDKs send them ({company_id: 'co'})", () => {
  it("evaluates a string group like a one-name list, in remote evaluation", async () => {
    for (let i = 0; i < 10; i++) {
      const asString = await post("/sdk/v2/vardata", { user_id: `u${i}`, groups: { company_id: `co-${i}` } });
      expect(asString.status).toBe(200);
      const asList = await post("/sdk/v2/vardata", { user_id: `u${i}`, groups: { company_id: [`co-${i}`] } });
      expect((await json(asString))["team-plan"]).toEqual((await json(asList))["team-plan"]);
    }
  });

  it("confirms group-bucketed client exposures sent with string groups: 20 of 20 trusted", async () => {
    const events = [];
    for (let i = 0; i < 20; i++) {
      const served = await json(
        await post(
          "/sdk/v2/vardata",
          { user_id: `member-${i}`, groups: { company_id: [`company-${i}`] } },
          { ...auth, "X-Amp-Exp-Exposure-Track": "no-track" },
        ),
      );
      events.push({
        user_id: `member-${i}`,
        event_type: "$exposure",
        groups: { company_id: `company-${i}` },
        event_properties: { flag_key: "team-plan", variant: served["team-plan"].key },
      });
    }
    expect(new Set(events.map((e) => e.event_properties.variant))).toEqual(new Set(["a", "b"]));
    expect((await post("/track", events)).status).toBe(202);
    const exposures = exposuresOf(await edge.received(20)).filter(
      (e) => e.flagKey === "team-plan" && e.message.source === "client",
    );
    expect(exposures).toHaveLength(20);
    expect(exposures.filter((e) => e.untrusted)).toEqual([]);
    expect(exposures[0]!.message.groups).toEqual({ company_id: expect.stringMatching(/^company-\d+$/) });
  });
});

describe("nesting, refused on every intake route before anything walks it", () => {
  const good = (i: number) => ({ user_id: `good-${i}`, event_type: "purchase", event_properties: { amount: i } });
  const body = (path: string, deep: string) => {
    const events = `[${Array.from({ length: 10 }, (_, i) => JSON.stringify(good(i))).join(",")},${deep}]`;
    return path === "/track" ? `{"events":${events}}` : `{"api_key":"${KEY}","events":${events}}`;
  };

  it("answers /2/httpapi and /batch 400 naming the event whose groups nest 3,000 deep, and queues nothing", async () => {
    for (const path of ["/2/httpapi", "/batch"]) {
      const response = await post(path, body(path, `{"user_id":"bad","event_type":"e","groups":${nested(3000)}}`), {});
      expect(response.status, path).toBe(400);
      const answer = await json(response);
      expect(answer).toMatchObject({ code: 400, events_with_invalid_fields: { groups: [10] } });
      expect(answer.error).toContain("Event 10: groups is nested deeper than");
    }
    expect(await edge.received(0, 300)).toEqual([]);
  });

  it("answers deep event_properties with 400, not 500, on /2/httpapi, /batch and /track", async () => {
    for (const depth of [20, 3000, 100_000]) {
      for (const path of ["/2/httpapi", "/batch", "/track"]) {
        const deep = `{"user_id":"bad","event_type":"e","event_properties":${nested(depth)}}`;
        const response = await post(path, body(path, deep));
        expect(response.status, `${path} at depth ${depth}`).toBe(400);
        expect(JSON.stringify(await json(response))).toContain("Event 10: event_properties is nested deeper than");
      }
    }
    expect(await edge.received(0, 300)).toEqual([]);
  });

  it("takes the same events once they are within the depth limit", async () => {
    const response = await post("/2/httpapi", body("/2/httpapi", JSON.stringify(good(10))), {});
    expect(await json(response)).toMatchObject({ code: 200, events_ingested: 11 });
    const events = (await edge.received(1)).flatMap((m) => (m.type === "events" ? m.events : []));
    expect(events).toHaveLength(11);
  });

  it("refuses a remote-evaluation user nested too deep with 400", async () => {
    const response = await post("/sdk/v2/vardata", `{"user_id":"u","groups":${nested(3000)}}`);
    expect(response.status).toBe(400);
    expect((await json(response)).error.message).toContain("nested deeper than");
  });
});

describe("one user's oversize input never costs other users their exposures", () => {
  it("counts all 220 exposures of 200 users and 20 users sending 28 KB of groups each", async () => {
    const groups = Object.fromEntries(Array.from({ length: 28 }, (_, i) => [`type-${i}`, "g".repeat(1000)]));
    const users = [
      ...Array.from({ length: 200 }, (_, i) => ({ user_id: `legit-${i}` })),
      ...Array.from({ length: 20 }, (_, i) => ({ user_id: `heavy-${i}`, groups })),
    ];
    const statuses = await Promise.all(
      users.map(
        async (user) => (await post("/sdk/v2/vardata", user, { authorization: `Api-Key ${EVERYONE_KEY}` })).status,
      ),
    );
    expect(statuses.every((status) => status === 200)).toBe(true);
    const exposed = async () => new Set(exposuresOf(await edge.received(220)).map((e) => e.message.userId)).size;
    await expect.poll(exposed, { timeout: 10_000 }).toBe(220);
  });

  it("refuses groups past the limit with a clear 400, on remote evaluation and on /track", async () => {
    const groups = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`type-${i}`, "g".repeat(1000)]));
    const evaluation = await post("/sdk/v2/vardata", { user_id: "u", groups });
    expect(evaluation.status).toBe(400);
    expect((await json(evaluation)).error.message).toContain("groups is larger than 32 KiB");
    const tooMany = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`t${i}`, "g"]));
    const event = { user_id: "u", event_type: "$exposure", event_properties: { flag_key: "everyone", variant: "on" } };
    const tracked = await post("/track", [event, { ...event, groups: tooMany }]);
    expect(tracked.status).toBe(400);
    expect((await json(tracked)).error.message).toBe("Event 1: groups has more than 100 group types");
  });

  it("delivers the rest of a batch the queue refuses one message of", async () => {
    const queue = await edge.mf.getQueueProducer<QueueMessage>("EVENTS", "edge");
    const good = Array.from(
      { length: 30 },
      (_, i): QueueMessage => ({
        type: "events",
        deployment: "web",
        events: [{ user_id: `kept-${i}`, event_type: "e", time: Date.now() }],
      }),
    );
    // 130 KB as a structured clone (two-byte characters): past the queue's 128 KB for one message.
    const poison: QueueMessage = {
      type: "events",
      deployment: "web",
      events: [
        { user_id: "poison", event_type: "e", time: Date.now(), event_properties: { blob: "é€".repeat(32_500) } },
      ],
    };
    await sendToQueue(queue, [...good.slice(0, 15), poison, ...good.slice(15)], { retryDelaysMs: [0, 0] });
    const kept = async () =>
      (await edge.received(30)).flatMap((m) => (m.type === "events" ? m.events.map((e) => e.user_id) : [])).sort();
    await expect.poll(kept, { timeout: 10_000 }).toEqual(good.map((_, i) => `kept-${i}`).sort());
  });
});
