/**
 * One comparison (a treatment against control on one metric) across the report's looks,
 * one look per day. The p-value and the intervals here are one object: whatever the
 * reader sees at a look — verdict, its sign, p-value, absolute and relative interval —
 * comes from the same test at the same level, so they cannot disagree.
 *
 * - A look is *tested* only when it passes the gates (the caller's minimum sample) and the
 *   test can run (no arm without variance). Untested looks feed nothing.
 * - Sequential (mSPRT): the p-value is the running minimum over tested looks, the
 *   intervals the running intersection. If a look's interval misses the intersection so
 *   far altogether — which a constant effect does with probability at most α — the
 *   intersection keeps the side that already excludes 0 (a decision once made stands) and
 *   the comparison is marked unstable: the effect is changing over time (novelty, a
 *   weekday pattern, a broken rollout), and the reader is told so. With that rule the
 *   interval excludes 0 exactly when some tested look did, that is when p ≤ level.
 * - T-test (fixed horizon): each look stands alone, valid only at the planned end.
 *
 * The level can be chosen after the p-values are known (Holm, Benjamini–Hochberg): the
 * per-look statistics are level-free, the intervals are drawn at any level afterwards.
 */
import tQuantile from "@stdlib/stats-base-dists-t-quantile";
import { mixingVariance, sequentialHalfWidth, sequentialTest, type SequentialOptions } from "./msprt.js";
import { pointEstimates, variance, type SufficientStats } from "./sufficient.js";
import { differenceSkew, intervalsWithin, statisticBounds, welchDegreesOfFreedom, welchTTest } from "./welch.js";

export type Method = "sequential" | "ttest";

export interface LookInput {
  control: SufficientStats;
  treatment: SufficientStats;
  /** Whether the look passes the minimum-sample gates. */
  eligible: boolean;
  /** The absolute effect the mixture is tuned to at this look (MDE × the control mean so far). */
  minimumDetectableDifference?: number | undefined;
}

/** A tested look's level-free statistics. */
interface TestedLook {
  pValue: number;
  difference: number;
  controlMean: number;
  treatmentMean: number;
  /** Variances of the two means. */
  vc: number;
  vt: number;
  /** The bounds on T = (difference − δ)/S the intervals at a level keep (symmetric but for a skew-corrected t). */
  bounds: (level: number) => [number, number];
}

export interface LookResult {
  tested: boolean;
  /** Running (sequential) or this look's (t-test) p-value; 1 before any tested look. */
  pValue: number;
  difference: number;
  lift: number;
}

export interface IntervalResult {
  ci: [number, number] | undefined;
  relativeCi: [number, number] | undefined;
  /** False once a look's interval missed the running intersection (sequential only). */
  stable: boolean;
}

export interface ComparisonSeries {
  looks: LookResult[];
  /**
   * One-sided (sequential) p-value for harm up to a look: the smallest p of the tested looks
   * whose estimate lies on the harmful side (`harmSign`), 1 when none.
   */
  harmPValue(day: number, harmSign: number): number;
  /** The intervals at every look, drawn at `level`. */
  intervalsAt(level: number): IntervalResult[];
}

function testLook(
  { control, treatment, minimumDetectableDifference }: LookInput,
  method: Method,
  baseOptions: SequentialOptions,
): TestedLook | undefined {
  const options =
    minimumDetectableDifference === undefined ? baseOptions : { ...baseOptions, minimumDetectableDifference };
  const vc = variance(control) / control.n;
  const vt = variance(treatment) / treatment.n;
  const base = {
    difference: treatment.mean - control.mean,
    controlMean: control.mean,
    treatmentMean: treatment.mean,
    vc,
    vt,
  };
  if (method === "ttest") {
    const result = welchTTest(control, treatment, options);
    if (!result) return undefined;
    const df = welchDegreesOfFreedom(control, treatment, vc, vt);
    const skew = differenceSkew(control, treatment);
    return { ...base, pValue: result.pValue, bounds: (level) => statisticBounds(tQuantile(1 - level / 2, df), skew) };
  }
  const result = sequentialTest(control, treatment, options);
  if (!result) return undefined;
  // The mixture is fixed by the tuning level (options.alpha); only the drawn level varies.
  const V = vc + vt;
  const tau2 = mixingVariance(control, treatment, options);
  const critical = (level: number) => sequentialHalfWidth(V, tau2, level) / Math.sqrt(V);
  return { ...base, pValue: result.pValue, bounds: (level) => [-critical(level), critical(level)] };
}

/** Whether an interval lies wholly on one side of 0. */
export const excludesZero = (interval: [number, number] | null | undefined): interval is [number, number] =>
  !!interval && (interval[0] > 0 || interval[1] < 0);

/** The running intersection, by the rule above; `stable` false when the two are disjoint. */
function intersect(
  running: [number, number] | undefined,
  next: [number, number] | undefined,
): { interval: [number, number] | undefined; disjoint: boolean } {
  if (!next) return { interval: running, disjoint: false };
  if (!running) return { interval: next, disjoint: false };
  const lo = Math.max(running[0], next[0]);
  const hi = Math.min(running[1], next[1]);
  if (lo <= hi) return { interval: [lo, hi], disjoint: false };
  return { interval: excludesZero(running) ? running : next, disjoint: true };
}

export function compareSeries(
  inputs: readonly LookInput[],
  method: Method,
  options: SequentialOptions,
): ComparisonSeries {
  const tested = inputs.map((input) => (input.eligible ? testLook(input, method, options) : undefined));
  let runningP = 1;
  const looks = inputs.map((input, i): LookResult => {
    const { difference, lift } = pointEstimates(input.control, input.treatment);
    const test = tested[i];
    if (method === "ttest") return { tested: !!test, pValue: test?.pValue ?? 1, difference, lift };
    if (test) runningP = Math.min(runningP, test.pValue);
    return { tested: !!test, pValue: runningP, difference, lift };
  });
  const intervalsAt = (level: number): IntervalResult[] => {
    let ci: [number, number] | undefined;
    let relativeCi: [number, number] | undefined;
    let stable = true;
    return tested.map((test) => {
      if (!test)
        return method === "ttest" ? { ci: undefined, relativeCi: undefined, stable: true } : { ci, relativeCi, stable };
      const { ci: lookCi, relativeCi: lookRelative } = intervalsWithin(
        test.controlMean,
        test.vc,
        test.treatmentMean,
        test.vt,
        test.bounds(level),
      );
      if (method === "ttest") return { ci: lookCi, relativeCi: lookRelative, stable: true };
      const absolute = intersect(ci, lookCi);
      const relative = intersect(relativeCi, lookRelative);
      ci = absolute.interval;
      relativeCi = relative.interval;
      stable &&= !absolute.disjoint && !relative.disjoint;
      return { ci, relativeCi, stable };
    });
  };
  const harmPValue = (day: number, harmSign: number) =>
    tested
      .slice(0, day + 1)
      .reduce((p, test) => (test && Math.sign(test.difference) === harmSign ? Math.min(p, test.pValue) : p), 1);
  return { looks, intervalsAt, harmPValue };
}
