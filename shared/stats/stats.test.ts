import fc from "fast-check";
import { describe, expect, it } from "vitest";
import reference from "../../test/fixtures/stats-reference.json" with { type: "json" };
import {
  adjust,
  capStatistics,
  compareSeries,
  fromExactSums,
  fromSums,
  fromValues,
  histogramBucket,
  mean,
  merge,
  quantileCaps,
  impossibleTreatmentRate,
  samplePlan,
  sequentialTest,
  srmPValue,
  variance,
  welchTTest,
  type Histogram,
  type SufficientStats,
} from "./index.js";
import { optimalMixingRatio } from "./msprt.js";
import { seeded } from "./seeded.test-support.js";

const normals = (seed: number) => seeded(seed).normal;

const batch = (draw: () => number, size: number, shift = 0): SufficientStats =>
  fromValues(Array.from({ length: size }, () => draw() + shift));
const fromFixture = (arm: { n: number; sum: number; sumSquares: number }) => fromSums(arm.n, arm.sum, arm.sumSquares);

describe("sufficient statistics", () => {
  it("give the sample mean and unbiased variance, and merge", () => {
    const s = fromValues([1, 2, 3, 4]);
    expect(mean(s)).toBe(2.5);
    expect(variance(s)).toBeCloseTo(1.6666666667, 9);
    const merged = merge(fromValues([1, 2]), fromValues([3, 4]));
    expect(merged.mean).toBe(2.5);
    expect(merged.m2).toBeCloseTo(s.m2, 12);
  });

  it("keep the variance exact when the mean dwarfs the spread (mean/sd = 1e7)", () => {
    // Values 1e7 + {0, 1, 2, 3}, scaled by 1e4 as ingest keeps them: the old n, Σx, Σx² in
    // doubles lost the variance entirely (Σx² ≈ 4e14·1e8 has no room for the spread).
    const values = [0, 1, 2, 3].map((d) => 1e7 + d);
    const scaled = values.map((v) => BigInt(v * 1e4));
    const exact = fromExactSums(
      4,
      scaled.reduce((a, b) => a + b, 0n),
      scaled.reduce((a, b) => a + b * b, 0n),
      1e4,
    );
    expect(variance(exact)).toBeCloseTo(1.6666666667, 9);
    expect(variance(fromValues(values))).toBeCloseTo(1.6666666667, 6);
    const naive = values.reduce(
      (s, x) => ({ n: s.n + 1, sum: s.sum + x * 1e4, sumSquares: s.sumSquares + (x * 1e4) ** 2 }),
      { n: 0, sum: 0, sumSquares: 0 },
    );
    expect(Math.abs(variance(fromSums(naive.n, naive.sum, naive.sumSquares)) / 1e8 - 1.6666666667)).toBeGreaterThan(
      1e-3,
    ); // what the old form gave
    // Chan's merge of day-sized pieces stays exact too.
    const days = [0, 1, 2, 3].map((d) => fromValues([1e7 + d]));
    expect(variance(days.reduce(merge))).toBeCloseTo(1.6666666667, 6);
  });
});

