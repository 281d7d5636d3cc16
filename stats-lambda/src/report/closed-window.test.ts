/** The closed-window view of a metric (closed-window.ts) through buildReport. */
import { describe, expect, it } from "vitest";
import type { Metric } from "../../../shared/authoring/schema.js";
import { closingHoursOf } from "../../../shared/metrics/definition.js";
import { dayName, experimentOn, SimulatedRows } from "../../../test/support/simulated-rows.js";
import type { AggregateRow } from "../store.js";
import { DEFAULT_WINDOW_HOURS, defaultWindowEndOf, windowEndOf, withDefaultWindow } from "./closed-window.js";
import { buildReport } from "./index.js";

const QUALITY = { rejectedExposures: 0, droppedValues: {} };
const orders: Metric = { key: "orders", type: "event_totals", eventType: "order", window: { endHours: 168 } };
const row = (day: number, variant: string, metric: string, n: number, sum: number, squares: number): AggregateRow => ({
  day: dayName(day),
  variant,
  metric,
  n,
  sum: BigInt(sum) * 10_000n,
  sumSquares: BigInt(squares) * 100_000_000n,
});

function rows(): AggregateRow[] {
  const simulated = new SimulatedRows();
  simulated.expose(0, "control", 1000).expose(0, "treatment", 1000);
  simulated.expose(7, "control", 1000).expose(7, "treatment", 1000);
  return [
    ...simulated.list(),
    // Running values: every exposed unit so far.
    row(7, "control", "orders", 0, 3000, 9000),
    row(7, "treatment", "orders", 0, 3600, 12000),
    // Day 0's cohort closed on day 7: 1,000 units an arm with their 7-day values.
    row(7, "control", "$closed:168", 1000, 0, 0),
    row(7, "treatment", "$closed:168", 1000, 0, 0),
    row(7, "control", "orders:closed", 0, 2000, 6000),
    row(7, "treatment", "orders:closed", 0, 2400, 8000),
  ];
}

describe("closed windows in the report", () => {
  it("a metric with a window end is tested on the units whose window closed, and says so", () => {
    const report = buildReport(experimentOn(orders), rows(), QUALITY, Date.now());
    const section = report.metrics[0]!;
    expect(section.window).toEqual({ endHours: 168, closedUnits: 2000 });
    const [control, treatment] = section.variants;
    expect(control!.exposures).toBe(2000); // every exposed unit is shown…
    expect(control!.n).toBe(1000); // …the closed ones tested
    expect(control!.mean).toBeCloseTo(2, 12);
    expect(treatment!.comparison!.difference).toBeCloseTo(0.4, 12);
  });

  it("without a window end, the running values as before (a source that does not close windows)", () => {
    const open = buildReport(experimentOn({ ...orders, window: { startHours: 0 } }), rows(), QUALITY, Date.now());
    expect(open.metrics[0]!.window).toBeUndefined();
    expect(open.metrics[0]!.variants[0]!.mean).toBeCloseTo(1.5, 12);
    expect(open.metrics[0]!.variants[1]!.comparison!.verdict).not.toBe("insufficient_data");
  });

  it("before any window closed: the running values, described, with no verdict", () => {
    const withoutClosed = rows().filter((r) => !r.metric.includes("closed"));
    const running = buildReport(experimentOn(orders), withoutClosed, QUALITY, Date.now());
    const section = running.metrics[0]!;
    expect(section.window).toEqual({ endHours: 168, closedUnits: 0 });
    expect(section.variants[0]!.n).toBe(2000); // the running values, shown
    expect(section.variants[0]!.mean).toBeCloseTo(1.5, 12);
    const comparison = section.variants[1]!.comparison!;
    expect(comparison.difference).toBeCloseTo(0.3, 12);
    expect(comparison.verdict).toBe("insufficient_data"); // was tested on the running values
    expect(comparison.warnings).toEqual(["window_not_closed"]);
    expect(comparison.trustworthy).toBe(true);
    expect(section.timeSeries.every((look) => look.variants[1]!.verdict === "insufficient_data")).toBe(true);
  });
});

