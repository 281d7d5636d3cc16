import { describe, expect, it } from "vitest";
import { compareSeries, fromSums } from "../../../shared/stats/index.js";
import type { AnalysedMetric } from "./analyse.js";
import { correct } from "./correct.js";
import type { ReportedMetric } from "./registration.js";
import { decisionsOf } from "./verdicts.js";

const binary = (n: number, conversions: number) => fromSums(n, conversions, conversions);
const metric = (role: ReportedMetric["role"], direction?: "decrease"): ReportedMetric => ({
  key: "m",
  type: "unique_conversions",
  role,
  registeredAt: "start",
  ...(direction ? { direction } : {}),
});
/** One look: control 10% of 5,000, treatment `rate` of 5,000. */
function decide(role: ReportedMetric["role"], rate: number, method: "sequential" | "ttest", direction?: "decrease") {
  const series = compareSeries(
    [{ control: binary(5000, 500), treatment: binary(5000, 5000 * rate), eligible: true }],
    method,
    { alpha: 0.05 },
  );
  const analysed: AnalysedMetric = {
    metric: metric(role, direction),
    statistics: undefined as never,
    series: new Map([["treatment", series]]),
  };
  const corrected = correct([analysed], ["treatment"], 1, 0.05, "bonferroni", method);
  return decisionsOf(analysed, corrected, { method, alpha: 0.05 })("treatment", 0);
}

describe("verdict stage", () => {
  it("gives the verdict of the interval, at the corrected level", () => {
    const up = decide("primary", 0.13, "ttest");
    expect(up).toMatchObject({ verdict: "significant_positive", level: 0.05, stable: true });
    expect(up.ci![0]).toBeGreaterThan(0);
    expect(up.pValue).toBeLessThan(0.05);
    expect(decide("secondary", 0.101, "sequential").verdict).toBe("not_yet_significant");
  });

  it("tests guardrails one-sided for harm against the metric's direction", () => {
    const errorsUp = decide("guardrail", 0.12, "ttest", "decrease");
    expect(errorsUp).toMatchObject({ verdict: "harm_detected", level: 0.1 });
    const twoSided = decide("primary", 0.12, "ttest").pValue;
    expect(errorsUp.pValue).toBeCloseTo(twoSided / 2, 12);
    expect(decide("guardrail", 0.12, "ttest").verdict).toBe("no_harm_detected"); // more of an increase metric
    expect(decide("guardrail", 0.12, "sequential", "decrease")).toMatchObject({
      verdict: "harm_detected",
      level: 0.05,
    });
  });

  it("says insufficient data before any tested look", () => {
    const series = compareSeries([{ control: binary(10, 1), treatment: binary(10, 2), eligible: false }], "ttest", {
      alpha: 0.05,
    });
    const analysed: AnalysedMetric = {
      metric: metric("primary"),
      statistics: undefined as never,
      series: new Map([["treatment", series]]),
    };
    const corrected = correct([analysed], ["treatment"], 1, 0.05, "bonferroni");
    expect(decisionsOf(analysed, corrected, { method: "ttest", alpha: 0.05 })("treatment", 0)).toMatchObject({
      verdict: "insufficient_data",
      ci: null,
      pValue: 1,
    });
  });
});
