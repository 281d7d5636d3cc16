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
      {
        looks: pValues.map((pValue) => ({ tested: true, pValue, difference: 0, lift: 0 })),
        harmPValue: (day: number) => pValues[day]!,
      } as unknown as ComparisonSeries,
    ],
  ]),
});

/** Holm's adjusted p-values and levels of member `i` at two looks. */
function adjustedPair(look0: number[], look1: number[], i: number) {
  const [a, b] = [adjust(look0, 0.05, "holm"), adjust(look1, 0.05, "holm")];
  return { pValues: [a.pValues[i], b.pValues[i]], levels: [a.levels[i], b.levels[i]] };
}

describe("correct stage", () => {
  it("adjusts each family at each look, guardrails in their own on their one-sided p-values", () => {
    const metrics = [
      analysed("p", "primary", [0.2, 0.01]),
      analysed("a", "secondary", [0.04, 0.01]),
      analysed("b", "secondary", [0.5, 0.03]),
      analysed("g", "guardrail", [0.001, 0.001]),
      analysed("h", "guardrail", [0.04, 0.3]),
    ];
    const corrected = correct(metrics, ["treatment"], 2, 0.05, "holm");
    expect(corrected.get(correctionId("p", "treatment"))).toEqual({ pValues: [0.2, 0.01], levels: [0.05, 0.05] });
    const look1 = adjust([0.01, 0.03], 0.05, "holm");
    expect(corrected.get(correctionId("a", "treatment"))!.pValues[1]).toBe(look1.pValues[0]);
    expect(corrected.get(correctionId("b", "treatment"))!.levels[1]).toBe(look1.levels[1]);
    // Guardrails: Holm over the two, apart from the other families.
    expect(corrected.get(correctionId("g", "treatment"))).toEqual(adjustedPair([0.001, 0.04], [0.001, 0.3], 0));
    expect(corrected.get(correctionId("h", "treatment"))).toEqual(adjustedPair([0.001, 0.04], [0.001, 0.3], 1));
  });
});
