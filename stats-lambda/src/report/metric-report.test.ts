import { describe, expect, it } from "vitest";
import { SimulatedRows } from "../../../test/support/simulated-rows.js";
import { analyseMetric } from "./analyse.js";
import { correct } from "./correct.js";
import { Cumulative } from "./cumulative.js";
import { eventTypeOf, metricReportOf } from "./metric-report.js";
import { experimentWith, ratioRows } from "./test-rows.test-support.js";
import { decisionsOf } from "./verdicts.js";

describe("metric section of the report", () => {
  it("lists a metric under its event type, a ratio's numerator's or a funnel's first step's", () => {
    expect(eventTypeOf({ key: "a", type: "unique_conversions", eventType: "buy" })).toBe("buy");
    expect(eventTypeOf({ key: "b", type: "ratio", numerator: { eventType: "click" } })).toBe("click");
    expect(eventTypeOf({ key: "c", type: "funnel", steps: [{ eventType: "view" }, { eventType: "buy" }] })).toBe(
      "view",
    );
  });

  it("reports a ratio per variant and look, with its registration", () => {
    const experiment = experimentWith([
      { key: "ctr", type: "ratio", numerator: { eventType: "click" }, role: "secondary" },
    ]);
    experiment.metrics[0]!.registeredAt = "2026-01-02T00:00:00.000Z";
    const units: Array<[number, number]> = Array.from({ length: 300 }, (_, i) => [i % 3, 1 + (i % 4)]);
    const rows = [
      ...new SimulatedRows().expose(0, "control", 300).expose(0, "treatment", 300).list(),
      ...ratioRows("ctr", 0, "control", units),
      ...ratioRows("ctr", 0, "treatment", units),
    ];
    const data = new Cumulative(rows);
    const analysed = analyseMetric(experiment, data, experiment.metrics[0]!);
    const corrected = correct([analysed], experiment.treatments, 1, experiment.alpha, experiment.correction);
    const section = metricReportOf(analysed, decisionsOf(analysed, corrected, experiment), data, experiment, false);
    expect(section).toMatchObject({
      key: "ctr",
      type: "ratio",
      eventType: "click",
      role: "secondary",
      comparisons: 1,
      registeredAt: "2026-01-02T00:00:00.000Z",
      cap: null,
    });
    const ratio = units.reduce((s, [x]) => s + x, 0) / units.reduce((s, [, y]) => s + y, 0);
    expect(section.variants[0]).toMatchObject({ variant: "control", control: true, exposures: 300, n: 300 });
    expect(section.variants[0]!.mean).toBeCloseTo(ratio, 12);
    expect(section.variants[1]!.comparison).toMatchObject({ difference: 0, verdict: "not_yet_significant" });
    expect(section.timeSeries).toHaveLength(1);
  });
});
