/**
 * End to end, as users would run it: experiments defined through the control plane,
 * simulated users evaluated at the edge (exposures), conversions sent to /track, the
 * queue delivering to the stats service, and the report's verdict.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniforms } from "../support/simulated-rows.js";
import { startFullStack, type FullStack } from "../support/stack.js";

let stack: FullStack;
let clientKey: string;
const USERS = 1000;

const experiment = (key: string, eventType: string) => ({
  key,
  name: key,
  type: "experiment",
  variants: [{ key: "control" }, { key: "treatment" }],
  deployments: ["web"],
  primaryMetric: { key: "conversion", type: "unique_conversions", eventType },
  // Minutes of events: a new experiment's week-long window would not close (running values, no verdict).
  defaultMetricWindow: "none",
});

beforeAll(async () => {
  stack = await startFullStack();
  await stack.api("POST", "/projects", { key: "shop", name: "Shop" });
  clientKey = (await stack.api("POST", "/projects/shop/deployments", { key: "web", name: "Web" })).body.clientKey;
  for (const [key, event] of [
    ["checkout-redesign", "purchase_completed"],
    ["button-color", "signup"],
  ] as const) {
    const created = await stack.api("POST", "/projects/shop/flags", experiment(key, event));
    expect(
      (await stack.api("POST", `/projects/shop/flags/${key}/start`, { version: created.body.version })).status,
    ).toBe(200);
  }
  // Wait until the edge serves both experiments.
  const user = Buffer.from(JSON.stringify({ user_id: "probe" })).toString("base64url");
  const served = async () =>
    Object.keys(
      await (
        await fetch(`${stack.edgeUrl}/sdk/v2/vardata`, {
          headers: {
            authorization: `Api-Key ${clientKey}`,
            "x-amp-exp-user": user,
            "x-amp-exp-exposure-track": "no-track",
          },
        })
      ).json(),
    ).length;
  for (let tries = 0; (await served()) < 2; tries++) {
    if (tries > 100) throw new Error("The edge never served the experiments");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});
afterAll(() => stack?.dispose());

describe("an experiment from assignment to verdict", () => {
  it("calls a real effect significant with the right sign, and an A/A test not significant", async () => {
    const draw = uniforms(42);
    const events: object[] = [];
    const assigned = {
      "checkout-redesign": { control: 0, treatment: 0 },
      "button-color": { control: 0, treatment: 0 },
    };
    for (let i = 0; i < USERS; i++) {
      const userId = `user-${i}`;
      const user = Buffer.from(JSON.stringify({ user_id: userId })).toString("base64url");
      const variants = (await (
        await fetch(`${stack.edgeUrl}/sdk/v2/vardata`, {
          headers: { authorization: `Api-Key ${clientKey}`, "x-amp-exp-user": user },
        })
      ).json()) as Record<string, { key: "control" | "treatment" }>;
      const checkout = variants["checkout-redesign"]!.key;
      const button = variants["button-color"]!.key;
      assigned["checkout-redesign"][checkout]++;
      assigned["button-color"][button]++;
      // A true effect on checkout (10% → 25%); none on the button (15% in both).
      if (draw() < (checkout === "treatment" ? 0.25 : 0.1))
        events.push({ user_id: userId, event_type: "purchase_completed", insert_id: `purchase-${i}` });
      if (draw() < 0.15) events.push({ user_id: userId, event_type: "signup", insert_id: `signup-${i}` });
    }
    // Conversions come after exposures; let the exposures reach the stats service first.
    await expect
      .poll(
        async () =>
          (await stack.report("shop", "checkout-redesign")).variants.reduce(
            (n: number, v: { exposures: number }) => n + v.exposures,
            0,
          ),
        { timeout: 20_000 },
      )
      .toBe(USERS);
    for (let i = 0; i < events.length; i += 500) {
      const response = await fetch(`${stack.edgeUrl}/track`, {
        method: "POST",
        headers: { authorization: `Api-Key ${clientKey}`, "content-type": "application/json" },
        body: JSON.stringify({ events: events.slice(i, i + 500) }),
      });
      expect(response.status).toBe(202);
    }
    const conversions = async (key: string) =>
      (await stack.report("shop", key)).metrics[0].variants.reduce(
        (n: number, v: { mean: number; n: number }) => n + Math.round(v.mean * v.n),
        0,
      );
    const expected = (type: string) => events.filter((e) => (e as { event_type: string }).event_type === type).length;
    await expect.poll(() => conversions("checkout-redesign"), { timeout: 20_000 }).toBe(expected("purchase_completed"));
    await expect.poll(() => conversions("button-color"), { timeout: 20_000 }).toBe(expected("signup"));

    const checkout = await stack.report("shop", "checkout-redesign");
    expect(checkout.variants.map((v: { exposures: number }) => v.exposures)).toEqual([
      assigned["checkout-redesign"].control,
      assigned["checkout-redesign"].treatment,
    ]);
    expect(checkout.srm.mismatch).toBe(false);
    const treatment = checkout.metrics[0].variants.find((v: { variant: string }) => v.variant === "treatment");
    expect(treatment.comparison.verdict).toBe("significant_positive");
    expect(treatment.comparison.difference).toBeGreaterThan(0);

    const aa = await stack.report("shop", "button-color");
    expect(aa.metrics[0].variants.find((v: { variant: string }) => v.variant === "treatment").comparison.verdict).toBe(
      "not_yet_significant",
    );
  });
});
