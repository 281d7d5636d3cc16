/**
 * Welch's unequal-variance t-test on the difference of means, treatment − control
 * (Welch 1947, "The generalization of Student's problem when several different
 * population variances are involved"), with the Welch–Satterthwaite degrees of freedom.
 * The relative lift (treatment / control − 1) gets Fieller's interval at the same
 * critical value, so it excludes 0 exactly when the test rejects.
 */
import tCdf from "@stdlib/stats-base-dists-t-cdf";
import tQuantile from "@stdlib/stats-base-dists-t-quantile";
import { fiellerRelativeInterval } from "./fieller.js";
import { pointEstimates, variance, type SufficientStats } from "./sufficient.js";

export interface TestOptions {
  /** Significance level, two-sided (0.05 for 95% confidence). */
  alpha: number;
}

/** A test's answer at one look. Intervals are undefined where nothing bounds them. */
export interface TestResult {
  pValue: number;
  /** Interval of the absolute difference of means, treatment − control. */
  ci: [number, number];
  /** Interval of the relative lift, treatment / control − 1 (undefined when unbounded). */
  relativeCi: [number, number] | undefined;
  /** treatment − control */
  difference: number;
  /** treatment / control − 1 (NaN when the control mean is 0) */
  lift: number;
}

/** Whether a test can run at all: two units per arm and some variance. */
export function testable(control: SufficientStats, treatment: SufficientStats): boolean {
  return control.n >= 2 && treatment.n >= 2 && variance(control) > 0 && variance(treatment) > 0;
}

/** The Welch–Satterthwaite degrees of freedom, from the variances of the two means. */
export const welchDegreesOfFreedom = (
  control: SufficientStats,
  treatment: SufficientStats,
  vc: number,
  vt: number,
): number => (vc + vt) ** 2 / (vc ** 2 / (control.n - 1) + vt ** 2 / (treatment.n - 1));

/** The Welch test, or undefined when untestable (see testable). */
export function welchTTest(
  control: SufficientStats,
  treatment: SufficientStats,
  { alpha }: TestOptions,
): TestResult | undefined {
  if (!testable(control, treatment)) return undefined;
  const { difference, lift } = pointEstimates(control, treatment);
  const vc = variance(control) / control.n;
  const vt = variance(treatment) / treatment.n;
  const se = Math.sqrt(vc + vt);
  const df = welchDegreesOfFreedom(control, treatment, vc, vt);
  const pValue = Math.min(1, 2 * tCdf(-Math.abs(difference / se), df));
  const critical = tQuantile(1 - alpha / 2, df);
  return {
    pValue,
    ci: [difference - critical * se, difference + critical * se],
    relativeCi: fiellerRelativeInterval(control.mean, vc, treatment.mean, vt, critical),
    difference,
    lift,
  };
}