describe("welchTTest", () => {
  it("matches SciPy on the committed fixtures, with Fieller's relative interval", () => {
    expect(reference.welch.length).toBeGreaterThanOrEqual(40);
    let fieller = 0;
    for (const c of reference.welch) {
      const result = welchTTest(fromFixture(c.control), fromFixture(c.treatment), { alpha: c.alpha });
      if (!result) continue;
      expect(Math.abs(result.pValue - c.pValue)).toBeLessThan(1e-6);
      const scale = Math.max(1, Math.abs(c.ci[0]!), Math.abs(c.ci[1]!));
      expect(Math.abs(result.ci[0] - c.ci[0]!) / scale).toBeLessThan(1e-6);
      expect(Math.abs(result.ci[1] - c.ci[1]!) / scale).toBeLessThan(1e-6);
      if ("relativeCi" in c && c.relativeCi) {
        const [lo, hi] = c.relativeCi as [number, number];
        expect(result.relativeCi).toBeDefined();
        expect(Math.abs(result.relativeCi![0] - lo) / Math.max(1, Math.abs(lo))).toBeLessThan(1e-6);
        expect(Math.abs(result.relativeCi![1] - hi) / Math.max(1, Math.abs(hi))).toBeLessThan(1e-6);
        fieller++;
      }
    }
    expect(fieller).toBeGreaterThanOrEqual(20);
  });

  it("gives a relative interval that agrees with the test (the issue's delta-method counter-example)", () => {
    // Control n 500, mean 10, sd 40; treatment n 500, mean 6.5, sd 10: p = 0.058. The delta
    // method's relative interval was [−0.595, −0.105], excluding 0 against its own test.
    const arm = (n: number, m: number, sd: number): SufficientStats => ({ n, mean: m, m2: sd * sd * (n - 1) });
    const result = welchTTest(arm(500, 10, 40), arm(500, 6.5, 10), { alpha: 0.05 })!;
    expect(result.pValue).toBeCloseTo(0.058, 3);
    expect(result.ci[0]).toBeLessThan(0);
    expect(result.ci[1]).toBeGreaterThan(0);
    expect(result.relativeCi![0]).toBeLessThan(0);
    expect(result.relativeCi![1]).toBeGreaterThan(0);
  });

  it("refuses to test an arm without variance", () => {
    expect(welchTTest(fromSums(537, 21, 21), fromSums(59, 0, 0), { alpha: 0.05 })).toBeUndefined();
  });
});

describe("corrections", () => {
  it("match statsmodels' multipletests for Bonferroni, Holm and Benjamini–Hochberg", () => {
    for (const c of reference.corrections) {
      for (const method of ["bonferroni", "holm", "benjamini-hochberg"] as const) {
        const { pValues, levels } = adjust(c.pValues, c.alpha, method);
        for (const [i, p] of pValues.entries()) expect(Math.abs(p - c[method].adjusted[i]!)).toBeLessThan(1e-12);
        // Intervals drawn at `levels` exclude 0 exactly for the rejected hypotheses.
        for (const [i, p] of c.pValues.entries()) expect(p <= levels[i]!).toBe(c[method].reject[i]);
      }
    }
  });
});

describe("sequential sample-ratio test", () => {
  it("matches the Dirichlet–multinomial Bayes factor computed with SciPy", () => {
    for (const c of reference.srm)
      expect(Math.abs(srmPValue([{ counts: c.counts, weights: c.weights }]) - c.pValue)).toBeLessThan(1e-9);
  });

  it("alarms on gross and on small but large-sample mismatches, and on a unit in a variant at weight 0", () => {
    expect(srmPValue([{ counts: [600, 400], weights: [50, 50] }])).toBeLessThan(0.01);
    expect(srmPValue([{ counts: [202_000, 198_000], weights: [50, 50] }])).toBeLessThan(0.01);
    expect(srmPValue([{ counts: [500, 3, 500], weights: [50, 0, 50] }])).toBe(0);
    expect(srmPValue([{ counts: [5000, 0, 5000], weights: [50, 0, 50] }])).toBeGreaterThan(0.5);
  });
});