describe("CUPED in the closed view", () => {
  it("adjusts a windowed metric by its closed units' pre-exposure values (K:closed:pre)", () => {
    const covariates = [
      row(7, "control", "orders:closed:pre", 1000, 1000, 3000),
      row(7, "treatment", "orders:closed:pre", 1000, 1000, 3000),
      row(7, "control", "orders:closed:pre:cross", 0, 3000, 0),
      row(7, "treatment", "orders:closed:pre:cross", 0, 3400, 0),
    ];
    const report = buildReport(experimentOn(orders), [...rows(), ...covariates], QUALITY, Date.now());
    const section = report.metrics[0]!;
    expect(section.window).toEqual({ endHours: 168, closedUnits: 2000 });
    // Var y 2 (control), Var x 2, Cov 1: ρ² = 0.25 in control; pooled θ over both arms.
    expect(section.cuped?.unitsWithHistory).toBe(2000);
    expect(section.cuped!.varianceReduction).toBeGreaterThan(0.2);
    expect(section.variants[0]!.unadjustedMean).toBeCloseTo(2, 12); // the closed units' window mean
    expect(section.variants[1]!.comparison!.difference).toBeCloseTo(0.4, 12); // x̄ equal in both arms
    // Without the closed covariate (only the running one), no CUPED: the closed view reads its own.
    const running = covariates.map((r) => ({ ...r, metric: r.metric.replace(":closed", "") }));
    const unadjusted = buildReport(experimentOn(orders), [...rows(), ...running], QUALITY, Date.now());
    expect(unadjusted.metrics[0]!.cuped).toBeUndefined();
  });
});

describe("the default window", () => {
  const plain: Metric = { key: "orders", type: "event_totals", eventType: "order" };

  it("is a week, a retention's day when later, a funnel's first step's; a metric's own end wins", () => {
    expect(windowEndOf(plain)).toBeUndefined(); // a source that does not close windows
    expect(windowEndOf(plain, { defaultHours: DEFAULT_WINDOW_HOURS })).toBe(DEFAULT_WINDOW_HOURS);
    expect(windowEndOf(plain, { defaultHours: 72 })).toBe(72);
    expect(DEFAULT_WINDOW_HOURS).toBe(168);
    expect(windowEndOf({ ...plain, window: { endHours: 24 } }, { defaultHours: 168 })).toBe(24);
    expect(defaultWindowEndOf({ type: "retention", day: 14 })).toBe(15 * 24);
    expect(defaultWindowEndOf({ type: "retention", day: 1 })).toBe(168);
    // A funnel's first step within the week; its units enter once its conversion window has passed too.
    expect(defaultWindowEndOf({ type: "funnel" })).toBe(168);
    expect(closingHoursOf({ type: "funnel", window: { endHours: 168 } })).toBe(336);
    expect(closingHoursOf({ type: "funnel", window: { endHours: 24 }, conversionWindowHours: 2 })).toBe(26);
    expect(closingHoursOf({ type: "event_totals", window: { endHours: 24 } })).toBe(24);
    expect(closingHoursOf({ type: "funnel", window: {} })).toBeUndefined();
    expect(withDefaultWindow(plain).window).toEqual({ startHours: 0, endHours: 168 });
    expect(withDefaultWindow({ ...plain, window: { startHours: 24 } }).window).toEqual({
      startHours: 24,
      endHours: 168,
    });
    expect(withDefaultWindow({ ...plain, window: { startHours: 200 } }).window).toEqual({ startHours: 200 });
    expect(withDefaultWindow({ ...plain, window: { endHours: 24 } }).window).toEqual({ endHours: 24 });
  });

  it("a source that closes windows tests a metric without its own on its default window's closed units", () => {
    const flag = experimentOn(plain);
    const report = buildReport(flag, rows(), QUALITY, Date.now(), undefined, undefined, {
      defaultWindows: true,
    });
    expect(report.metrics[0]!.window).toEqual({ endHours: 168, closedUnits: 2000 });
    expect(report.metrics[0]!.variants[1]!.comparison!.difference).toBeCloseTo(0.4, 12);
    const pending = buildReport(
      flag,
      rows().filter((r) => !r.metric.includes("closed")),
      QUALITY,
      Date.now(),
      undefined,
      undefined,
      { defaultWindows: true },
    );
    expect(pending.metrics[0]!.variants[1]!.comparison!.warnings).toEqual(["window_not_closed"]);
    // Without it (ingest's source), as before: the running values, tested.
    const ingest = buildReport(flag, rows(), QUALITY, Date.now());
    expect(ingest.metrics[0]!.window).toBeUndefined();
  });

  it('is the experiment\'s own: `defaultMetricWindow` where the source closes windows, none when absent or "none"', () => {
    const closes = { closesWindows: true };
    const weekly = { ...experimentOn(plain), defaultMetricWindow: { endHours: 168 } };
    const windowed = buildReport(weekly, rows(), QUALITY, Date.now(), undefined, undefined, closes);
    expect(windowed.metrics[0]!.window).toEqual({ endHours: 168, closedUnits: 2000 });
    expect(windowed.analysisPeriod.settings.defaultMetricWindow).toEqual({ endHours: 168 });
    for (const flag of [experimentOn(plain), { ...experimentOn(plain), defaultMetricWindow: "none" as const }]) {
      const open = buildReport(flag, rows(), QUALITY, Date.now(), undefined, undefined, closes);
      expect(open.metrics[0]!.window).toBeUndefined();
    }
    // A window the source did not close (ingest's source) is not one.
    expect(buildReport(weekly, rows(), QUALITY, Date.now()).metrics[0]!.window).toBeUndefined();
  });
});
