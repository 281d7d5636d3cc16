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
 * Mixing variance: τ² = (s_c² + s_t²) / N*, the variance the estimate will have at the
 * tuning sample size N* per arm (default 10,000). The mixture then weighs effects of the
 * size the experiment can resolve at that scale, which makes the confidence sequence
 * tightest around N* (Howard, Ramdas, McAuliffe & Sekhon 2021, "Time-uniform,
 * nonparametric, nonasymptotic confidence sequences", §3.5, on matching the mixture to
 * the planned sample size). Smaller N* favours large effects found early; larger N*
 * favours small effects found late.
 */
import { mean, variance, type SufficientStats } from "./sufficient.js";
import { relativeStandardError, type TestOptions, type TestResult } from "./welch.js";

export interface SequentialOptions extends TestOptions {
  /** N*: the per-arm sample size the mixture is tuned for. */
  tuningSampleSize?: number;
  /** The p-value of the previous look, so the reported one never increases. */
  previousPValue?: number;
}

export const DEFAULT_TUNING_SAMPLE_SIZE = 10_000;

export function sequentialTest(control: SufficientStats, treatment: SufficientStats, options: SequentialOptions): TestResult {
  const { alpha, tuningSampleSize = DEFAULT_TUNING_SAMPLE_SIZE, previousPValue = 1 } = options;
  const difference = mean(treatment) - mean(control);
  const lift = mean(control) === 0 ? NaN : mean(treatment) / mean(control) - 1;
  const none = (): TestResult => ({ pValue: Math.min(1, previousPValue), ci: [-Infinity, Infinity], relativeCi: [-Infinity, Infinity], significant: previousPValue < alpha, difference, lift });
  if (control.n < 2 || treatment.n < 2) return none();
  const V = variance(control) / control.n + variance(treatment) / treatment.n;
  const tau2 = (variance(control) + variance(treatment)) / tuningSampleSize;
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
