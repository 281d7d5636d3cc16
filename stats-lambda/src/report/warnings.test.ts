import { describe, expect, it } from "vitest";
import { comparisonOf, warningsOf } from "./warnings.js";

describe("warnings stage", () => {
  it("names every reason not to act on a verdict", () => {
    expect(warningsOf({ srmMismatch: false, stable: true })).toEqual([]);
    expect(warningsOf({ srmMismatch: true, stable: false })).toEqual(["sample_ratio_mismatch", "effect_not_stable"]);
  });

  it("makes the reported comparison: trustworthy only without warnings", () => {
    const decision = {
      difference: 0.1,
      lift: 0.2,
      ci: [0.05, 0.15] as [number, number],
      relativeCi: null,
      pValue: 0.01,
      verdict: "significant_positive" as const,
      level: 0.05,
      stable: true,
      read: "any" as const,
      multipleVariantShare: 0,
      heavyTail: false,
      windowPending: false,
    };
    expect(comparisonOf(decision, false)).toEqual({
      difference: 0.1,
      lift: 0.2,
      ci: [0.05, 0.15],
      relativeCi: null,
      pValue: 0.01,
      verdict: "significant_positive",
      trustworthy: true,
      warnings: [],
      level: 0.05,
    });
    expect(comparisonOf({ ...decision, stable: false }, true)).toMatchObject({
      trustworthy: false,
      warnings: ["sample_ratio_mismatch", "effect_not_stable"],
    });
    // Advisory: no window closed yet (the verdict is insufficient_data anyway).
    expect(comparisonOf({ ...decision, windowPending: true }, false)).toMatchObject({
      trustworthy: true,
      warnings: ["window_not_closed"],
    });
  });
});
