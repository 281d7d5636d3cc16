/**
 * Welch's test with Hall's skewness transformation (welch.ts): against SciPy/NumPy
 * (`scripts/stats-fixtures.py skew-welch`: k₃ by scipy.stats.kstat, the intervals by
 * root-finding on the test itself), and its properties: the verdict, the interval and the
 * relative interval agree; without a third moment, or with no skew, it is Welch's test.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import reference from "../../test/fixtures/skew-welch-reference.json" with { type: "json" };
import { differenceSkew, fromValues, fromValuesWithSkew, merge, welchTTest } from "./index.js";

describe("Welch's test corrected for skew", () => {
  it.each(reference.cases.map((c, i) => [i, c] as const))("matches SciPy on case %i", (_, c) => {
    const [control, treatment] = [fromValuesWithSkew(c.control), fromValuesWithSkew(c.treatment)];
    expect(differenceSkew(control, treatment)).toBeCloseTo(c.skew, 10);
    const result = welchTTest(control, treatment, { alpha: c.alpha })!;
    expect(result.pValue).toBeCloseTo(c.pValue, 9);
    expect(result.ci[0]).toBeCloseTo(c.ci[0]!, 8);
    expect(result.ci[1]).toBeCloseTo(c.ci[1]!, 8);
    if (c.relativeCi === null) expect(result.relativeCi).toBeUndefined();
    else {
      expect(result.relativeCi![0]).toBeCloseTo(c.relativeCi[0]!, 8);
      expect(result.relativeCi![1]).toBeCloseTo(c.relativeCi[1]!, 8);
    }
  });

  it("is Welch's test without a third moment", () => {
    const c = reference.cases[0]!;
    const plain = welchTTest(fromValues(c.control), fromValues(c.treatment), { alpha: 0.05 })!;
    const symmetric = (values: number[]) => [...values, ...values.map((x) => 2 * 1000 - x)];
    const unskewed = welchTTest(fromValuesWithSkew(symmetric(c.control)), fromValuesWithSkew(symmetric(c.treatment)), {
      alpha: 0.05,
    })!;
    const welch = welchTTest(fromValues(symmetric(c.control)), fromValues(symmetric(c.treatment)), { alpha: 0.05 })!;
    expect(plain.ci[0] + plain.ci[1]).toBeCloseTo(2 * plain.difference, 9); // symmetric
    expect(unskewed.pValue).toBeCloseTo(welch.pValue, 9);
    expect(unskewed.ci[0]).toBeCloseTo(welch.ci[0], 6);
  });

  const sample = fc.array(fc.double({ min: 0, max: 1000, noNaN: true }), { minLength: 3, maxLength: 60 });

  it("merges the third moment exactly (Pébay's update)", () => {
    fc.assert(
      fc.property(sample, sample, (a, b) => {
        const merged = merge(fromValuesWithSkew(a), fromValuesWithSkew(b));
        const direct = fromValuesWithSkew([...a, ...b]);
        expect(merged.m3!).toBeCloseTo(direct.m3!, Math.max(0, 6 - Math.log10(1 + Math.abs(direct.m3!))));
        expect(merge(fromValues(a), fromValuesWithSkew(b)).m3).toBeUndefined();
      }),
      { numRuns: 200, seed: 22 },
    );
  });

  it("rejects exactly when both intervals exclude 0, on the difference's side", () => {
    fc.assert(
      fc.property(sample, sample, fc.constantFrom(0.01, 0.05, 0.1), (a, b, alpha) => {
        const result = welchTTest(fromValuesWithSkew(a), fromValuesWithSkew(b), { alpha });
        if (!result) return;
        const excludes = result.ci[0] > 0 || result.ci[1] < 0;
        // Away from the boundary (p = α within rounding), the test and the interval agree.
        if (Math.abs(result.pValue - alpha) < 1e-9) return;
        expect(excludes).toBe(result.pValue < alpha);
        if (result.relativeCi) {
          const relative = result.relativeCi[0] > 0 || result.relativeCi[1] < 0;
          expect(relative).toBe(excludes);
          if (excludes) expect(Math.sign(result.relativeCi[0])).toBe(Math.sign(result.ci[0]));
        }
      }),
      { numRuns: 500, seed: 22 },
    );
  });
});
