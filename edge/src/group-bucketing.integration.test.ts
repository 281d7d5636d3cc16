/**
 * Mutual-exclusion groups and holdouts as the control plane compiles them, served by real
 * workerd to anonymous visitors: a group buckets on its members' unit (device_id here).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toEvaluationFlags } from "../../shared/authoring/to-evaluation-model.js";
import type { Group } from "../../shared/authoring/schema.js";
import { makeFlag } from "../../shared/authoring/test-support.js";
import { startEdge, type EdgeHarness } from "../../test/support/edge-harness.js";

const MUTEX_KEY = "client-key-mutex";
const HOLDOUT_KEY = "client-key-holdout";
const byDevice = (key: string, groups: string[]) =>
  makeFlag({ key, type: "experiment", variants: [{ key: "on" }], groups, bucketing: { unit: "device_id" } });
const group = (key: string, kind: Group["kind"], percentage = 0): [string, Group] => [
  key,
  { key, kind, percentage, description: "" },
];

let edge: EdgeHarness;

/** What 200 anonymous visitors (a device id, no user id) are served. */
async function visitors(apiKey: string): Promise<Array<Record<string, { key?: string }>>> {
  return Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const response = await fetch(`${edge.url}/sdk/v2/vardata`, {
        method: "POST",
        headers: { authorization: `Api-Key ${apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ device_id: `visitor-${i}` }),
      });
      expect(response.status).toBe(200);
      return response.json();
    }),
  );
}

beforeAll(async () => {
  edge = await startEdge();
  const mutex = new Map([group("checkout", "mutex")]);
  await edge.publish(MUTEX_KEY, {
    keyType: "client",
    flags: toEvaluationFlags("web", [byDevice("e1", ["checkout"]), byDevice("e2", ["checkout"])], mutex),
  });
  const holdout = new Map([group("q3", "holdout", 50)]);
  await edge.publish(HOLDOUT_KEY, {
    keyType: "client",
    flags: toEvaluationFlags("web", [byDevice("e", ["q3"])], holdout),
  });
});
afterAll(() => edge.dispose());

describe("groups bucket on their members' unit", () => {
  it("serves device-bucketed members of a mutual-exclusion group to anonymous visitors, one each", async () => {
    const served = await visitors(MUTEX_KEY);
    const e1 = served.filter((r) => r["e1"]?.key === "on").length;
    const e2 = served.filter((r) => r["e2"]?.key === "on").length;
    expect(e1).toBeGreaterThan(70); // ~100 of 200 each
    expect(e2).toBeGreaterThan(70);
    expect(e1 + e2).toBe(200); // a 100% rollout: every visitor in exactly one
  });

  it("holds a 50% holdout's share of anonymous visitors out of a device-bucketed member", async () => {
    const served = (await visitors(HOLDOUT_KEY)).filter((r) => r["e"]?.key === "on").length;
    expect(served).toBeGreaterThan(70);
    expect(served).toBeLessThan(130);
  });
});
