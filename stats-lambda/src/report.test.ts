/**
 * The report's rules on fixed daily data (no DynamoDB): each case here is one the old
 * report got wrong.
 */
import { describe, expect, it } from "vitest";
import type { Flag, Metric } from "../../shared/authoring/schema.js";
import { conversion, experimentOn, revenue, SimulatedRows } from "../../test/support/simulated-rows.js";
import { buildReport, reportCsv, type Report } from "./report.js";

const QUALITY = { rejectedExposures: 0, droppedValues: {} };
const report = (flag: Flag, rows: SimulatedRows) => buildReport(flag, rows.list(), QUALITY, Date.now());
const comparisonOf = (r: Report, metric: string, variant = "treatment") =>
  r.metrics.find((m) => m.key === metric)!.variants.find((v) => v.variant === variant)!.comparison!;
const excludes = (interval: [number, number] | null) =>
  !interval ? 0 : interval[0] > 0 ? 1 : interval[1] < 0 ? -1 : 0;
const signOf = (verdict: string) =>
  verdict === "significant_positive" ? 1 : verdict === "significant_negative" ? -1 : 0;

/** Every look of every comparison: verdict, interval and relative interval say the same. */
function expectAgreement(r: Report): void {
  for (const metric of r.metrics.filter((m) => m.role !== "guardrail")) {
    for (const look of metric.timeSeries) {
      for (const point of look.variants.filter((p) => p.verdict)) {
        expect(excludes(point.ci ?? null)).toBe(signOf(point.verdict!));
        if (point.relativeCi) expect(excludes(point.relativeCi)).toBe(signOf(point.verdict!));
      }
    }
  }
}

describe("verdicts agree with their intervals", () => {
  it("keeps day 1's decision, and its sign, when day 2's data reverse the estimate", () => {
    const rows = new SimulatedRows()
      .expose(0, "control", 1000)
      .conversions(0, "control", conversion, 100)
      .expose(0, "treatment", 1000)
      .conversions(0, "treatment", conversion, 200)
      .expose(1, "control", 10_000)
      .conversions(1, "control", conversion, 1000)
      .expose(1, "treatment", 10_000)
      .conversions(1, "treatment", conversion, 850);
    const r = report(experimentOn(conversion), rows);
    const c = comparisonOf(r, "conversion");
    // The old report: difference −0.0045, interval [−0.0167, 0.0076], p 0.00017, significant_negative.
    expect(c.difference).toBeLessThan(0);
    expect(c.verdict).toBe("significant_positive");
    expect(c.ci![0]).toBeGreaterThan(0);
    expect(c.pValue).toBeLessThan(0.05);
    // Day 2's estimate is outside the interval day 1's decision stands on: said, too.
    expect(c).toMatchObject({ trustworthy: false, warnings: ["effect_not_stable", "estimate_outside_interval"] });
    expectAgreement(r);
  });

  it("does not test an arm without variance, nor carry a p-value from before the minimum sample", () => {
    // 90/10: day 1 control 537/21, treatment 59/0 gave p 0.043 and a relative interval
    // [−1, −1], carried into a final significant_negative.
    const rows = new SimulatedRows()
      .expose(0, "control", 537)
      .conversions(0, "control", conversion, 21)
      .expose(0, "treatment", 59);
    for (let day = 1; day < 6; day++) {
      rows
        .expose(day, "control", 537)
        .conversions(day, "control", conversion, 21)
        .expose(day, "treatment", 59)
        .conversions(day, "treatment", conversion, 2);
    }
    const r = report(experimentOn(conversion, [90, 10]), rows);
    const first = r.metrics[0]!.timeSeries[0]!.variants[1]!;
    expect(first).toMatchObject({ verdict: "insufficient_data", pValue: 1, ci: null });
    expect(comparisonOf(r, "conversion").verdict).not.toBe("significant_negative");
    expectAgreement(r);
  });
});

