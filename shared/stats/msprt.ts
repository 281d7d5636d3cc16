/**
 * Mixture sequential probability ratio test (mSPRT) on the difference of means with a
 * normal mixing distribution N(0, τ²), after Johari, Koomen, Pekelis & Walsh (2017/2022),
 * "Always Valid Inference: Continuous Monitoring of A/B Tests", §4 (normal data, plug-in
 * variance). With θ̂ = x̄_t − x̄_c and V = s_t²/n_t + s_c²/n_c:
 *
 *   Λ = sqrt(V / (V + τ²)) · exp( θ̂² τ² / (2 V (V + τ²)) )
 *   always-valid p-value  p = min(1, 1/Λ)
 *   confidence sequence  θ̂ ± sqrt( V (V + τ²) / τ² · (2 log(1/α) + log((V + τ²)/V)) )
 *
 * Valid under continuous peeking: the probability that p ever drops below α under the
 * null is at most α. Over a sequence of looks the p-value is reported as the running
 * minimum (non-increasing), which keeps that guarantee.
 *
 * Mixing variance: τ² = r*(α) · (s_c² + s_t²) / N*. The half-width above is
 * sqrt(V · w(τ²/V)) with w(r) = (1 + r)/r · (2 log(1/α) + log(1 + r)); r*(α) minimizes w,
 * so with V the estimate's variance at the tuning sample size N* per arm (default
 * 10,000) the confidence sequence is as tight as it can be at N* (the choice of
 * Howard, Ramdas, McAuliffe & Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic
 * confidence sequences", §3.5: tune the mixture to a planned sample size). r* ≈ 9 for
 * α = 0.05. Smaller N* favours large effects found early; larger N* favours small
 * effects found late; validity holds for any choice.
 */
import { pointEstimates, variance, type SufficientStats } from "./sufficient.js";
import { relativeStandardError, type TestOptions, type TestResult } from "./welch.js";

export interface SequentialOptions extends TestOptions {
  /** N*: the per-arm sample size the mixture is tuned for. */
  tuningSampleSize?: number;
  /** The p-value of the previous look, so the reported one never increases. */
  previousPValue?: number;
}

export const DEFAULT_TUNING_SAMPLE_SIZE = 10_000;

/** r*(α): the τ²/V that minimizes the confidence sequence's width (golden-section search; w is unimodal). */
export function optimalMixingRatio(alpha: number): number {
  const width = (r: number) => ((1 + r) / r) * (2 * Math.log(1 / alpha) + Math.log1p(r));
  let lo = Math.log(1e-3);
  let hi = Math.log(1e4);
  const phi = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 100; i++) {
    const a = hi - phi * (hi - lo);
    const b = lo + phi * (hi - lo);
    if (width(Math.exp(a)) < width(Math.exp(b))) hi = b;
    else lo = a;
  }
  return Math.exp((lo + hi) / 2);
}

const ratios = new Map<number, number>();
const mixingRatio = (alpha: number): number => {
  let ratio = ratios.get(alpha);
  if (ratio === undefined) ratios.set(alpha, (ratio = optimalMixingRatio(alpha)));
  return ratio;
};

export function sequentialTest(control: SufficientStats, treatment: SufficientStats, options: SequentialOptions): TestResult {
  const { alpha, tuningSampleSize = DEFAULT_TUNING_SAMPLE_SIZE, previousPValue = 1 } = options;
  const { difference, lift } = pointEstimates(control, treatment);
  const none = (): TestResult => ({ pValue: Math.min(1, previousPValue), ci: [-Infinity, Infinity], relativeCi: [-Infinity, Infinity], significant: previousPValue < alpha, difference, lift });
  if (control.n < 2 || treatment.n < 2) return none();
  const V = variance(control) / control.n + variance(treatment) / treatment.n;
  const tau2 = (mixingRatio(alpha) * (variance(control) + variance(treatment))) / tuningSampleSize;
  if (V === 0 || tau2 === 0) return none();

  const logLambda = 0.5 * Math.log(V / (V + tau2)) + (difference * difference * tau2) / (2 * V * (V + tau2));
  const pValue = Math.min(1, previousPValue, Math.exp(-logLambda));
  const halfWidth = Math.sqrt(((V * (V + tau2)) / tau2) * (2 * Math.log(1 / alpha) + Math.log((V + tau2) / V)));
  // The relative interval scales the same always-valid width by the delta-method ratio of errors.
  const relativeHalfWidth = Number.isFinite(lift) ? (halfWidth / Math.sqrt(V)) * relativeStandardError(control, treatment) : Infinity;
  return {
    pValue,
    ci: [difference - halfWidth, difference + halfWidth],
    relativeCi: Number.isFinite(lift) ? [lift - relativeHalfWidth, lift + relativeHalfWidth] : [-Infinity, Infinity],
    significant: pValue < alpha,
    difference,
    lift,
  };
}
