/**
 * What a report means for the decision, in plain words: ship a variant, keep the control,
 * keep running (with the days left for the minimum detectable effect), no detectable effect,
 * or fix the data first. A pure function of the report, so the results page, its sample-size
 * box and the flags list never disagree.
 */
import type { MetricReport, Report } from "./types.js";

export type Recommendation = "ship" | "keep-control" | "keep-running" | "no-effect" | "fix-data" | "no-data";

export interface Conclusion {
  recommendation: Recommendation;
  /** One line: "Ship treatment". */
  headline: string;
  /** Why, with the numbers. */
  detail: string;
  tone: "good" | "bad" | "neutral";
  /** Units still needed for the MDE (0 once reached), when the report has a plan. */
  unitsLeft?: number;
  daysLeft?: number | null;
}

const pct = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? "—" : `${v > 0 ? "+" : ""}${(v * 100).toFixed(1)}%`;
const interval = (ci: [number, number] | null | undefined) => (ci ? ` (interval ${pct(ci[0])} to ${pct(ci[1])})` : "");
const metricName = (m: MetricReport) => m.name ?? m.key;

/** The primary metric's progress toward the planned sample size (sequential plan for a sequential test). */
export function progress(report: Report): { unitsLeft: number; daysLeft: number | null; planned: number } | undefined {
  const plan = report.plan;
  if (!plan) return undefined;
  const planned = Math.ceil(
    report.experiment.method === "sequential" ? plan.sequential.total : plan.fixedHorizon.total,
  );
  const exposed = report.variants.reduce((n, v) => n + v.exposures, 0);
  const unitsLeft = Math.max(0, planned - exposed);
  const daysLeft = plan.unitsPerDay > 0 ? Math.ceil(unitsLeft / plan.unitsPerDay) : null;
  return { unitsLeft, daysLeft, planned };
}

const daysText = (days: number | null) =>
  days === null ? "an unknown time (no traffic yet)" : `about ${days} more day${days === 1 ? "" : "s"}`;

export function conclude(report: Report): Conclusion {
  const exposed = report.variants.reduce((n, v) => n + v.exposures, 0);
  const primary = report.metrics.find((m) => m.role === "primary");
  const left = progress(report);
  const withProgress = (c: Conclusion): Conclusion =>
    left ? { ...c, unitsLeft: left.unitsLeft, daysLeft: left.daysLeft } : c;
  if (report.srm.mismatch)
    return withProgress({
      recommendation: "fix-data",
      headline: "Do not decide yet: the traffic split is broken",
      detail: `Exposures do not match the configured split (sample ratio mismatch, p = ${report.srm.pValue.toPrecision(2)}), so no verdict can be trusted. Find the cause (targeting changes, bots, redirects) and start a new period.`,
      tone: "bad",
    });
  if (exposed === 0 || !primary)
    return withProgress({
      recommendation: "no-data",
      headline: primary ? "No data yet" : "No primary metric",
      detail: primary
        ? "No unit has been exposed in this period: is the experiment served on a deployment an SDK uses?"
        : "Without a primary metric there is nothing to decide on: add one (stop, edit, start).",
      tone: "neutral",
    });
  const treatments = primary.variants.filter((v) => !v.control && v.comparison);
  const harmed = report.metrics
    .filter((m) => m.role === "guardrail")
    .filter((m) => m.variants.some((v) => v.comparison?.verdict === "harm_detected"));
  const untrustworthy = treatments.filter((v) => !v.comparison!.trustworthy);
  if (untrustworthy.length > 0)
    return withProgress({
      recommendation: "keep-running",
      headline: "Keep running: the effect is not stable yet",
      detail: `${untrustworthy.map((v) => v.variant).join(", ")}: the effect moved outside its own earlier interval; wait for it to settle before acting.`,
      tone: "neutral",
    });
  const better = treatments
    .filter((v) => v.comparison!.verdict === "significant_positive")
    .sort((a, b) => (b.comparison!.lift ?? 0) - (a.comparison!.lift ?? 0));
  const fixedTooEarly = report.experiment.method === "ttest" && left !== undefined && left.unitsLeft > 0;
  if (better.length > 0 && !fixedTooEarly) {
    const best = better[0]!;
    if (harmed.length > 0)
      return withProgress({
        recommendation: "keep-control",
        headline: `Do not ship ${best.variant}: it harms a guardrail`,
        detail: `${best.variant} improves ${metricName(primary)} by ${pct(best.comparison!.lift)}${interval(best.comparison!.relativeCi)}, but ${harmed.map(metricName).join(", ")} got worse.`,
        tone: "bad",
      });
    // Nothing is left to wait for: the box below must not ask for more days next to this.
    return {
      ...withProgress({
        recommendation: "ship",
        headline: `Ship ${best.variant}`,
        detail: `${best.variant} improves ${metricName(primary)} by ${pct(best.comparison!.lift)}${interval(best.comparison!.relativeCi)}, significant at ${Math.round(report.experiment.confidenceLevel * 100)}% confidence${report.experiment.method === "sequential" ? " (the sequential test is valid now: no need to wait for the planned sample size)" : ""}.`,
        tone: "good",
      }),
      ...(left ? { unitsLeft: 0, daysLeft: 0 } : {}),
    };
  }
  if (
    treatments.length > 0 &&
    treatments.every((v) => v.comparison!.verdict === "significant_negative") &&
    !fixedTooEarly
  )
    return withProgress({
      recommendation: "keep-control",
      headline: "Keep the control",
      detail: `${treatments.map((v) => `${v.variant} lowers ${metricName(primary)} by ${pct(v.comparison!.lift)}${interval(v.comparison!.relativeCi)}`).join("; ")}: significantly worse.`,
      tone: "bad",
    });
  if (left && left.unitsLeft === 0)
    return withProgress({
      recommendation: "no-effect",
      headline: "No detectable effect",
      detail: `The planned ${left.planned.toLocaleString("en-US")} units are in and no variant moved ${metricName(primary)} by the minimum detectable effect (${pct(report.experiment.minimumDetectableEffect)}) or more: keep the control, or ship on other grounds.`,
      tone: "neutral",
    });
  return withProgress({
    recommendation: "keep-running",
    headline: "Keep running",
    detail: left
      ? `Not significant yet. ${left.unitsLeft.toLocaleString("en-US")} more units (${daysText(left.daysLeft)}) to detect a ${pct(report.experiment.minimumDetectableEffect)} change in ${metricName(primary)}${fixedTooEarly ? "; a fixed-horizon test is read once, at the planned sample size" : ""}.`
      : `Not significant yet. Set a minimum detectable effect to know how long ${metricName(primary)} needs.`,
    tone: "neutral",
  });
}
