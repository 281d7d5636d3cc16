/**
 * Quadratic regexes at the edge (issue 20, item 2): 3 segments × 1,000 patterns that each
 * pass the save-time check cost 1.6 s of isolate CPU on one request with a 1,000-character
 * property, and eight such requests delayed a request on another deployment (and /health)
 * by 12.8 s. The per-evaluation regex budget (shared/evaluation/regex-budget.ts) fails the
 * conditions instead, so the isolate stays free for the others.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EvaluationFlag } from "../../shared/evaluation/index.js";
import { startEdge, type EdgeHarness } from "../../test/support/edge-harness.js";

const COSTLY_KEY = "server-key-costly";
const BENIGN_KEY = "server-key-benign";
const OFF = { key: "off", metadata: { default: true } };

let edge: EdgeHarness;
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** Never matches a run of digits, and costs about n² steps trying: `does not match` holds without a budget. */
const costly: EvaluationFlag = {
  key: "costly",
  variants: { on: { key: "on" }, off: OFF },
  segments: [
    ...Array.from({ length: 3 }, (_, s) => ({
      conditions: [
        [
          {
            selector: ["context", "user", "user_properties", "p"],
            op: "regex does not match",
            values: Array.from({ length: 1000 }, (_, i) => `\\d+\\.\\d+x${s}-${i}`),
          },
        ],
      ],
      variant: "on",
    })),
    { variant: "off" },
  ],
};
const benign: EvaluationFlag = { key: "benign", variants: { on: { key: "on" } }, segments: [{ variant: "on" }] };

const vardata = async (apiKey: string, p: string) => {
  const response = await fetch(`${edge.url}/sdk/v2/vardata`, {
    headers: {
      authorization: `Api-Key ${apiKey}`,
      "x-amp-exp-user": b64url({ user_id: "u", user_properties: { p } }),
      "x-amp-exp-exposure-track": "no-track",
    },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, { key?: string }>;
};

beforeAll(async () => {
  edge = await startEdge();
  await edge.publish(COSTLY_KEY, { keyType: "server", deployment: "costly", flags: [costly] });
  await edge.publish(BENIGN_KEY, { keyType: "server", deployment: "benign", flags: [benign] });
});
afterAll(() => edge?.dispose());

describe("the edge's regex budget", () => {
  it("keeps costly patterns from delaying another deployment's request", async () => {
    // Both deployments loaded first, so what follows measures evaluation only.
    expect((await vardata(COSTLY_KEY, "7"))["costly"]?.key).toBe("on"); // short: the patterns decide as usual
    expect((await vardata(BENIGN_KEY, ""))["benign"]?.key).toBe("on");

    const long = "1".repeat(1000);
    const hostile = Array.from({ length: 8 }, () => vardata(COSTLY_KEY, long));
    const started = performance.now();
    const other = await vardata(BENIGN_KEY, "");
    const otherMs = performance.now() - started;
    expect(other["benign"]?.key).toBe("on");
    // The budget ran out: the regex segments failed, where they held (and cost 1.6 s each) before.
    for (const result of await Promise.all(hostile)) expect(result["costly"]?.key).toBe("off");
    const health = performance.now();
    expect((await fetch(`${edge.url}/health`)).status).toBe(200);
    // Generous (the machine is loaded): the eight requests held the other one 12.8 s without the budget.
    expect(otherMs).toBeLessThan(3000);
    expect(performance.now() - health).toBeLessThan(3000);
  });
});
