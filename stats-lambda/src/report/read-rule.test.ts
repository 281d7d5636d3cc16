/** The t-test's read rule with a planned end the admin set (read-rule.ts), through buildReport. */
import { describe, expect, it } from "vitest";
import { conversion, dayName, experimentOn, SimulatedRows } from "../../../test/support/simulated-rows.js";
import { buildReport } from "./index.js";

const QUALITY = { rejectedExposures: 0, droppedValues: {} };

function rows() {
  const simulated = new SimulatedRows();
  for (let day = 0; day < 6; day++) {
    simulated.expose(day, "control", 1000).conversions(day, "control", conversion, 100);
    simulated.expose(day, "treatment", 1000).conversions(day, "treatment", conversion, 160);
  }
  return simulated.list();
}

const verdictsOf = (extra: Parameters<typeof experimentOn>[2]) =>
  buildReport(
    experimentOn(conversion, [50, 50], { statisticalMethod: "ttest", ...extra }),
    rows(),
    QUALITY,
    0,
  ).metrics[0]!.timeSeries.map((look) => look.variants[1]!.verdict);

describe("a planned end the admin sets", () => {
  it("a t-test without a sample plan gives its verdict from the look of the planned end on", () => {
    // No minimum detectable effect, so no planned sample: before, no verdict at any look.
    expect(verdictsOf({}).every((v) => v === "insufficient_data")).toBe(true);
    const planned = verdictsOf({ plannedEndAt: `${dayName(3)}T12:00:00Z` });
    expect(planned.slice(0, 3).every((v) => v === "insufficient_data")).toBe(true);
    expect(planned.slice(3).every((v) => v === "significant_positive")).toBe(true);
  });

  it("is an analysis setting: a bad time is refused by the schema", async () => {
    const { flagInputSchema } = await import("../../../shared/authoring/schema.js");
    const shape = flagInputSchema.shape.plannedEndAt;
    expect(shape.safeParse("2026-02-01T00:00:00Z").success).toBe(true);
    expect(shape.safeParse("next week").success).toBe(false);
  });
});
