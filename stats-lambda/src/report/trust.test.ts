/**
 * Issue 22 items 4, 5, 7 and 8 through buildReport, the function every report goes
 * through: what a comparison may say beside its verdict, and when a t-test may give one.
 */
import { describe, expect, it } from "vitest";
import type { Flag } from "../../../shared/authoring/schema.js";
import { reportSchema } from "../../../shared/report-schema.js";
import { warningSentences } from "../../../shared/report-warnings.js";
import { excludesZero } from "../../../shared/stats/index.js";
import { conversion, experimentOn, SimulatedRows } from "../../../test/support/simulated-rows.js";
import { MULTIPLE_VARIANTS, type AggregateRow } from "../store.js";
import { buildReport, type ReportOptions } from "./index.js";
import { rowsFromMoments, totals } from "./moment-rows.test-support.js";

const QUALITY = { rejectedExposures: 0, droppedValues: {} };
const report = (flag: Flag, rows: AggregateRow[], options?: ReportOptions) => {
  const built = buildReport(flag, rows, QUALITY, Date.now(), undefined, undefined, options);
  const json = JSON.parse(JSON.stringify(built));
  expect(reportSchema.parse(json)).toEqual(json);
  return built;
};
const treatmentOf = (r: ReturnType<typeof report>) => r.metrics[0]!.variants[1]!.comparison!;

/** The case: revenue at 10/90, a control whose variance jumps at look 2. */
const jumpingControl = rowsFromMoments([
  { control: { n: 500, mean: 10, sd: 30 }, treatment: { n: 4500, mean: 12, sd: 30 } },
  { control: { n: 1000, mean: 15, sd: 130 }, treatment: { n: 9000, mean: 31, sd: 30 } },
]);

describe("what a comparison says beside its verdict", () => {
  it("never shows a relative interval on the other side of 0 from the verdict, at any look", () => {
    const r = report(experimentOn(totals, [10, 90]), jumpingControl);
    const comparison = treatmentOf(r);
    expect(comparison.verdict).toBe("significant_positive");
    expect(comparison.ci![0]).toBeGreaterThan(0);
    // Was [−0.238, 1.558] beside significant_positive.
    expect(comparison.relativeCi).toBeNull();
    for (const look of r.metrics[0]!.timeSeries) {
      const t = look.variants[1]!;
      if (t.relativeCi) expect(excludesZero(t.relativeCi)).toBe(excludesZero(t.ci));
    }
  });

  it("warns and withholds trust when the estimate lies outside the interval the verdict stands on", () => {
    const comparison = treatmentOf(report(experimentOn(totals, [10, 90]), jumpingControl));
    expect(comparison.difference).toBe(16);
    expect(comparison.difference!).toBeGreaterThan(comparison.ci![1]);
    expect(comparison.warnings).toEqual(["estimate_outside_interval"]);
    expect(comparison.trustworthy).toBe(false);
    expect(warningSentences(comparison.warnings)[0]).toMatch(/outside the interval the verdict stands on/);
  });

  /** 20,000 units per arm, 10% against 13%, `share` of them also seen in the other variant. */
  function seenTwice(share: number) {
    const rows = new SimulatedRows();
    for (const variant of ["control", "treatment"]) {
      rows.expose(0, variant, 20_000).conversions(0, variant, conversion, variant === "control" ? 2000 : 2600);
    }
    const list = rows.list();
    for (const variant of ["control", "treatment"])
      list.push({ day: list[0]!.day, variant, metric: MULTIPLE_VARIANTS, n: share * 20_000, sum: 0n, sumSquares: 0n });
    return report(experimentOn(conversion), list);
  }

  it("warns above 1% of units seen in two variants and withholds trust above 5%", () => {
    expect(treatmentOf(seenTwice(0.005))).toMatchObject({ warnings: [], trustworthy: true });
    const some = seenTwice(0.03);
    expect(some.dataQuality.multipleVariantShare).toBeCloseTo(0.03, 12);
    expect(treatmentOf(some)).toMatchObject({
      verdict: "significant_positive",
      warnings: ["multiple_variant_units"],
      trustworthy: true,
    });
    // The case: 30% of units exposed to both (a targeting change) was trustworthy, silently.
    expect(treatmentOf(seenTwice(0.3))).toMatchObject({
      warnings: ["many_multiple_variant_units"],
      trustworthy: false,
    });
  });
});

describe("when a t-test gives a verdict", () => {
  /** 2,000 units per arm per day for `days` days, 10% against 13% converting. */
  function daily(days: number) {
    const rows = new SimulatedRows();
    for (let day = 0; day < days; day++)
      for (const variant of ["control", "treatment"])
        rows.expose(day, variant, 2000).conversions(day, variant, conversion, variant === "control" ? 200 : 260);
    return rows.list();
  }
  const ttest = (extra: Partial<Flag> = {}) =>
    experimentOn(conversion, [50, 50], { statisticalMethod: "ttest", minimumDetectableEffect: 0.1, ...extra });

  it("shows estimate and interval but no verdict before the planned sample, and says why", () => {
    const r = report(ttest(), daily(10));
    const planned = r.plan!.fixedHorizon.total;
    expect(planned).toBeGreaterThan(4000 * 5);
    expect(planned).toBeLessThan(4000 * 10);
    for (const look of r.metrics[0]!.timeSeries) {
      const t = look.variants[1]!;
      const units = look.variants.reduce((sum, v) => sum + v.exposures, 0);
      expect(t.ci).not.toBeNull();
      expect(t.verdict).toBe(units >= planned ? "significant_positive" : "insufficient_data");
    }
    const early = report(ttest(), daily(4));
    expect(treatmentOf(early)).toMatchObject({
      verdict: "insufficient_data",
      warnings: ["before_planned_sample"],
      trustworthy: true,
    });
    expect(treatmentOf(early).ci![0]).toBeGreaterThan(0);
    expect(treatmentOf(report(ttest(), daily(10)))).toMatchObject({ verdict: "significant_positive", warnings: [] });
  });

  it("gives an early read when asked, marked as such and untrustworthy", () => {
    expect(treatmentOf(report(ttest(), daily(4), { read: "early" }))).toMatchObject({
      verdict: "significant_positive",
      warnings: ["early_read"],
      trustworthy: false,
    });
  });

  it("reads a t-test without a plan at the end of its run, and the sequential test at every look", () => {
    const withoutPlan = ttest({ minimumDetectableEffect: undefined });
    expect(treatmentOf(report(withoutPlan, daily(4))).verdict).toBe("insufficient_data");
    const period = { startedAt: "2026-01-01T00:00:00.000Z", stoppedAt: "2026-01-05T00:00:00.000Z", settings: {} };
    const stopped = { ...withoutPlan, analysisPeriods: [{ ...period, settings: withoutPlan }] } as Flag;
    expect(treatmentOf(report(stopped, daily(4)))).toMatchObject({ verdict: "significant_positive", warnings: [] });
    const sequential = experimentOn(conversion, [50, 50], { minimumDetectableEffect: 0.1 });
    expect(treatmentOf(report(sequential, daily(4)))).toMatchObject({ verdict: "significant_positive", warnings: [] });
  });
});
