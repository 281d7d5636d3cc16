/**
 * Sample-ratio mismatch: Pearson's chi-square goodness-of-fit test of the observed
 * exposures per variant against the configured weights (Fabijan et al. 2019,
 * "Diagnosing Sample Ratio Mismatch in Online Controlled Experiments"). Flagged at
 * α = 0.01 by default: a mismatch means the assignment or the logging is broken, and
 * the results should not be trusted.
 */
import chisquareCdf from "@stdlib/stats-base-dists-chisquare-cdf";

export const SRM_ALPHA = 0.01;

export function srmTest(counts: readonly number[], weights: readonly number[], alpha = SRM_ALPHA): { pValue: number; mismatch: boolean; statistic: number } {
  const total = counts.reduce((a, b) => a + b, 0);
  const weightTotal = weights.reduce((a, b) => a + b, 0);
  if (counts.length < 2 || total === 0 || weightTotal <= 0) return { pValue: 1, mismatch: false, statistic: 0 };
  let statistic = 0;
  counts.forEach((observed, i) => {
    const expected = (total * weights[i]!) / weightTotal;
    if (expected > 0) statistic += (observed - expected) ** 2 / expected;
  });
  const pValue = 1 - chisquareCdf(statistic, counts.length - 1);
  return { pValue, mismatch: pValue < alpha, statistic };
}
