/**
 * Mixture sequential probability ratio test (mSPRT) on the difference of means with a
 * normal mixing distribution N(0, τ²), after Johari, Koomen, Pekelis & Walsh (2017/2022),
 * "Always Valid Inference: Continuous Monitoring of A/B Tests", §4 (normal data, plug-in
 * variance). With θ̂ = x̄_t − x̄_c and V = s_t²/n_t + s_c²/n_c, at one look:
 *
 *   Λ = sqrt(V / (V + τ²)) · exp( θ̂² τ² / (2 V (V + τ²)) )
 *   always-valid p-value  p = min(1, 1/Λ)
 *   confidence sequence  θ̂ ± sqrt( V (V + τ²) / τ² · (2 log(1/α) + log((V + τ²)/V)) )
 *
 * 0 is outside the interval exactly when p ≤ α. Across looks the p-value is the running
 * minimum and the interval the running intersection (sequence.ts): the probability that
 * either ever excludes the truth is at most α however often the report is read.
 *
 * Mixing variance: τ² = r*(α) · V*, where V* is the estimate's variance at the sample the
 * test is tuned for; r*(α) minimises the interval's width there (Howard, Ramdas, McAuliffe
 * & Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic confidence sequences",
 * §3.5). V* comes from the minimum detectable effect δ when one is set — the variance at
 * which a fixed-horizon test has 80% power for δ, V* = (δ / (z₁₋α/₂ + z₀.₈))² — else from
 * 10,000 units per arm. Validity holds for any choice; tuning moves where power is spent.
 */
import normalQuantile from "@stdlib/stats-base-dists-normal-quantile";
import { fiellerRelativeInterval } from "./fieller.js";
import { pointEstimates, variance, type SufficientStats } from "./sufficient.js";
import { testable, type TestOptions, type TestResult } from "./welch.js";

export interface SequentialOptions extends TestOptions {
  /** N*: the per-arm sample size the mixture is tuned for, when no effect is given. */
  tuningSampleSize?: number;
  /** The absolute difference worth detecting (MDE × control mean): tunes the mixture to it. */
  minimumDetectableDifference?: number;
}

export const DEFAULT_TUNING_SAMPLE_SIZE = 10_000;
/** The power a minimum detectable effect is planned for. */
export const PLANNED_POWER = 0.8;

const ratios = new Map<number, number>();

/** r*(α): the τ²/V that minimizes the confidence sequence's width (golden-section search, once per α). */
export function optimalMixingRatio(alpha: number): number {
  let ratio = ratios.get(alpha);
  if (ratio === undefined) ratios.set(alpha, (ratio = searchMixingRatio(alpha)));
  return ratio;
}

/** w is unimodal in log r: golden-section search. */
function searchMixingRatio(alpha: number): number {
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

/** The estimate's variance the mixture is tuned to (V* above). */
export function tuningVariance(
  control: SufficientStats,
  treatment: SufficientStats,
  options: SequentialOptions,
): number {
  const { alpha, tuningSampleSize = DEFAULT_TUNING_SAMPLE_SIZE, minimumDetectableDifference } = options;
  if (
    minimumDetectableDifference !== undefined &&
    minimumDetectableDifference > 0 &&
    Number.isFinite(minimumDetectableDifference)
  ) {
    return (
      (minimumDetectableDifference / (normalQuantile(1 - alpha / 2, 0, 1) + normalQuantile(PLANNED_POWER, 0, 1))) ** 2
    );
  }
  return (variance(control) + variance(treatment)) / tuningSampleSize;
}

/** τ², the mixing variance: r*(α) · V*. */
export const mixingVariance = (
  control: SufficientStats,
  treatment: SufficientStats,
  options: SequentialOptions,
): number => optimalMixingRatio(options.alpha) * tuningVariance(control, treatment, options);

/** Half-width of the confidence sequence at variance V (see above). */
export function sequentialHalfWidth(V: number, tau2: number, alpha: number): number {
  return Math.sqrt(((V * (V + tau2)) / tau2) * (2 * Math.log(1 / alpha) + Math.log1p(tau2 / V)));
}

/** One look of the mSPRT, or undefined when untestable (an arm under 2 units or without variance). */
export function sequentialTest(
  control: SufficientStats,
  treatment: SufficientStats,
  options: SequentialOptions,
): TestResult | undefined {
  if (!testable(control, treatment)) return undefined;
  const { alpha } = options;
  const { difference, lift } = pointEstimates(control, treatment);
  const vc = variance(control) / control.n;
  const vt = variance(treatment) / treatment.n;
  const V = vc + vt;
  const tau2 = mixingVariance(control, treatment, options);
  if (!(tau2 > 0)) return undefined;
  const logLambda = 0.5 * Math.log(V / (V + tau2)) + (difference * difference * tau2) / (2 * V * (V + tau2));
  const halfWidth = sequentialHalfWidth(V, tau2, alpha);
  return {
    pValue: Math.min(1, Math.exp(-logLambda)),
    ci: [difference - halfWidth, difference + halfWidth],
    // Fieller at the sequence's own critical multiplier: consistent with the test at this look.
    relativeCi: fiellerRelativeInterval(control.mean, vc, treatment.mean, vt, halfWidth / Math.sqrt(V)),
    difference,
    lift,
  };
}
