/**
 * What the edge takes in from clients, through real workerd: groups in both of Amplitude's
 * forms, nesting refused on every intake route before anything walks it, and one user's
 * oversize input never costing another user's exposures.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EvaluationFlag } from "../../shared/evaluation/index.js";
import type { SingleMessage } from "../../shared/events.js";
import { startEdge, type EdgeHarness } from "../../test/support/edge-harness.js";
import { TEST_FLAGS } from "../../test/support/flags.js";

const KEY = "client-key-intake";
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
