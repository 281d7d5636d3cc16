import { describe, expect, it } from "vitest";
import { conclude } from "./conclusion.js";
import type { Report, Verdict } from "./types.js";

/** A two-arm report whose primary metric's treatment has `verdict`; `exposed` units each. */
function report({
  verdict,
  exposed = 5000,
  method = "sequential",
  planned = 20_000,
  unitsPerDay = 2500,
  srm = false,
  guardrailHarm = false,
  trustworthy = true,
}: {
  verdict: Verdict;
  exposed?: number;
  method?: "sequential" | "ttest";
  planned?: number | null;
  unitsPerDay?: number;
  srm?: boolean;
  guardrailHarm?: boolean;
  trustworthy?: boolean;
}): Report {
  const comparison = (v: Verdict) => ({
    difference: 0.02,
    lift: 0.17,
    ci: [0.01, 0.03] as [number, number],
    relativeCi: [0.08, 0.26] as [number, number],
    pValue: 0.001,
    verdict: v,
    trustworthy,
    warnings: trustworthy ? [] : (["effect_not_stable"] as const),
    level: 0.05,
  });
  const metric = (key: string, role: "primary" | "guardrail", v: Verdict) => ({
    key,
    name: key === "purchase" ? "Purchase completed" : key,
    role,
    type: "unique_conversions",
    eventType: key,
    direction: "increase" as const,
    comparisons: 1,
    registeredAt: "start",
    cap: null,
    variants: [
      { variant: "control", control: true, exposures: exposed, n: exposed, mean: 0.1 },
      { variant: "treatment", control: false, exposures: exposed, n: exposed, mean: 0.117, comparison: comparison(v) },
    ],
    timeSeries: [],
  });
  const size = (total: number) => ({ perVariant: [total / 2, total / 2], total, days: total / unitsPerDay });
  return {
    experiment: {
      key: "checkout",
      name: "Checkout",
      status: "running",
      method,
      confidenceLevel: 0.95,
      correction: "bonferroni",
      minimumDetectableEffect: 0.05,
    },
    analysisPeriod: { index: 1, startedAt: "2026-12-01T00:00:00Z", stoppedAt: null, settings: {} as never, periods: 1 },
    variants: [
      { key: "control", exposures: exposed, expectedShare: 0.5 },
      { key: "treatment", exposures: exposed, expectedShare: 0.5 },
    ],
    srm: { pValue: srm ? 0.0001 : 0.6, mismatch: srm, test: "sequential-dirichlet-multinomial", strata: [] },
    dataQuality: {
      multipleVariantUnits: 0,
      multipleVariantShare: 0,
      rejectedExposures: 0,
      droppedValues: {},
      eventsBeforeExposure: 0,
      eventsNeverExposed: 0,
    },
    freshness: { lastIngestedAt: null, secondsSinceIngest: null, queueLagSeconds: null },
    plan:
      planned === null
        ? null
        : {
            absoluteEffect: 0.005,
            fixedHorizon: size(planned * 0.6),
            sequential: size(planned),
            baseline: { mean: 0.1, variance: 0.09 },
            unitsPerDay,
          },
    metrics: [
      metric("purchase", "primary", verdict),
      ...(guardrailHarm ? [metric("latency", "guardrail", "harm_detected")] : []),
    ],
  } as Report;
}

describe("the results' conclusion", () => {
  it("ships a significantly better treatment, with its lift and interval, and no days left", () => {
    const c = conclude(report({ verdict: "significant_positive" }));
    expect(c).toMatchObject({ recommendation: "ship", headline: "Ship treatment", unitsLeft: 0, daysLeft: 0 });
    expect(c.detail).toContain("+17.0% (interval +8.0% to +26.0%)");
  });

  it("keeps running with the units and days left for the MDE when not yet significant", () => {
    // 10,000 of 20,000 planned units at 2,500 a day: 4 more days.
    const c = conclude(report({ verdict: "not_yet_significant" }));
    expect(c).toMatchObject({ recommendation: "keep-running", unitsLeft: 10_000, daysLeft: 4 });
    expect(c.detail).toContain("10,000 more units (about 4 more days) to detect a +5.0% change");
  });

  it("says no detectable effect once the planned sample is in", () => {
    expect(conclude(report({ verdict: "not_yet_significant", exposed: 10_000 })).recommendation).toBe("no-effect");
  });

  it("keeps the control when the treatment is significantly worse", () => {
    expect(conclude(report({ verdict: "significant_negative" })).recommendation).toBe("keep-control");
  });

  it("does not ship a winner that harms a guardrail", () => {
    const c = conclude(report({ verdict: "significant_positive", guardrailHarm: true }));
    expect(c.recommendation).toBe("keep-control");
    expect(c.headline).toBe("Do not ship treatment: it harms a guardrail");
  });

  it("waits for the planned sample size before reading a fixed-horizon test", () => {
    expect(conclude(report({ verdict: "significant_positive", method: "ttest" })).recommendation).toBe("keep-running");
    expect(conclude(report({ verdict: "significant_positive", method: "ttest", exposed: 6000 })).recommendation).toBe(
      "ship",
    );
  });

  it("refuses to conclude on a sample ratio mismatch or an unstable effect", () => {
    expect(conclude(report({ verdict: "significant_positive", srm: true })).recommendation).toBe("fix-data");
    expect(conclude(report({ verdict: "significant_positive", trustworthy: false })).recommendation).toBe(
      "keep-running",
    );
  });

  it("without an MDE, keeps running and says what is missing", () => {
    const c = conclude(report({ verdict: "not_yet_significant", planned: null }));
    expect(c.detail).toContain("Set a minimum detectable effect");
    expect(c.unitsLeft).toBeUndefined();
  });

  it("has nothing to conclude before any exposure", () => {
    expect(conclude(report({ verdict: "insufficient_data", exposed: 0 })).recommendation).toBe("no-data");
  });
});
