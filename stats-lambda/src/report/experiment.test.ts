import { describe, expect, it } from "vitest";
import type { AnalysisPeriod, Flag } from "../../../shared/authoring/schema.js";
import { conversion, experimentOn, revenue } from "../../../test/support/simulated-rows.js";
import { experimentOf, periodOf } from "./experiment.js";

describe("experiment stage", () => {
  const flag = experimentOn(conversion, [90, 10], {
    variants: [{ key: "control" }, { key: "a" }, { key: "b" }],
    weights: { control: 50, a: 25, b: 25 },
    secondaryMetrics: [revenue, { key: "x", type: "event_totals", eventType: "x" }],
    multipleTestingCorrection: "holm",
  });

  it("derives variants, level, correction and family sizes once", () => {
    const e = experimentOf(flag);
    expect(e).toMatchObject({
      index: 0,
      controlKey: "control",
      treatments: ["a", "b"],
      weights: [50, 25, 25],
      correction: "holm",
      method: "sequential",
      familySizes: { primary: 2, secondary: 4, guardrail: 1 }, // guardrails × treatments, at least 1
    });
    expect(e.alpha).toBeCloseTo(0.05, 12);
    expect(e.metrics.map((m) => `${m.role}:${m.key}`)).toEqual([
      "primary:conversion",
      "secondary:revenue",
      "secondary:x",
    ]);
  });

  it("reads the period's own settings, and leaves removed metrics out of their family", () => {
    const period = {
      startedAt: "2026-01-01T00:00:00.000Z",
      settings: { ...flag, statisticalMethod: "ttest" },
      metricChanges: [{ at: "2026-01-02T00:00:00.000Z", action: "removed", role: "secondary", metric: "x" }],
    } as AnalysisPeriod;
    const started: Flag = { ...flag, analysisPeriods: [period] };
    expect(periodOf(started)).toMatchObject({ index: 1, period });
    const e = experimentOf(started);
    expect(e.method).toBe("ttest");
    expect(e.metrics.map((m) => m.key)).toEqual(["conversion", "revenue"]);
    expect(e.familySizes.secondary).toBe(2);
  });
});
