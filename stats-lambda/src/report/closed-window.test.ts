/** The closed-window view of a metric (closed-window.ts) through buildReport. */
import { describe, expect, it } from "vitest";
import type { Metric } from "../../../shared/authoring/schema.js";
import { dayName, experimentOn, SimulatedRows } from "../../../test/support/simulated-rows.js";
import type { AggregateRow } from "../store.js";
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

  it("without a window end, or without closed series, the running values as before", () => {
    const open = buildReport(experimentOn({ ...orders, window: { startHours: 0 } }), rows(), QUALITY, Date.now());
    expect(open.metrics[0]!.window).toBeUndefined();
    expect(open.metrics[0]!.variants[0]!.mean).toBeCloseTo(1.5, 12);
    const withoutClosed = rows().filter((r) => !r.metric.includes("closed"));
    const running = buildReport(experimentOn(orders), withoutClosed, QUALITY, Date.now());
    expect(running.metrics[0]!.window).toBeUndefined();
    expect(running.metrics[0]!.variants[0]!.n).toBe(2000);
  });
});
