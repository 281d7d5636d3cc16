/**
 * The guardrail monitor of a progressive rollout: at every check, each guardrail metric of
 * the flag compares the units served the new variant against the units held back with the
 * one-sided always-valid test (shared/stats/one-sided.ts, the test the report's guardrails
 * use). The mixture's Λ is a nonnegative supermartingale under "no harm", so reading it
 * every minute of a plan costs no false alarms (Ville's inequality): harm is declared the
 * first time p ≤ α/k, Bonferroni over the flag's k guardrails (they are "corrected among
 * themselves", docs/statistics.md). Pure: statistics in, decision out, so the watcher and
 * the simulation (monitor.simulation.test.ts) run the very same function.
 */
import { tuningVariance } from "../../../shared/stats/msprt.js";
import { oneSidedHalfWidth, oneSidedMixingVariance, oneSidedPValue } from "../../../shared/stats/one-sided.js";
import { variance, type SufficientStats } from "../../../shared/stats/sufficient.js";

/** Per-arm minimum before a guardrail is tested (the report's minimum sample, docs/statistics.md). */
export const MINIMUM_UNITS_PER_ARM = 100;
/** The relative harm the mixture is tuned to detect fastest when the plan gives none. */
export const DEFAULT_HARM_MDE = 0.1;
export const DEFAULT_GUARDRAIL_ALPHA = 0.05;

export interface GuardrailReading {
  metric: string;
  /** `increase`: more is better, so a fall harms; `decrease` (errors, latency): a rise harms. */
  direction: "increase" | "decrease";
  /** Units served the new variant. */
  served: SufficientStats;
  /** Units held back (outside the rollout). */
  heldBack: SufficientStats;
}

export interface GuardrailCheck {
  metric: string;
  /** Served mean − held-back mean. */
  difference: number;
  /** difference / |held-back mean| (null when the held-back mean is 0). */
  lift: number | null;
  /** The always-valid interval of the difference at α/k (one-sided: only the harmful bound decides). */
  interval: [number, number] | null;
  pValue: number;
  served: number;
  heldBack: number;
  tested: boolean;
  harm: boolean;
}

export interface MonitorOptions {
  alpha?: number;
  /** Relative harm worth detecting (0.1 = 10% of the held-back mean): tunes the mixture. */
  minimumDetectableEffect?: number;
  /** Draw the intervals (a bisection per guardrail); the simulation, which reads only the decision, skips them. */
  intervals?: boolean;
}

export interface MonitorDecision {
  harm: boolean;
  /** The level each guardrail is tested at: α / k. */
  level: number;
  checks: GuardrailCheck[];
}

function check(reading: GuardrailReading, level: number, mde: number, intervals: boolean): GuardrailCheck {
  const { served, heldBack } = reading;
  const difference = served.mean - heldBack.mean;
  const lift = heldBack.mean !== 0 ? difference / Math.abs(heldBack.mean) : null;
  const base = { metric: reading.metric, difference, lift, served: served.n, heldBack: heldBack.n };
  const untested = { ...base, interval: null, pValue: 1, tested: false, harm: false };
  if (served.n < MINIMUM_UNITS_PER_ARM || heldBack.n < MINIMUM_UNITS_PER_ARM) return untested;
  const V = variance(served) / served.n + variance(heldBack) / heldBack.n;
  if (!(V > 0)) return untested; // no spread yet (no errors at all in either arm)
  const minimumDetectableDifference = mde * Math.abs(heldBack.mean) || undefined;
  const tuning = tuningVariance(heldBack, served, {
    alpha: 2 * level,
    ...(minimumDetectableDifference ? { minimumDetectableDifference } : {}),
  });
  const tau2 = oneSidedMixingVariance(level, tuning);
  if (!(tau2 > 0)) return untested;
  const harmSign = reading.direction === "decrease" ? 1 : -1;
  const pValue = oneSidedPValue(harmSign * difference, V, tau2);
  const u = intervals ? oneSidedHalfWidth(V, tau2, level) : undefined;
  const interval: [number, number] | null = u === undefined ? null : [difference - u, difference + u];
  return { ...base, interval, pValue, tested: true, harm: pValue <= level };
}

export function monitorGuardrails(
  readings: readonly GuardrailReading[],
  options: MonitorOptions = {},
): MonitorDecision {
  const alpha = options.alpha ?? DEFAULT_GUARDRAIL_ALPHA;
  const level = alpha / Math.max(1, readings.length);
  const mde = options.minimumDetectableEffect ?? DEFAULT_HARM_MDE;
  const checks = readings.map((reading) => check(reading, level, mde, options.intervals ?? true));
  return { harm: checks.some((c) => c.harm), level, checks };
}
