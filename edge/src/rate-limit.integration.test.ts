/** Per-key rate limiting in workerd, through a real Rate Limiting binding with a tiny budget. */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startEdge, type EdgeHarness } from "../../test/support/edge-harness.js";
import { TEST_FLAGS } from "../../test/support/flags.js";

const BUDGET = 5;
let edge: EdgeHarness;

beforeAll(async () => {
  edge = await startEdge({ rateLimitPer10s: BUDGET });
  await edge.publish("busy-key-000001", { keyType: "server", flags: TEST_FLAGS });
  await edge.publish("calm-key-000001", { keyType: "server", flags: TEST_FLAGS });
});
afterAll(() => edge.dispose());

const ofrep = (key: string) =>
  fetch(`${edge.url}/ofrep/v1/evaluate/flags`, {
    method: "POST",
    headers: { authorization: `Api-Key ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ context: { targetingKey: "user-1" } }),
  });

it("answers 429 with Retry-After once a key is over its budget, and only for that key", async () => {
  // The local binding counts in fixed 10 s windows from the epoch: start early in one.
  const intoWindow = Date.now() % 10_000;
  if (intoWindow > 6_000) await new Promise((resolve) => setTimeout(resolve, 10_000 - intoWindow + 100));
  for (let i = 0; i < BUDGET; i++) expect((await ofrep("busy-key-000001")).status).toBe(200);
  const limited = await ofrep("busy-key-000001");
  expect(limited.status).toBe(429);
  expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(await limited.json()).toMatchObject({ error: { code: "rate_limited" } });
  expect((await ofrep("calm-key-000001")).status).toBe(200);
  // Unknown keys are refused before they count against anyone.
  expect((await ofrep("unknown-key-0001")).status).toBe(401);
}, 20_000);
