/**
 * CUPED and the Bayesian readout against GrowthBook's gbstats (fixtures by
 * scripts/stats-fixtures.py cuped, computed by gbstats' own code): θ, the adjusted absolute
 * and relative effects and their standard errors within 1e-6, chance to beat control,
 * expected loss and the credible interval within 1e-3 (they agree far closer).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bayesianReadout } from "./bayesian.js";
import { cupedAdjust, relativeEffect } from "./cuped.js";
import { pairedFromSums, variance } from "./sufficient.js";

interface Arm {
  n: number;
  sumY: number;
  sumYSquares: number;
  sumX: number;
  sumXSquares: number;
  sumXY: number;
}
interface Bayes {
  chanceToWin: number;
  risk: [number, number];
  ci: [number, number];
  mean: number;
  stddev: number;
}
interface Case {
  shape: string;
  rho: number;
  control: Arm;
  treatment: Arm;
  theta: number;
  absolute: { estimate: number; standardError: number };
  relative: { estimate: number; standardError: number };
  bayesian: Bayes;
  bayesianProperPrior: Bayes;
  bayesianInverse: Bayes;
}
const fixture = JSON.parse(
  readFileSync(new URL("../../test/fixtures/cuped-reference.json", import.meta.url), "utf8"),
) as {
  alpha: number;
  properPrior: { mean: number; variance: number };
  cases: Case[];
};

const paired = (a: Arm) => pairedFromSums(a.n, a.sumY, a.sumYSquares, a.sumX, a.sumXSquares, a.sumXY);
const close = (actual: number, expected: number, tolerance: number) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(expected)));

describe("CUPED against gbstats", () => {
  it.each(fixture.cases.map((c, i) => [i, c.shape, c.rho, c] as const))(
    "case %i (%s, ρ = %s): θ, adjusted effects and standard errors within 1e-6",
    (_, __, ___, c) => {
      const [control, treatment] = [paired(c.control), paired(c.treatment)];
      const { theta, arms } = cupedAdjust([control, treatment]);
      close(theta, c.theta, 1e-6);
      const [ac, at] = arms as [(typeof arms)[0], (typeof arms)[0]];
      close(at.mean - ac.mean, c.absolute.estimate, 1e-6);
      close(Math.sqrt(variance(ac) / ac.n + variance(at) / at.n), c.absolute.standardError, 1e-6);
      const relative = relativeEffect(control, treatment, theta)!;
      close(relative.estimate, c.relative.estimate, 1e-6);
      close(relative.standardError, c.relative.standardError, 1e-6);
    },
  );

  it("removes about ρ² of the variance where the covariate correlates", () => {
    const strong = fixture.cases.filter((c) => c.rho === 0.9 && c.shape === "revenue");
    for (const c of strong)
      expect(cupedAdjust([paired(c.control), paired(c.treatment)]).varianceReduction).toBeGreaterThan(0.5);
    const none = fixture.cases.filter((c) => c.rho === 0);
    for (const c of none)
      expect(Math.abs(cupedAdjust([paired(c.control), paired(c.treatment)]).varianceReduction)).toBeLessThan(0.05);
  });
});

describe("Bayesian readout against gbstats", () => {
  const readout = (c: Case, options: Parameters<typeof bayesianReadout>[1]) => {
    const [control, treatment] = [paired(c.control), paired(c.treatment)];
    return bayesianReadout(relativeEffect(control, treatment, cupedAdjust([control, treatment]).theta)!, options)!;
  };
  const matches = (ours: ReturnType<typeof readout>, theirs: Bayes, lossIndex: 0 | 1) => {
    close(ours.chanceToBeatControl, theirs.chanceToWin, 1e-3);
    close(ours.expectedLoss, theirs.risk[lossIndex], 1e-3);
    close(ours.credibleInterval[0], theirs.ci[0], 1e-3);
    close(ours.credibleInterval[1], theirs.ci[1], 1e-3);
    close(ours.posteriorMean, theirs.mean, 1e-6);
    close(ours.posteriorSd, theirs.stddev, 1e-6);
  };

  it.each(fixture.cases.map((c, i) => [i, c.shape, c] as const))(
    "case %i (%s): chance to beat control, expected loss, interval; default, proper and inverse",
    (_, __, c) => {
      const { alpha } = fixture;
      // gbstats' risk is [control's, treatment's]: our expected loss is the treatment's.
      matches(readout(c, { alpha }), c.bayesian, 1);
      matches(readout(c, { alpha, prior: { ...fixture.properPrior, proper: true } }), c.bayesianProperPrior, 1);
      matches(readout(c, { alpha, decrease: true }), c.bayesianInverse, 1);
    },
  );

  it("has no readout without variance", () => {
    expect(bayesianReadout({ estimate: 0.1, standardError: 0 }, { alpha: 0.05 })).toBeUndefined();
  });
});