describe("sample ratio", () => {
  const weighted = (rows: SimulatedRows, day: number, allocation: string, counts: Record<string, number>) => {
    for (const [variant, count] of Object.entries(counts)) rows.expose(day, variant, count, allocation);
    return rows;
  };

  it("expects what each unit was assigned under: a segment at 90/10 beside the flag's 50/50", () => {
    const rows = new SimulatedRows();
    for (let day = 0; day < 5; day++) {
      weighted(rows, day, "control=50,treatment=50", { control: 1000, treatment: 1000 });
      weighted(rows, day, "control=90,treatment=10", { control: 900, treatment: 100 });
    }
    const r = report(experimentOn(conversion), rows);
    expect(r.srm.mismatch).toBe(false); // the flag-level check saw 9,500 vs 5,500 at 50/50: p = 0
    expect(r.srm.strata).toHaveLength(2);
  });

  it("accepts a variant left at weight 0, and flags one that is served anyway", () => {
    const flag = experimentOn(conversion, [50, 50], {
      variants: [{ key: "control" }, { key: "treatment" }, { key: "paused" }],
      weights: { control: 50, treatment: 50, paused: 0 },
    });
    const rows = weighted(new SimulatedRows(), 0, "control=50,treatment=50,paused=0", {
      control: 5000,
      treatment: 5000,
    });
    expect(report(flag, rows).srm.mismatch).toBe(false);
    weighted(rows, 1, "control=50,treatment=50,paused=0", { paused: 3 });
    expect(report(flag, rows).srm.mismatch).toBe(true);
  });

  it("marks every verdict untrustworthy on a mismatch", () => {
    const rows = new SimulatedRows()
      .expose(0, "control", 6000)
      .conversions(0, "control", conversion, 600)
      .expose(0, "treatment", 4000)
      .conversions(0, "treatment", conversion, 600);
    const r = report(
      experimentOn({ ...conversion }, [50, 50], {
        secondaryMetrics: [{ key: "other", type: "unique_conversions", eventType: "x" }],
      }),
      rows,
    );
    expect(r.srm.mismatch).toBe(true);
    for (const metric of r.metrics)
      for (const v of metric.variants.filter((x) => x.comparison))
        expect(v.comparison).toMatchObject({ trustworthy: false, warnings: ["sample_ratio_mismatch"] });
  });
});

describe("corrections and guardrails", () => {
  const secondaries: Metric[] = ["a", "b", "c", "d"].map((key) => ({
    key,
    type: "unique_conversions",
    eventType: key,
  }));
  const guardrail: Metric = { key: "errors", type: "unique_conversions", eventType: "error", direction: "decrease" };
  const rows = () => {
    const r = new SimulatedRows().expose(0, "control", 5000).expose(0, "treatment", 5000);
    r.conversions(0, "control", conversion, 500).conversions(0, "treatment", conversion, 500);
    // Secondary effects of decreasing strength; errors up 20% in treatment.
    for (const [i, [c, t]] of [
      [500, 590],
      [500, 570],
      [500, 560],
      [500, 500],
    ].entries())
      r.conversions(0, "control", secondaries[i]!, c!).conversions(0, "treatment", secondaries[i]!, t!);
    return r.conversions(0, "control", guardrail, 500).conversions(0, "treatment", guardrail, 600);
  };
  // A stopped run: the t-test reads its verdicts at the run's end (read-rule.ts).
  const flag = (extra: Partial<Flag>): Flag => {
    const settings = experimentOn(conversion, [50, 50], {
      secondaryMetrics: secondaries,
      guardrailMetrics: [guardrail],
      statisticalMethod: "ttest",
      ...extra,
    });
    const period = { startedAt: "2026-01-01T00:00:00.000Z", stoppedAt: "2026-01-02T00:00:00.000Z", settings };
    return { ...settings, status: "stopped", analysisPeriods: [period] } as Flag;
  };

  it("tests guardrails one-sided for harm, outside the secondary metrics' family", () => {
    const r = report(flag({}), rows());
    const errors = r.metrics.find((m) => m.key === "errors")!;
    expect(errors.comparisons).toBe(1);
    expect(r.metrics.find((m) => m.key === "a")!.comparisons).toBe(4);
    expect(errors.variants[1]!.comparison).toMatchObject({ verdict: "harm_detected" });
    expect(errors.variants[1]!.comparison!.pValue).toBeLessThan(0.05);
  });

  it("rejects more with Holm and Benjamini–Hochberg than with Bonferroni, intervals agreeing", () => {
    const significant = (correction: Flag["multipleTestingCorrection"]) => {
      const r = report(flag({ multipleTestingCorrection: correction }), rows());
      expectAgreement(r);
      return r.metrics
        .filter((m) => m.role === "secondary")
        .filter((m) => m.variants[1]!.comparison!.verdict.startsWith("significant")).length;
    };
    const [bonferroni, holm, bh] = [significant("bonferroni"), significant("holm"), significant("benjamini-hochberg")];
    expect(bonferroni).toBeLessThanOrEqual(holm);
    expect(holm).toBeLessThanOrEqual(bh);
    expect(bh).toBeGreaterThan(bonferroni);
  });
});

