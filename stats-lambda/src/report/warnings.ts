/**
 * Stage 5: warnings. A comparison is trustworthy only when none applies: a sample-ratio
 * mismatch (any, anywhere in the experiment: the assignment itself is broken) or an
 * effect that left its own earlier interval (novelty, a weekday pattern, a broken rollout).
 */
import type { Comparison, Warning } from "../../../shared/report-schema.js";
import type { Decision } from "./verdicts.js";

export function warningsOf({ srmMismatch, stable }: { srmMismatch: boolean; stable: boolean }): Warning[] {
  const warnings: Warning[] = [];
  if (srmMismatch) warnings.push("sample_ratio_mismatch");
  if (!stable) warnings.push("effect_not_stable");
  return warnings;
}

/** The reported comparison: the decision with its warnings. */
export function comparisonOf(decision: Decision, srmMismatch: boolean): Comparison {
  const { stable, level, ...rest } = decision;
  const warnings = warningsOf({ srmMismatch, stable });
  return { ...rest, trustworthy: warnings.length === 0, warnings, level };
}
