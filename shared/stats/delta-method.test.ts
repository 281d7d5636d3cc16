import { describe, expect, it } from "vitest";
import reference from "../../test/fixtures/delta-method-reference.json" with { type: "json" };
import { deltaMethodVariance, ratioStatistics, type RatioSums } from "./delta-method.js";
import { compareSeries, variance, welchTTest } from "./index.js";
import { ratioSumsOf } from "./ratio-sums.test-support.js";

/** The exact scaled sums ingest or the metric engine would keep for these units. */
const sumsOf = (xs: readonly number[], ys: readonly number[]): RatioSums => ratioSumsOf(xs.map((x, i) => [x, ys[i]!]));

const varianceOfRatio = (s: { n: number; m2: number }) => s.m2 / (s.n - 1) / s.n;

describe("ratio metrics by the delta method", () => {
  it.each(reference.cases.map((c) => [c.shape, c.x.length, c] as const))(
    "%s, %i units: the ratio and its variance match numpy's, and a bootstrap's within 10%",
    (_shape, _n, c) => {
      const s = ratioStatistics(sumsOf(c.x, c.y));
      expect(s.n).toBe(c.x.length);
      expect(s.mean).toBeCloseTo(c.ratio, 12);
      expect(Math.abs(varianceOfRatio(s) / c.variance - 1)).toBeLessThan(1e-9);
      // The approximation itself (not only the algebra) against 4,000 resamples of the units.
      expect(Math.abs(varianceOfRatio(s) / c.bootstrapVariance - 1)).toBeLessThan(c.x.length >= 200 ? 0.1 : 0.15);
    },
  );

  it("agrees with the moment form of Deng et al.'s formula", () => {
    const c = reference.cases[3]!;
    const n = c.x.length;
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / n;
    const [mx, my] = [mean(c.x), mean(c.y)];
    const cov = (a: number[], ma: number, b: number[], mb: number) =>
      a.reduce((sum, v, i) => sum + (v - ma) * (b[i]! - mb), 0) / (n - 1);
    const moments = deltaMethodVariance({
      n,
      meanX: mx,
      meanY: my,
      varianceX: cov(c.x, mx, c.x, mx),
      varianceY: cov(c.y, my, c.y, my),
      covariance: cov(c.x, mx, c.y, my),
    });
    expect(moments / varianceOfRatio(ratioStatistics(sumsOf(c.x, c.y))) - 1).toBeCloseTo(0, 9);
  });

  it("has no ratio, and so no test, before any denominator", () => {
    expect(ratioStatistics({ n: 0, sumX: 0n, sumXSquares: 0n, sumY: 0n, sumYSquares: 0n, sumXY: 0n })).toMatchObject({
      n: 0,
    });
    const none = ratioStatistics({ n: 50, sumX: 0n, sumXSquares: 0n, sumY: 0n, sumYSquares: 0n, sumXY: 0n });
    expect(variance(none)).toBe(0);
    const some = ratioStatistics(sumsOf(reference.cases[1]!.x, reference.cases[1]!.y));
    expect(welchTTest(none, some, { alpha: 0.05 })).toBeUndefined();
  });

  it("feeds the same tests: a z-test on Var(R_t) + Var(R_c) and the Welch test agree at large n", () => {
    const c = reference.cases[2]!;
    // Control: the 1,000-unit clicks case; treatment: the same units with 20% more clicks.
    const control = ratioStatistics(sumsOf(c.x, c.y));
    const treatment = ratioStatistics(
      sumsOf(
        c.x.map((x) => x * 1.2),
        c.y,
      ),
    );
    const se = Math.sqrt(varianceOfRatio(control) + varianceOfRatio(treatment));
    const z = (treatment.mean - control.mean) / se;
    const welch = welchTTest(control, treatment, { alpha: 0.05 })!;
    expect(welch.difference).toBeCloseTo(0.2 * control.mean, 9);
    expect((welch.ci[1] - welch.ci[0]) / 2 / se).toBeCloseTo(1.96, 1);
    expect(z).toBeGreaterThan(3);
    expect(welch.pValue).toBeLessThan(0.01);
    const sequential = compareSeries([{ control, treatment, eligible: true }], "sequential", { alpha: 0.05 });
    expect(sequential.looks[0]!.tested).toBe(true);
  });
});
