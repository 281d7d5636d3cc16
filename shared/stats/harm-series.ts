/**
 * A guardrail's comparison across looks with the one-sided mixture (one-sided.ts): the
 * same shape as compareSeries (sequence.ts), so the verdict stage reads either. Per
 * tested look: the one-sided p-value, and the harmful bound of the confidence sequence at
 * the drawn level; across looks the p-value is the running minimum and the harmful bound
 * the running maximum (in the harmful direction), so harm is detected exactly when some
 * tested look's p was at most the level. The benign side shown is the one-sided sequence
 * the other way at the same level (running minimum); it is there for scale, the decision
 * reads only the harmful side. When the two cross (an effect that moved) the benign side
 * is held at the harmful one and the look is marked unstable.
 */
import { fiellerRelativeInterval } from "./fieller.js";
import { tuningVariance, type SequentialOptions } from "./msprt.js";
import { oneSidedHalfWidth, oneSidedMixingVariance, oneSidedPValue } from "./one-sided.js";
import type { ComparisonSeries, IntervalResult, LookInput, LookResult } from "./sequence.js";
import { pointEstimates, variance } from "./sufficient.js";
import { testable } from "./welch.js";

interface HarmLook {
  difference: number;
  controlMean: number;
  treatmentMean: number;
  vc: number;
  vt: number;
  tau2: number;
  pValue: number;
}

/** `harmSign`: the sign of a harmful difference (+1 when an increase harms). */
export function harmSeries(
  inputs: readonly LookInput[],
  harmSign: number,
  options: SequentialOptions,
): ComparisonSeries {
  const tested = inputs.map((input): HarmLook | undefined => {
    const { control, treatment, minimumDetectableDifference } = input;
    if (!input.eligible || !testable(control, treatment)) return undefined;
    const vc = variance(control) / control.n;
    const vt = variance(treatment) / treatment.n;
    const tuning = tuningVariance(
      control,
      treatment,
      minimumDetectableDifference === undefined ? options : { ...options, minimumDetectableDifference },
    );
    const tau2 = oneSidedMixingVariance(options.alpha, tuning);
    if (!(tau2 > 0) || !(vc + vt > 0)) return undefined;
    const difference = treatment.mean - control.mean;
    return {
      difference,
      controlMean: control.mean,
      treatmentMean: treatment.mean,
      vc,
      vt,
      tau2,
      pValue: oneSidedPValue(harmSign * difference, vc + vt, tau2),
    };
  });
  let runningP = 1;
  const looks = inputs.map((input, i): LookResult => {
    const { difference, lift } = pointEstimates(input.control, input.treatment);
    const test = tested[i];
    if (test) runningP = Math.min(runningP, test.pValue);
    return { tested: !!test, pValue: runningP, difference, lift };
  });
  const intervalsAt = (level: number): IntervalResult[] => {
    // Bounds in the harmful direction: harm = harmSign · value.
    let harm = -Infinity;
    let benign = Infinity;
    let relativeHarm = -Infinity;
    let relativeBenign = Infinity;
    let stable = true;
    let any = false;
    let anyRelative = false;
    const toInterval = (a: number, b: number): [number, number] => (harmSign > 0 ? [a, b] : [-b, -a]);
    return tested.map((test) => {
      if (test) {
        const V = test.vc + test.vt;
        const u = oneSidedHalfWidth(V, test.tau2, level);
        const estimate = harmSign * test.difference;
        harm = Math.max(harm, estimate - u);
        benign = Math.min(benign, estimate + u);
        any = true;
        const relative = fiellerRelativeInterval(
          test.controlMean,
          test.vc,
          test.treatmentMean,
          test.vt,
          u / Math.sqrt(V),
        );
        if (relative) {
          const [lo, hi] = harmSign > 0 ? relative : [-relative[1], -relative[0]];
          relativeHarm = Math.max(relativeHarm, lo);
          relativeBenign = Math.min(relativeBenign, hi);
          anyRelative = true;
        }
        if (benign < harm || relativeBenign < relativeHarm) stable = false;
        benign = Math.max(benign, harm);
        relativeBenign = Math.max(relativeBenign, relativeHarm);
      }
      return {
        ci: any ? toInterval(harm, benign) : undefined,
        relativeCi: anyRelative ? toInterval(relativeHarm, relativeBenign) : undefined,
        stable,
      };
    });
  };
  return { looks, intervalsAt, harmPValue: (day) => looks[day]!.pValue };
}
