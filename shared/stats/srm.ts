/**
 * Sample-ratio mismatch, tested sequentially: the Dirichlet–multinomial Bayes factor of
 * Lindon & Malek (2020, "Anytime-valid inference for multinomial count data"). Under the
 * expected shares p the Bayes factor
 *
 *   BF = [Γ(K) / Γ(K + n)] · Πᵢ Γ(K·pᵢ + xᵢ) / Γ(K·pᵢ)  ÷  Πᵢ pᵢ^xᵢ
 *
 * is a nonnegative martingale with mean 1, so p = min(1, 1/BF), as a running minimum over
 * looks, is valid however often the report is read (a χ² test read daily for 30 days
 * alarms 7–8% of the time at a 1% level). Units assigned under different allocations (a
 * segment with its own weights, a variant at weight 0) are separate strata; the product of
 * their Bayes factors is again such a martingale. A unit in a variant its allocation gives
 * no share is an immediate mismatch. K = 1,000 prior units: a 60/40 split of 1,000 units
 * at 50/50 and a 50.5/49.5 split of 400,000 both alarm.
 *
 * Flagged at α = 0.01 (Fabijan et al. 2019, "Diagnosing Sample Ratio Mismatch in Online
 * Controlled Experiments"): a mismatch means assignment or logging is broken and no
 * verdict of the experiment can be trusted.
 */
import gammaln from "@stdlib/math-base-special-gammaln";

export const SRM_ALPHA = 0.01;
export const SRM_PRIOR_UNITS = 1000;

export interface AllocationStratum {
  /** Units seen per variant. */
  counts: readonly number[];
  /** Expected share per variant (any positive scale). */
  weights: readonly number[];
}

/** log BF of one stratum (Infinity when a unit is in a variant with no share). */
export function srmLogBayesFactor({ counts, weights }: AllocationStratum, prior = SRM_PRIOR_UNITS): number {
  const total = weights.reduce((a, b) => a + Math.max(b, 0), 0);
  if (!(total > 0)) return 0;
  let n = 0;
  let log = 0;
  for (let i = 0; i < counts.length; i++) {
    const x = counts[i] ?? 0;
    const p = Math.max(0, weights[i] ?? 0) / total;
    if (p === 0) {
      if (x > 0) return Infinity;
      continue;
    }
    n += x;
    log += gammaln(prior * p + x) - gammaln(prior * p) - x * Math.log(p);
  }
  return log + gammaln(prior) - gammaln(prior + n);
}

/** The always-valid SRM p-value of one look over all strata (before the running minimum). */
export function srmPValue(strata: readonly AllocationStratum[], prior = SRM_PRIOR_UNITS): number {
  const log = strata.reduce((sum, stratum) => sum + srmLogBayesFactor(stratum, prior), 0);
  return Math.min(1, Math.exp(-log));
}
