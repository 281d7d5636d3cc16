import { describe, expect, it } from "vitest";
import reference from "../../test/fixtures/stats-reference.json" with { type: "json" };
import { bonferroniP, fromValues, mean, merge, sequentialTest, srmTest, variance, welchTTest, type SufficientStats } from "./index.js";
import { optimalMixingRatio } from "./msprt.js";

/** mulberry32 + Box–Muller: seeded normal draws, so simulations are reproducible. */
function normals(seed: number): () => number {
  let state = seed;
  const uniform = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform() || 1e-12)) * Math.cos(2 * Math.PI * uniform());
}

const batch = (draw: () => number, size: number, shift = 0): SufficientStats => fromValues(Array.from({ length: size }, () => draw() + shift));

describe("sufficient statistics", () => {
  it("give the sample mean and unbiased variance, and merge", () => {
    const s = fromValues([1, 2, 3, 4]);
    expect(mean(s)).toBe(2.5);
    expect(variance(s)).toBeCloseTo(1.6666666667, 9);
    expect(merge(fromValues([1, 2]), fromValues([3, 4]))).toEqual(s);
  });
});

describe("welchTTest", () => {
  it("matches SciPy to 1e-6 on the committed fixtures", () => {
    expect(reference.welch.length).toBeGreaterThanOrEqual(40);
    for (const c of reference.welch) {
      const result = welchTTest(c.control, c.treatment, { alpha: c.alpha });
      expect(Math.abs(result.pValue - c.pValue)).toBeLessThan(1e-6);
      const scale = Math.max(1, Math.abs(c.ci[0]!), Math.abs(c.ci[1]!));
      expect(Math.abs(result.ci[0] - c.ci[0]!) / scale).toBeLessThan(1e-6);
      expect(Math.abs(result.ci[1] - c.ci[1]!) / scale).toBeLessThan(1e-6);
      expect(result.significant).toBe(c.pValue < c.alpha);
    }
  });

  it("gives a relative interval around the lift", () => {
    const result = welchTTest({ n: 10000, sum: 1000, sumSquares: 1000 }, { n: 10000, sum: 1200, sumSquares: 1200 }, { alpha: 0.05 });
    expect(result.lift).toBeCloseTo(0.2, 10);
    expect(result.relativeCi[0]).toBeGreaterThan(0.05);
    expect(result.relativeCi[1]).toBeLessThan(0.36);
    expect(result.significant).toBe(true);
  });
});

describe("srmTest", () => {
  it("matches SciPy's chi-square test", () => {
    for (const c of reference.srm) expect(Math.abs(srmTest(c.counts, c.weights).pValue - c.pValue)).toBeLessThan(1e-6);
    expect(srmTest([5000, 5000], [50, 50]).mismatch).toBe(false);
    expect(srmTest([5200, 4800], [50, 50]).mismatch).toBe(true);
  });
});

describe("bonferroni", () => {
  it("multiplies by the number of comparisons, capped at 1", () => {
    expect(bonferroniP(0.02, 3)).toBeCloseTo(0.06, 12);
    expect(bonferroniP(0.5, 3)).toBe(1);
  });
});

describe("sequentialTest", () => {
  it("tunes the mixture so the interval is tightest at the tuning sample size", () => {
    expect(optimalMixingRatio(0.05)).toBeGreaterThan(8);
    expect(optimalMixingRatio(0.05)).toBeLessThan(11);
    const arm = (n: number): SufficientStats => ({ n, sum: n * 0.1, sumSquares: n * 0.1 }); // a 10% conversion rate
    const widthAt = (tuning: number) => {
      const r = sequentialTest(arm(5000), arm(5000), { alpha: 0.05, tuningSampleSize: tuning });
      return r.ci[1] - r.ci[0];
    };
    expect(widthAt(5000)).toBeLessThan(widthAt(2000));
    expect(widthAt(5000)).toBeLessThan(widthAt(20000));
  });

  it("has non-increasing p-values over looks and a wider interval than a fixed-horizon test", () => {
    const draw = normals(7);
    let control: SufficientStats = { n: 0, sum: 0, sumSquares: 0 };
    let treatment = control;
    let previous = 1;
    for (let look = 0; look < 30; look++) {
      control = merge(control, batch(draw, 200));
      treatment = merge(treatment, batch(draw, 200, 0.05));
      const result = sequentialTest(control, treatment, { alpha: 0.05, previousPValue: previous });
      expect(result.pValue).toBeLessThanOrEqual(previous);
      previous = result.pValue;
      const fixed = welchTTest(control, treatment, { alpha: 0.05 });
      expect(result.ci[1] - result.ci[0]).toBeGreaterThan(fixed.ci[1] - fixed.ci[0]);
    }
  });

  // An A/A simulation: no true effect, a look after every batch. The sequential test must
  // keep its false-positive rate at α; a t-test that peeks the same way exceeds it.
  const simulate = (effect: number, experiments: number, looks: number, size: number) => {
    const draw = normals(20261125);
    let sequentialPositives = 0;
    let peekingTTestPositives = 0;
    for (let e = 0; e < experiments; e++) {
      let control: SufficientStats = { n: 0, sum: 0, sumSquares: 0 };
      let treatment = control;
      let previous = 1;
      let sequential = false;
      let peeking = false;
      for (let look = 0; look < looks; look++) {
        control = merge(control, batch(draw, size));
        treatment = merge(treatment, batch(draw, size, effect));
        const result = sequentialTest(control, treatment, { alpha: 0.05, previousPValue: previous, tuningSampleSize: looks * size });
        previous = result.pValue;
        sequential ||= result.significant;
        peeking ||= welchTTest(control, treatment, { alpha: 0.05 }).significant;
      }
      if (sequential) sequentialPositives++;
      if (peeking) peekingTTestPositives++;
    }
    return { sequential: sequentialPositives / experiments, peekingTTest: peekingTTestPositives / experiments };
  };

  it("keeps the false-positive rate at or under α in an A/A test that peeks after every batch", () => {
    const experiments = 1000;
    const rates = simulate(0, experiments, 20, 100);
    const margin = 3 * Math.sqrt((0.05 * 0.95) / experiments); // Monte-Carlo error, three standard errors
    console.log(`A/A, 1,000 experiments × 20 looks: sequential ${rates.sequential}, peeking t-test ${rates.peekingTTest}`);
    expect(rates.sequential).toBeLessThanOrEqual(0.05 + margin);
    expect(rates.peekingTTest).toBeGreaterThan(0.05 + margin);
  });

  it("detects a true effect", () => {
    const rates = simulate(0.2, 200, 20, 100); // 0.2 standard deviations, 2,000 users per arm
    console.log(`True effect 0.2σ: sequential detects in ${rates.sequential} of experiments`);
    expect(rates.sequential).toBeGreaterThan(0.8);
  });
});