describe("capping", () => {
  it("finds the cap and the capped statistics NumPy finds, from histograms alone", () => {
    for (const c of reference.capping) {
      const histograms = c.arms.map((values) => {
        const buckets = new Map<number, number[]>();
        for (const v of values)
          if (v !== 0)
            buckets.set(histogramBucket(Math.round(v * 1e4)), [
              ...(buckets.get(histogramBucket(Math.round(v * 1e4))) ?? []),
              v,
            ]);
        return new Map([...buckets].map(([b, vs]) => [b, fromValues(vs)])) as Histogram;
      });
      const units = c.arms.reduce((sum, a) => sum + a.length, 0);
      const expected = [
        { caps: quantileCaps(histograms, units, c.percentile, 1e4, { includeZeros: true }), reference: c },
        { caps: quantileCaps(histograms, units, c.percentile, 1e4), reference: c.nonZero },
      ];
      for (const { caps, reference: r } of expected) {
        expect(caps.upper?.value ?? null).toBe(r.cap);
        c.arms.forEach((values, i) => {
          const capped = capStatistics(histograms[i]!, values.length, caps);
          expect(capped.mean).toBeCloseTo(r.means[i]!, 9);
          expect(variance(capped) / r.variances[i]!).toBeCloseTo(1, 9);
        });
      }
    }
  });

  it("caps over the non-zero values, at least 50 units out, never more than 10% of them", () => {
    const histogramOf = (values: number[]): Histogram => {
      const buckets = new Map<number, number[]>();
      for (const v of values) {
        const bucket = histogramBucket(v);
        buckets.set(bucket, [...(buckets.get(bucket) ?? []), v]);
      }
      return new Map([...buckets].map(([b, vs]) => [b, fromValues(vs)]));
    };
    const capAt = (values: number[], units: number) => quantileCaps([histogramOf(values)], units, 0.99, 1).upper;
    // 550 units at 1, 50 at 1,000: the 99th percentile (rank 594) would cap nothing; 50 units out
    // (rank 550) is a 1, whose bucket [1, 2) ends at 2, and the 90th percentile (rank 540) allows it.
    const fifty = [...Array<number>(550).fill(1), ...Array<number>(50).fill(1000)];
    expect(capAt(fifty, 6000)?.value).toBe(2);
    // 300 values 1 … 300: 50 out (rank 250) would cap 17%; the floor keeps rank 270, in [256, 512).
    expect(
      capAt(
        Array.from({ length: 300 }, (_, i) => i + 1),
        3000,
      )?.value,
    ).toBe(512);
    // Zeros included, the old way, among 60,000 units: rank 59,400 is a 0, no cap.
    expect(quantileCaps([histogramOf(fifty)], 60_000, 0.99, 1, { includeZeros: true }).upper).toBeUndefined();
    // Two buyers (10 and 80): the 90th percentile floor keeps the larger uncapped.
    expect(capAt([10, 80], 1000)?.value).toBe(128);
  });

  it("puts each scaled value in the power-of-two bucket of its magnitude", () => {
    expect([1, 2, 3, 4, 1023, 1024, -1, -5, 0].map(histogramBucket)).toEqual([1, 2, 2, 3, 10, 11, -1, -3, 0]);
    expect(histogramBucket(2 ** 43)).toBe(44);
    expect(histogramBucket(2 ** 43 - 1)).toBe(43);
  });
});

describe("sample plan", () => {
  it("sizes a fixed-horizon test as statsmodels does, and a sequential one larger", () => {
    for (const c of reference.sampleSizes) {
      const plan = samplePlan({
        baselineMean: c.rate,
        baselineVariance: c.rate * (1 - c.rate),
        minimumDetectableEffect: c.mde,
        alpha: c.alpha,
        weights: [50, 50],
        binary: true,
        unitsPerDay: 10_000,
      })!;
      expect(Math.abs(plan.fixedHorizon.perVariant[0]! / c.perArm - 1)).toBeLessThan(0.002);
      expect(plan.sequential.perVariant[0]!).toBeGreaterThan(plan.fixedHorizon.perVariant[0]!);
      expect(plan.sequential.perVariant[0]!).toBeLessThan(3 * plan.fixedHorizon.perVariant[0]!);
      expect(plan.fixedHorizon.days).toBe(Math.ceil(plan.fixedHorizon.total / 10_000));
    }
    // Unequal allocation needs more units in all.
    const even = samplePlan({
      baselineMean: 0.1,
      baselineVariance: 0.09,
      minimumDetectableEffect: 0.05,
      alpha: 0.05,
      weights: [50, 50],
      binary: true,
    })!;
    const skewed = samplePlan({
      baselineMean: 0.1,
      baselineVariance: 0.09,
      minimumDetectableEffect: 0.05,
      alpha: 0.05,
      weights: [90, 10],
      binary: true,
    })!;
    expect(skewed.fixedHorizon.total).toBeGreaterThan(2 * even.fixedHorizon.total);
    expect(
      samplePlan({
        baselineMean: 0,
        baselineVariance: 0,
        minimumDetectableEffect: 0.05,
        alpha: 0.05,
        weights: [50, 50],
      }),
    ).toBeUndefined();
  });
});

