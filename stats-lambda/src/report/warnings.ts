/**
 * Stage 5: warnings (shared/report-warnings.ts names them and gives the console's words).
 * A comparison is trustworthy only when no blocking warning applies:
 * - a sample-ratio mismatch (any, anywhere in the experiment: the assignment itself is broken);
 * - an effect that left its own earlier interval (novelty, a weekday pattern, a broken rollout);
 * - a significant verdict beside an estimate outside its interval: the sequential interval
 *   is a running intersection, so it can stand on early looks while today's estimate has
 *   moved away (a heavy-tailed A/A at 10/90: 104–553 such looks per scenario, issue 22);
 *   the decision is the earlier looks', the number shown is today's, and they disagree;
 * - more than 5% of units seen in two variants (the arms are mixed; above 1%: a warning only);
 * - an early read of a t-test, asked for before its planned sample.
 * Advisory: uncapped heavy-tailed values; a t-test before its planned sample (no verdict);
 * a metric whose window no unit has closed yet (running values, no verdict).
 */
import type { Comparison, Warning } from "../../../shared/report-schema.js";
import {
  ADVISORY_WARNINGS,
  MULTIPLE_VARIANT_UNTRUSTWORTHY_SHARE,
  MULTIPLE_VARIANT_WARN_SHARE,
} from "../../../shared/report-warnings.js";
import type { Decision } from "./verdicts.js";

const SIGNIFICANT = new Set(["significant_positive", "significant_negative", "harm_detected"]);

const outside = (value: number, interval: [number, number] | null) =>
  !!interval && Number.isFinite(value) && (value < interval[0] || value > interval[1]);

type WarningInput = Pick<Decision, "stable"> &
  Partial<Pick<Decision, "difference" | "lift" | "ci" | "relativeCi" | "verdict" | "read">> &
  Partial<Pick<Decision, "multipleVariantShare" | "heavyTail" | "windowPending">> & { srmMismatch: boolean };

export function warningsOf(input: WarningInput): Warning[] {
  const { srmMismatch, stable, verdict, ci = null, relativeCi = null, read, multipleVariantShare = 0 } = input;
  const warnings: Warning[] = [];
  if (srmMismatch) warnings.push("sample_ratio_mismatch");
  if (!stable) warnings.push("effect_not_stable");
  if (
    verdict &&
    SIGNIFICANT.has(verdict) &&
    (outside(input.difference ?? Number.NaN, ci) || outside(input.lift ?? Number.NaN, relativeCi))
  )
    warnings.push("estimate_outside_interval");
  if (multipleVariantShare > MULTIPLE_VARIANT_UNTRUSTWORTHY_SHARE) warnings.push("many_multiple_variant_units");
  else if (multipleVariantShare > MULTIPLE_VARIANT_WARN_SHARE) warnings.push("multiple_variant_units");
  if (input.heavyTail) warnings.push("uncapped_heavy_tail");
  if (read === "before_plan") warnings.push("before_planned_sample");
  if (read === "early") warnings.push("early_read");
  if (input.windowPending) warnings.push("window_not_closed");
  return warnings;
}

/** The reported comparison: the decision with its warnings. */
export function comparisonOf(decision: Decision, srmMismatch: boolean): Comparison {
  const { stable, level, read, multipleVariantShare, heavyTail, windowPending, ...rest } = decision;
  const warnings = warningsOf({ ...decision, srmMismatch });
  return { ...rest, trustworthy: warnings.every((w) => ADVISORY_WARNINGS.has(w)), warnings, level };
}
