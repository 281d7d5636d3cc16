/** Made-up deployment keys are rate-limited per client address, in real workerd. */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startEdge, type EdgeHarness } from "../../test/support/edge-harness.js";
import { TEST_FLAGS } from "../../test/support/flags.js";
import { FAILED_LOOKUPS_PER_WINDOW } from "./middleware/failed-lookups.js";

const REAL_KEY = "real-key-0000001";
let edge: EdgeHarness;

beforeAll(async () => {
  edge = await startEdge();
  await edge.publish(REAL_KEY, { keyType: "client", flags: TEST_FLAGS });
});
afterAll(() => edge.dispose());

const evaluate = (key: string, client: string) =>
  fetch(`${edge.url}/sdk/v2/vardata`, {
    method: "POST",
    headers: { authorization: `Api-Key ${key}`, "content-type": "application/json", "cf-connecting-ip": client },
    body: JSON.stringify({ user_id: "u" }),
  });

it("answers a client 429 with Retry-After once its made-up keys pass the budget, sparing real keys", async () => {
  // The windows are 10 s from a client's first failure: start the flood right after it.
  expect((await evaluate(REAL_KEY, "203.0.113.7")).status).toBe(200);
  const statuses: number[] = [];
  let limited: Response | undefined;
  for (let i = 0; i < 3 * FAILED_LOOKUPS_PER_WINDOW; i++) {
    const response = await evaluate(`made-up-key-${String(i).padStart(6, "0")}`, "203.0.113.7");
    statuses.push(response.status);
    if (response.status === 429) limited ??= response;
    else await response.body?.cancel();
  }
  expect(statuses.filter((s) => s === 401)).toHaveLength(FAILED_LOOKUPS_PER_WINDOW);
  expect(statuses.filter((s) => s === 429)).toHaveLength(2 * FAILED_LOOKUPS_PER_WINDOW);
  expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(await limited!.json()).toMatchObject({ error: { code: "rate_limited" } });

  // The Amplitude HTTP API refuses the same client in its own shape.
  const batch = await fetch(`${edge.url}/2/httpapi`, {
    method: "POST",
    headers: { "content-type": "application/json", "cf-connecting-ip": "203.0.113.7" },
    body: JSON.stringify({ api_key: "made-up-key-httpapi", events: [{ user_id: "u", event_type: "e" }] }),
  });
  expect(batch.status).toBe(429);
  expect(await batch.json()).toMatchObject({ code: 429, throttled_events: [] });

  // A key the edge already holds still works from that address; other addresses are not limited.
  expect((await evaluate(REAL_KEY, "203.0.113.7")).status).toBe(200);
  expect((await evaluate("made-up-key-other", "198.51.100.1")).status).toBe(401);
});