describe("sample plan for an impossible treatment rate", () => {
  it("has no plan when the effect asks for a conversion rate of 1 or more", () => {
    const input = {
      baselineMean: 0.9999999999999999,
      baselineVariance: 0.9999999999999999 * (1 - 0.9999999999999999),
      minimumDetectableEffect: 10,
      alpha: 0.05,
      weights: [50, 50],
      binary: true,
    };
    expect(impossibleTreatmentRate(input)).toBeGreaterThan(10);
    expect(samplePlan(input)).toBeUndefined(); // was "2 units"
    expect(samplePlan({ ...input, baselineMean: 0.5, minimumDetectableEffect: 1 })).toBeUndefined(); // exactly 1
    expect(impossibleTreatmentRate({ ...input, baselineMean: 0.1, minimumDetectableEffect: 0.05 })).toBeUndefined();
  });
});

describe("sequentialTest", () => {
  it("tunes the mixture so the interval is tightest at the tuning sample size", () => {
    expect(optimalMixingRatio(0.05)).toBeGreaterThan(8);
    expect(optimalMixingRatio(0.05)).toBeLessThan(11);
    const arm = (n: number) => fromSums(n, n * 0.1, n * 0.1); // a 10% conversion rate
    const widthAt = (tuning: number) => {
      const r = sequentialTest(arm(5000), arm(5000), { alpha: 0.05, tuningSampleSize: tuning })!;
      return r.ci[1] - r.ci[0];
    };
    expect(widthAt(5000)).toBeLessThan(widthAt(2000));
    expect(widthAt(5000)).toBeLessThan(widthAt(20000));
  });

  it("has a wider interval than a fixed-horizon test, excluding 0 exactly when p ≤ α", () => {
    const draw = normals(7);
    let control = fromValues([]);
    let treatment = control;
    for (let look = 0; look < 30; look++) {
      control = merge(control, batch(draw, 200, 10));
      treatment = merge(treatment, batch(draw, 200, 10.05));
      const result = sequentialTest(control, treatment, { alpha: 0.05 })!;
      const fixed = welchTTest(control, treatment, { alpha: 0.05 })!;
      expect(result.ci[1] - result.ci[0]).toBeGreaterThan(fixed.ci[1] - fixed.ci[0]);
      expect(result.ci[0] > 0 || result.ci[1] < 0).toBe(result.pValue <= 0.05);
      expect(result.relativeCi![0] > 0 || result.relativeCi![1] < 0).toBe(result.pValue <= 0.05);
    }
  });
});

describe("compareSeries", () => {
  const binary = (n: number, conversions: number) => fromSums(n, conversions, conversions);

  it("keeps verdict, p-value and the running intersection in agreement (the issue's day-2 reversal)", () => {
    // Day 1: control 1,000/100, treatment 1,000/200. Day 2: +10,000/1,000 and +10,000/850.
    // The old report kept p from day 1 (significant) but showed day 2's interval, which
    // held 0, and called it significant_negative.
    const looks = [
      { control: binary(1000, 100), treatment: binary(1000, 200), eligible: true },
      { control: binary(11_000, 1100), treatment: binary(11_000, 1050), eligible: true },
    ];
    const series = compareSeries(looks, "sequential", { alpha: 0.05 });
    const [day1, day2] = series.intervalsAt(0.05);
    expect(series.looks[0]!.pValue).toBeLessThan(0.05);
    expect(day1!.ci![0]).toBeGreaterThan(0);
    expect(series.looks[1]!.pValue).toBe(series.looks[0]!.pValue); // the running minimum
    expect(day2!.ci![0]).toBeGreaterThan(0); // still excludes 0, on the side it was decided
    expect(day2!.relativeCi![0]).toBeGreaterThan(0);
    expect(day2!.stable).toBe(false); // and the reader is told the effect moved
  });

  it("does not test, or carry p from, looks under the gates or without variance", () => {
    // 90/10: day 1 control 537/21, treatment 59/0 → the old test gave p 0.043 and a relative interval [−1, −1].
    const looks = [
      { control: binary(537, 21), treatment: binary(59, 0), eligible: false },
      { control: binary(1074, 43), treatment: binary(118, 4), eligible: true },
    ];
    const series = compareSeries(looks, "sequential", { alpha: 0.05 });
    expect(series.looks[0]).toMatchObject({ tested: false, pValue: 1 });
    expect(series.looks[1]!.tested).toBe(true);
    expect(series.looks[1]!.pValue).toBeGreaterThan(0.05);
    const noVariance = compareSeries(
      [{ control: binary(5000, 200), treatment: binary(600, 0), eligible: true }],
      "sequential",
      { alpha: 0.05 },
    );
    expect(noVariance.looks[0]).toMatchObject({ tested: false, pValue: 1 });
    expect(noVariance.intervalsAt(0.05)[0]!.ci).toBeUndefined();
  });
});

