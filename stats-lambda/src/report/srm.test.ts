import { describe, expect, it } from "vitest";
import { SimulatedRows } from "../../../test/support/simulated-rows.js";
import { Cumulative } from "./cumulative.js";
import { sampleRatio, strataAt } from "./srm.js";

const experiment = { variantKeys: ["control", "treatment"], weights: [50, 50] };

describe("sample-ratio stage", () => {
  it("splits units by the allocation they were served under; the rest follow the flag's weights", () => {
    const rows = new SimulatedRows()
      .expose(0, "control", 900, "control=90,treatment=10")
      .expose(0, "treatment", 100, "control=90,treatment=10")
      .expose(0, "control", 500)
      .expose(0, "treatment", 500);
    const data = new Cumulative(rows.list());
    expect(strataAt(data, experiment, 0)).toEqual([
      { allocation: { control: 90, treatment: 10 }, counts: [900, 100], weights: [90, 10] },
      { allocation: { control: 50, treatment: 50 }, counts: [500, 500], weights: [50, 50] },
    ]);
    expect(sampleRatio(data, experiment)).toMatchObject({ mismatch: false, test: "sequential-dirichlet-multinomial" });
  });

  it("keeps the smallest p-value over the looks", () => {
    const rows = new SimulatedRows().expose(0, "control", 700).expose(0, "treatment", 300);
    rows.expose(1, "control", 300).expose(1, "treatment", 700);
    const data = new Cumulative(rows.list());
    const srm = sampleRatio(data, experiment);
    expect(srm.mismatch).toBe(true);
    expect(srm.strata[0]!.counts).toEqual({ control: 1000, treatment: 1000 });
    expect(sampleRatio(new Cumulative([]), experiment)).toMatchObject({ pValue: 1, strata: [] });
  });
});
