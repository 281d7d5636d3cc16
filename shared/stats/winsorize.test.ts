import { describe, expect, it } from "vitest";
import { DEFAULT_CAP_RANGE, defaultCapPercentile, quantileCaps, type Histogram } from "./winsorize.js";

describe("the default cap's percentile", () => {
  it.each([
    [0, 0.975], // no values yet: the range's lowest
    [500, 0.975],
    [1000, 0.975], // 25 of 1,000 beyond the cap
    [2500, 0.99],
    [4000, 1 - 25 / 4000],
    [5000, 0.995],
    [1_000_000, 0.995], // never above the range: a cap keeps its variance reduction
  ])("with %i units with a value in the smallest arm: %f", (units, percentile) => {
    expect(defaultCapPercentile(units)).toBeCloseTo(percentile, 12);
    expect(defaultCapPercentile(units)).toBeGreaterThanOrEqual(DEFAULT_CAP_RANGE.lowest);
    expect(defaultCapPercentile(units)).toBeLessThanOrEqual(DEFAULT_CAP_RANGE.highest);
  });

  it("moves the cap out a bucket where the quantile crosses one", () => {
    // 10,000 values: 9,900 in bucket 10, 60 in 11, 40 in 12 (scale 1).
    const histogram: Histogram = new Map([
      [10, { n: 9900, mean: 800, m2: 0 }],
      [11, { n: 60, mean: 1500, m2: 0 }],
      [12, { n: 40, mean: 3000, m2: 0 }],
    ]);
    expect(quantileCaps([histogram], 10_000, 0.99, 1).upper?.bucket).toBe(10);
    expect(quantileCaps([histogram], 10_000, 0.995, 1).upper?.bucket).toBe(11);
  });
});
