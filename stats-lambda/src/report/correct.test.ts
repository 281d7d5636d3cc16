import { describe, expect, it } from "vitest";
import { adjust, type ComparisonSeries } from "../../../shared/stats/index.js";
import type { AnalysedMetric } from "./analyse.js";
import { correct, correctionId } from "./correct.js";

/** An analysed metric whose one comparison has these p-values per look. */
const analysed = (key: string, role: "primary" | "secondary" | "guardrail", pValues: number[]): AnalysedMetric => ({
  metric: { key, type: "unique_conversions", role, registeredAt: "start" },
  statistics: undefined as never,
  series: new Map([
    [
      "treatment",
      { looks: pValues.map((pValue) => ({ tested: true, pValue, difference: 0, lift: 0 })) } as ComparisonSeries,
    ],
  ]),
});

describe("correct stage", () => {
  it("adjusts each family at each look, and leaves guardrails out", () => {
    const metrics = [
      analysed("p", "primary", [0.2, 0.01]),
      analysed("a", "secondary", [0.04, 0.01]),
      analysed("b", "secondary", [0.5, 0.03]),
      analysed("g", "guardrail", [0.001, 0.001]),
    ];
    const corrected = correct(metrics, ["treatment"], 2, 0.05, "holm");
    expect(corrected.get(correctionId("p", "treatment"))).toEqual({ pValues: [0.2, 0.01], levels: [0.05, 0.05] });
    const look1 = adjust([0.01, 0.03], 0.05, "holm");
    expect(corrected.get(correctionId("a", "treatment"))!.pValues[1]).toBe(look1.pValues[0]);
    expect(corrected.get(correctionId("b", "treatment"))!.levels[1]).toBe(look1.levels[1]);
    expect(corrected.has(correctionId("g", "treatment"))).toBe(false);
  });
});
