/**
 * The one-sided always-valid test guardrails use: a mixture SPRT whose mixing distribution
 * puts all its weight on harm, a half-normal N(0, τ²) restricted to the harmful side
 * (Howard, Ramdas, McAuliffe & Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic
 * confidence sequences", §3.4, one-sided normal mixtures; Johari et al. 2022 for the
 * two-sided mixture it halves). With η̂ = h·θ̂ the estimate in the harmful direction
 * (h = +1 when an increase harms), V its variance and x = η̂τ / sqrt(V (V + τ²)):
 *
 *   Λ = 2 · sqrt(V / (V + τ²)) · exp( η̂² τ² / (2 V (V + τ²)) ) · Φ(x)
 *   p = min(1, 1/Λ)
 *
 * Each component exp(η S − η² I / 2) (S = η̂/V, I = 1/V) with η > 0 is a martingale at
 * η = 0 and a supermartingale under any benign effect, so Λ is one too and, by Ville's
 * inequality, P(Λ ever ≥ 1/α) ≤ α under "no harm": valid however often it is read. Against
 * the two-sided mixture it doubles Λ where the estimate is harmful, which is the power a
 * guardrail gains.
 *
 * The confidence sequence's harmful bound at level α is η̂ − u*, where Λ with η̂ − u* in
 * place of η̂ equals 1/α (Λ falls as the tested harm grows): harm is detected exactly when
 * that bound is above 0, that is when p ≤ α. u* lies between the two-sided sequence's
 * half-widths at 2α and at α, and is found by bisection there.
 *
 * Tuning: τ² = r*(2α) · V*, the two-sided rule (msprt.ts) at 2α, the level a one-sided test
 * at α matches (as gbstats' `sequential_rho(two_sided=False)`).
 */
import normalCdf from "@stdlib/stats-base-dists-normal-cdf";
import { optimalMixingRatio, sequentialHalfWidth } from "./msprt.js";

/** log Λ of the harmful half-normal mixture, for an estimate `harm` (η̂, harmful when > 0) of variance V. */
export function oneSidedLogLambda(harm: number, V: number, tau2: number): number {
  const phi = normalCdf((harm * Math.sqrt(tau2)) / Math.sqrt(V * (V + tau2)), 0, 1);
  if (!(phi > 0)) return -Infinity; // far on the benign side
  return Math.log(2) + 0.5 * Math.log(V / (V + tau2)) + (harm * harm * tau2) / (2 * V * (V + tau2)) + Math.log(phi);
}

export const oneSidedPValue = (harm: number, V: number, tau2: number): number =>
  Math.min(1, Math.exp(-oneSidedLogLambda(harm, V, tau2)));

/** u*: the distance from the estimate to the sequence's harmful bound at `level`. */
export function oneSidedHalfWidth(V: number, tau2: number, level: number): number {
  const target = Math.log(1 / level);
  let lo = sequentialHalfWidth(V, tau2, Math.min(1, 2 * level));
  let hi = sequentialHalfWidth(V, tau2, level);
  for (let i = 0; i < 60 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (oneSidedLogLambda(mid, V, tau2) < target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** The mixture's τ² for a one-sided test at α: the two-sided rule at 2α on V*. */
export const oneSidedMixingVariance = (alpha: number, tuningVariance: number): number =>
  optimalMixingRatio(Math.min(0.5, 2 * alpha)) * tuningVariance;
