/**
 * Welch's unequal-variance t-test on the difference of means, treatment − control
 * (Welch 1947, "The generalization of Student's problem when several different
 * population variances are involved"), with the Welch–Satterthwaite degrees of freedom.
 * The relative lift (treatment / control − 1) gets a delta-method interval (Deng, Knoblich
 * & Lu 2018, "Applying the Delta Method in Metric Analytics", eq. for a ratio of means).
 */
import tCdf from "@stdlib/stats-base-dists-t-cdf";
import tQuantile from "@stdlib/stats-base-dists-t-quantile";
import { mean, pointEstimates, variance, type SufficientStats } from "./sufficient.js";

export interface TestOptions {
  /** Significance level, two-sided (0.05 for 95% confidence). */
  alpha: number;
}

export interface TestResult {
  pValue: number;
  /** Interval of the absolute difference of means, treatment − control. */
  ci: [number, number];
  /** Interval of the relative lift, treatment / control − 1. */
  relativeCi: [number, number];
  significant: boolean;
  /** treatment − control */
  difference: number;
  /** treatment / control − 1 (NaN when the control mean is 0) */
  lift: number;
}

/** The delta-method standard error of treatment/control − 1. */
export function relativeStandardError(control: SufficientStats, treatment: SufficientStats): number {
  const mc = mean(control);
  const mt = mean(treatment);
  return Math.sqrt(variance(treatment) / treatment.n / (mc * mc) + (mt * mt * variance(control)) / control.n / (mc * mc * mc * mc));
}

const undecided = (difference: number, lift: number): TestResult => ({ pValue: 1, ci: [-Infinity, Infinity], relativeCi: [-Infinity, Infinity], significant: false, difference, lift });

export function welchTTest(control: SufficientStats, treatment: SufficientStats, { alpha }: TestOptions): TestResult {
  const { difference, lift } = pointEstimates(control, treatment);
  if (control.n < 2 || treatment.n < 2) return undecided(difference, lift);
  const vc = variance(control) / control.n;
  const vt = variance(treatment) / treatment.n;
  const se = Math.sqrt(vc + vt);
  if (se === 0) return { ...undecided(difference, lift), pValue: difference === 0 ? 1 : 0, ci: [difference, difference], significant: difference !== 0 };
  const df = (vc + vt) ** 2 / (vc ** 2 / (control.n - 1) + vt ** 2 / (treatment.n - 1));
  const t = difference / se;
  const pValue = Math.min(1, 2 * (1 - tCdf(Math.abs(t), df)));
  const critical = tQuantile(1 - alpha / 2, df);
  const relativeSe = relativeStandardError(control, treatment);
  return {
    pValue,
    ci: [difference - critical * se, difference + critical * se],
    relativeCi: Number.isFinite(lift) ? [lift - critical * relativeSe, lift + critical * relativeSe] : [-Infinity, Infinity],
    significant: pValue < alpha,
    difference,
    lift,
  };
}
