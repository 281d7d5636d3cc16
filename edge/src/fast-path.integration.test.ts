/**
 * The routing fast path for `GET /sdk/v2/vardata` (routes/fast-vardata.ts) in workerd: the
 * same answer as the app's route, and every case it declines still answered by the app.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEdge, type EdgeHarness } from "../../test/support/edge-harness.js";
import { TEST_FLAGS } from "../../test/support/flags.js";

const KEY = "fast-key-0000001";
const LIMITED_KEY = "fast-key-limited";
const BUDGET = 30; // above what the other tests send with KEY
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
let edge: EdgeHarness;

beforeAll(async () => {
  // A long cache interval: after its first request the isolate holds the deployment fresh.
  edge = await startEdge({ flagCacheTtlMs: 60_000, rateLimitPer10s: BUDGET });
  await edge.publish(KEY, { keyType: "client", flags: TEST_FLAGS });
  await edge.publish(LIMITED_KEY, { keyType: "client", flags: TEST_FLAGS });
});
afterAll(() => edge.dispose());

const vardata = (headers: Record<string, string>, method = "GET") =>
  fetch(`${edge.url}/sdk/v2/vardata?v=0`, { method, headers: { authorization: `Api-Key ${KEY}`, ...headers } });

const answer = async (response: Response) => ({
  status: response.status,
  headers: [...response.headers].filter(([name]) => name !== "date").sort(),
  body: await response.text(),
});

describe("the vardata fast path", () => {
  it("answers what the app's route answers: status, headers and bytes", async () => {
    const user = b64url({ user_id: "user-17", user_properties: { plan: "pro" }, country: "DE" });
    const flagKeys = b64url(["checkout-redesign", "new-onboarding"]);
    // The first request loads the deployment, so the app answers it; the later ones take the fast path.
    const routed = await answer(await vardata({ "X-Amp-Exp-User": user }));
    const fast = await answer(await vardata({ "X-Amp-Exp-User": user }));
    expect(routed.status).toBe(200);
    expect(fast).toEqual(routed);
    const keys = { "X-Amp-Exp-User": user, "X-Amp-Exp-Flag-Keys": flagKeys };
    const post = await answer(
      await fetch(`${edge.url}/sdk/v2/vardata`, {
        method: "POST",
        headers: {
          authorization: `Api-Key ${KEY}`,
          "X-Amp-Exp-Flag-Keys": flagKeys,
          "content-type": "application/json",
        },
        body: JSON.stringify({ user_id: "user-17", user_properties: { plan: "pro" }, country: "DE" }),
      }),
    );
    const fastKeys = await answer(await vardata(keys));
    expect(fastKeys.body).toBe(post.body);
    expect(Object.keys(JSON.parse(fastKeys.body))).toEqual(["checkout-redesign", "new-onboarding"]);
  });

  it("leaves errors, preflights and other methods to the app, with its JSON errors and CORS headers", async () => {
    await vardata({ "X-Amp-Exp-User": b64url({ user_id: "warm" }) });
    const bad = await vardata({ "X-Amp-Exp-User": "%%%" });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("access-control-allow-origin")).toBe("*");
    expect(await bad.json()).toMatchObject({ error: { message: expect.stringContaining("base64") } });
    const wrongType = await vardata({ "X-Amp-Exp-User": b64url({ user_id: 7 }) });
    expect(wrongType.status).toBe(400);
    expect(await wrongType.json()).toMatchObject({ error: { details: expect.any(Array) } });
    expect((await vardata({})).status).toBe(400);
    const unknown = await fetch(`${edge.url}/sdk/v2/vardata`, {
      headers: { authorization: "Api-Key fast-key-unknown", "X-Amp-Exp-User": b64url({ user_id: "u" }) },
    });
    expect(unknown.status).toBe(401);
    const preflight = await fetch(`${edge.url}/sdk/v2/vardata`, {
      method: "OPTIONS",
      headers: { origin: "https://shop.example", "access-control-request-method": "GET" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-headers")).toContain("X-Amp-Exp-User");
    expect((await fetch(`${edge.url}/sdk/v2/vardata/`, { headers: { authorization: `Api-Key ${KEY}` } })).status).toBe(
      404,
    );
  });

  it("counts each request once against the key's rate limit, and answers 429 over it", async () => {
    // The local binding counts in fixed 10 s windows from the epoch: start early in one.
    const intoWindow = Date.now() % 10_000;
    if (intoWindow > 6_000) await new Promise((resolve) => setTimeout(resolve, 10_000 - intoWindow + 100));
    const headers = { authorization: `Api-Key ${LIMITED_KEY}`, "X-Amp-Exp-User": b64url({ user_id: "u" }) };
    const statuses: number[] = [];
    for (let i = 0; i < BUDGET + 1; i++) statuses.push((await fetch(`${edge.url}/sdk/v2/vardata`, { headers })).status);
    expect(statuses).toEqual([...Array.from({ length: BUDGET }, () => 200), 429]);
  }, 20_000);
});
