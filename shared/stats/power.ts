/**
 * How many units an experiment needs: given the control's per-unit mean and variance
 * (from the running data, or entered), the minimum detectable effect (relative to the
 * control mean), the allocation and the traffic per day.
 *
 * - Fixed horizon (Welch/z test, two-sided α, power 1 − β): the total N with
 *   σ_c²/(w_c·N) + σ_t²/(w_t·N) = (δ / (z₁₋α/₂ + z₁₋β))², δ = MDE × mean, for the smallest
 *   treatment share w_t (Chow, Shao & Wang 2008, "Sample Size Calculations in Clinical
 *   Research", §3.2; statsmodels' NormalIndPower gives the same).
 * - Sequential (the mSPRT of msprt.ts, tuned to the MDE as the report tunes it): the N at
 *   which one look has that power, P(|θ̂| > h(N)) ≥ 1 − β with θ̂ ~ N(δ, V(N)) and h the
 *   confidence sequence's half-width. An upper bound: with daily looks the test usually
 *   stops earlier (the suite's simulation measures it).
 * With several treatments α is split over them (Bonferroni), as the report does.
 */
import normalCdf from "@stdlib/stats-base-dists-normal-cdf";
import normalQuantile from "@stdlib/stats-base-dists-normal-quantile";
import { optimalMixingRatio, sequentialHalfWidth } from "./msprt.js";

export interface PlanInput {
  baselineMean: number;
  baselineVariance: number;
  /** Relative effect worth detecting (0.05 = +5% of the control mean). */
  minimumDetectableEffect: number;
  /** Two-sided significance level of the experiment (before splitting over treatments). */
  alpha: number;
  power?: number;
  /** Allocation weights, control first. */
  weights: readonly number[];
  /** Units entering the experiment per day (all variants). */
  unitsPerDay?: number;
  /** A conversion metric: the treatment's variance follows its rate, p(1 − p). */
  binary?: boolean;
}

export interface SampleSize {
  /** Units per variant, in the order of `weights`. */
  perVariant: number[];
  total: number;
  days: number | null;
}

export interface SamplePlan {
  absoluteEffect: number;
  fixedHorizon: SampleSize;
  sequential: SampleSize;
}

/**
 * For a conversion metric, the treatment rate the effect asks for when no rate can be it (at or past 0 or 1: a
 * baseline of 0.9999999999999999 with an MDE of 10 asks for ~11); `undefined` when it is a rate.
 */
export function impossibleTreatmentRate(input: Pick<PlanInput, "baselineMean" | "minimumDetectableEffect" | "binary">) {
  if (!input.binary) return undefined;
  const rate = input.baselineMean * (1 + input.minimumDetectableEffect);
  return rate > 0 && rate < 1 ? undefined : rate;
}

/** The plan, or `undefined` when there is none: no effect, no variance, a treatment rate no rate can be, too large. */
export function samplePlan(input: PlanInput): SamplePlan | undefined {
  const {
    baselineMean,
    baselineVariance,
    minimumDetectableEffect: mde,
    alpha,
    power = 0.8,
    weights,
    unitsPerDay,
    binary = false,
  } = input;
  const total = weights.reduce((a, b) => a + b, 0);
  const shares = weights.map((w) => w / total);
  const controlShare = shares[0] ?? 0;
  const treatmentShare = Math.min(...shares.slice(1));
  const delta = Math.abs(mde * baselineMean);
  if (
    !(delta > 0) ||
    !(baselineVariance > 0) ||
    !(controlShare > 0) ||
    !(treatmentShare > 0) ||
    !Number.isFinite(delta) ||
    impossibleTreatmentRate(input) !== undefined // its variance p(1 − p) would be ≤ 0: "2 units" before
  )
    return undefined;
  const treatmentMean = baselineMean * (1 + mde);
  const treatmentVariance = binary ? Math.max(1e-12, treatmentMean * (1 - treatmentMean)) : baselineVariance;
  const level = alpha / Math.max(1, shares.length - 1);
  const zSum = normalQuantile(1 - level / 2, 0, 1) + normalQuantile(power, 0, 1);
  /** The estimate's variance with N units in all. */
  const varianceAt = (n: number) => baselineVariance / (controlShare * n) + treatmentVariance / (treatmentShare * n);
  const fixed = (zSum * zSum * varianceAt(1)) / (delta * delta);
  if (!Number.isFinite(fixed) || fixed > 1e15) return undefined; // beyond any traffic: no plan

  const tau2 = optimalMixingRatio(level) * (delta / zSum) ** 2;
  const powerAt = (n: number) => {
    const V = varianceAt(n);
    const h = sequentialHalfWidth(V, tau2, level);
    const sd = Math.sqrt(V);
    return normalCdf((delta - h) / sd, 0, 1) + normalCdf((-delta - h) / sd, 0, 1);
  };
  let lo = fixed;
  let hi = fixed * 2;
  while (powerAt(hi) < power && hi < fixed * 1e4) hi *= 2;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (powerAt(mid) >= power) hi = mid;
    else lo = mid;
  }
  const size = (n: number): SampleSize => {
    const perVariant = shares.map((share) => Math.ceil(n * share));
    const all = perVariant.reduce((a, b) => a + b, 0);
    return { perVariant, total: all, days: unitsPerDay && unitsPerDay > 0 ? Math.ceil(all / unitsPerDay) : null };
  };
  return { absoluteEffect: delta, fixedHorizon: size(fixed), sequential: size(hi) };
}
