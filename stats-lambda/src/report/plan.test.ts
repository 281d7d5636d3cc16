import { describe, expect, it } from "vitest";
import { conversion, SimulatedRows } from "../../../test/support/simulated-rows.js";
import { Cumulative } from "./cumulative.js";
import { metricStatistics } from "./metric-statistics.js";
import { planOf } from "./plan.js";
import { experimentWith } from "./test-rows.test-support.js";

describe("plan stage", () => {
  const rows = new SimulatedRows();
  for (let day = 0; day < 4; day++)
    for (const variant of ["control", "treatment"])
      rows.expose(day, variant, 2000).conversions(day, variant, conversion, 200);
  const data = new Cumulative(rows.list());
  const planFor = (type: string, role: "primary" | "secondary" = "primary") => {
    const metric = { ...conversion, type, role, registeredAt: "start" };
    const experiment = experimentWith([metric], { minimumDetectableEffect: 0.05 });
    return planOf(experiment, { metric, statistics: metricStatistics(metric, data, experiment.variantKeys) }, data);
  };

  it("plans a funnel or retention metric as the proportion it is, like a conversion", () => {
    const conversionPlan = planFor("unique_conversions");
    expect(conversionPlan!.unitsPerDay).toBe(4000);
    expect(Math.abs(conversionPlan!.fixedHorizon.perVariant[0]! / 57_756 - 1)).toBeLessThan(0.01);
    expect(planFor("funnel")).toEqual(conversionPlan);
    expect(planFor("retention")).toEqual(conversionPlan);
  });

  it("plans only a primary metric with a minimum detectable effect", () => {
    expect(planFor("unique_conversions", "secondary")).toBeNull();
    const experiment = experimentWith([]);
    expect(planOf(experiment, undefined, data)).toBeNull();
  });
});