describe("capping, periods and the plan", () => {
  it("caps revenue at the default percentile, and shows the cap", () => {
    const rows = new SimulatedRows();
    for (const variant of ["control", "treatment"]) {
      rows.expose(0, variant, 1000);
      for (let i = 0; i < 100; i++) rows.event(0, variant, revenue, 10 + i);
    }
    rows.event(0, "treatment", revenue, 1_000_000); // one whale
    const r = report(experimentOn(revenue), rows);
    const metric = r.metrics[0]!;
    expect(metric.cap).toMatchObject({ percentile: 0.975 }); // 100 buyers an arm: the default range's lowest
    const cap = (metric.cap as { upper: number }).upper;
    expect(cap).toBeGreaterThan(100);
    expect(cap).toBeLessThan(300);
    expect(metric.variants[1]!.mean).toBeLessThan(metric.variants[1]!.uncappedMean! / 10);
    const csv = reportCsv(r);
    expect(csv.split("\n")[0]).toContain("cap_upper,cap_lower");
    expect(csv).toContain(`,${cap},`);
  });

  it("reports a period with the settings it ran with, whatever they are now", () => {
    const rows = new SimulatedRows()
      .expose(0, "control", 5000)
      .conversions(0, "control", conversion, 500)
      .expose(0, "treatment", 5000)
      .conversions(0, "treatment", conversion, 560);
    const started = experimentOn(conversion, [50, 50], { statisticalMethod: "ttest" });
    const period = {
      startedAt: "2026-01-01T00:00:00.000Z",
      stoppedAt: "2026-01-09T00:00:00.000Z",
      settings: { ...started, statisticalMethod: "ttest" as const },
    };
    const edited: Flag = {
      ...started,
      status: "stopped",
      statisticalMethod: "sequential",
      confidenceLevel: 0.8,
      analysisPeriods: [period],
    };
    const r = report(edited, rows);
    expect(r.experiment).toMatchObject({ method: "ttest", confidenceLevel: 0.95 });
    expect(r.analysisPeriod).toMatchObject({ index: 1, startedAt: period.startedAt, stoppedAt: period.stoppedAt });
    expect(comparisonOf(r, "conversion").pValue).toBeCloseTo(
      comparisonOf(report(started, rows), "conversion").pValue,
      12,
    );
  });

  it("sizes the experiment from the control's data when a minimum detectable effect is set", () => {
    const rows = new SimulatedRows();
    for (let day = 0; day < 4; day++)
      rows
        .expose(day, "control", 2000)
        .conversions(day, "control", conversion, 200)
        .expose(day, "treatment", 2000)
        .conversions(day, "treatment", conversion, 205);
    const r = report(experimentOn(conversion, [50, 50], { minimumDetectableEffect: 0.05 }), rows);
    expect(r.plan).not.toBeNull();
    expect(r.plan!.unitsPerDay).toBe(4000);
    expect(Math.abs(r.plan!.fixedHorizon.perVariant[0]! / 57_756 - 1)).toBeLessThan(0.01);
    expect(r.plan!.sequential.days).toBe(Math.ceil(r.plan!.sequential.total / 4000));
    expect(report(experimentOn(conversion), rows).plan).toBeNull();
  });
});