describe("properties", () => {
  const arm = fc.record({
    n: fc.integer({ min: 2, max: 100_000 }),
    mean: fc.double({ min: -1e4, max: 1e4, noNaN: true }),
    sd: fc.double({ min: 1e-3, max: 1e4, noNaN: true }),
  });
  const stats = ({ n, mean, sd }: { n: number; mean: number; sd: number }): SufficientStats => ({
    n,
    mean,
    m2: sd * sd * (n - 1),
  });

  it("a relative interval excludes 0 exactly when the absolute one does (Welch and sequential)", () => {
    fc.assert(
      fc.property(arm, arm, fc.constantFrom(0.01, 0.05, 0.1), (c, t, alpha) => {
        for (const result of [
          welchTTest(stats(c), stats(t), { alpha }),
          sequentialTest(stats(c), stats(t), { alpha }),
        ]) {
          if (!result?.relativeCi) continue;
          const absolute = result.ci[0] > 0 ? 1 : result.ci[1] < 0 ? -1 : 0;
          const relative = result.relativeCi[0] > 0 ? 1 : result.relativeCi[1] < 0 ? -1 : 0;
          // Away from the boundary, where rounding cannot decide.
          if (Math.min(Math.abs(result.ci[0]), Math.abs(result.ci[1])) > 1e-9 * (Math.abs(result.difference) + 1))
            expect(relative).toBe(absolute);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("corrections draw intervals that exclude 0 exactly for the rejected hypotheses", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 30 }),
        fc.constantFrom(0.01, 0.05, 0.1),
        (pValues, alpha) => {
          for (const method of ["bonferroni", "holm", "benjamini-hochberg"] as const) {
            const { pValues: adjusted, levels } = adjust(pValues, alpha, method);
            for (const [i, p] of pValues.entries()) expect(p <= levels[i]!).toBe(adjusted[i]! <= alpha);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("capped statistics from histograms equal capping each value", () => {
    const value = fc.oneof(
      fc.constant(0),
      fc.integer({ min: -1e8, max: 1e9 }).map((v) => v / 1e4),
    );
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 2, maxLength: 300 }),
        fc.array(value, { minLength: 2, maxLength: 300 }),
        fc.constantFrom(0.9, 0.95, 0.99),
        (a, b, percentile) => {
          const histogramOf = (values: number[]): Histogram => {
            const buckets = new Map<number, number[]>();
            for (const v of values)
              if (v !== 0)
                buckets.set(histogramBucket(Math.round(v * 1e4)), [
                  ...(buckets.get(histogramBucket(Math.round(v * 1e4))) ?? []),
                  v,
                ]);
            return new Map([...buckets].map(([bucket, vs]) => [bucket, fromValues(vs)]));
          };
          const histograms = [histogramOf(a), histogramOf(b)];
          const caps = quantileCaps(histograms, a.length + b.length, percentile, 1e4);
          [a, b].forEach((values, i) => {
            const direct = fromValues(
              values.map((v) => Math.min(caps.upper?.value ?? Infinity, Math.max(caps.lower?.value ?? -Infinity, v))),
            );
            const capped = capStatistics(histograms[i]!, values.length, caps);
            expect(capped.n).toBe(direct.n);
            expect(Math.abs(capped.mean - direct.mean)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(direct.mean)));
            expect(Math.abs(capped.m2 - direct.m2)).toBeLessThanOrEqual(1e-7 * (1 + Math.abs(direct.m2)));
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
