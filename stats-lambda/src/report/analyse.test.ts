import { describe, expect, it } from "vitest";
import type { Metric } from "../../../shared/authoring/schema.js";
import { SimulatedRows, uniforms } from "../../../test/support/simulated-rows.js";
import { analyseMetric, eligibleAt } from "./analyse.js";
import { correct } from "./correct.js";
import { Cumulative } from "./cumulative.js";
import { metricStatistics } from "./metric-statistics.js";
import { clickUnits, experimentWith, ratioRows } from "./test-rows.test-support.js";
import { decisionsOf } from "./verdicts.js";

const retention = { key: "d1", type: "retention", eventType: "open", role: "primary" as const };
/** SimulatedRows writes a binary metric's series whatever its type: the authoring schema may not list retention yet. */
const asMetric = (metric: typeof retention) => metric as unknown as Metric;
const ctr = { key: "ctr", type: "ratio", numerator: { eventType: "click" }, role: "primary" as const };

describe("analyse stage", () => {
  it("gates binary metrics (retention, funnels) on 25 converted units per arm, ratios only on 100 exposed", () => {
    const rows = new SimulatedRows();
    for (const variant of ["control", "treatment"])
      rows.expose(0, variant, 150).conversions(0, variant, asMetric(retention), 20);
    rows.conversions(1, "control", asMetric(retention), 10).conversions(1, "treatment", asMetric(retention), 10);
    rows.expose(1, "control", 0).expose(1, "treatment", 0);
    const data = new Cumulative([...rows.list(), ...ratioRows("ctr", 0, "control", [[1, 2]])]);
    const binary = metricStatistics(retention, data, ["control", "treatment"]);
    expect([0, 1].map((day) => eligibleAt(data, binary, "control", "treatment", day))).toEqual([false, true]);
    expect(eligibleAt(data, metricStatistics(ctr, data, ["control", "treatment"]), "control", "treatment", 0)).toBe(
      true,
    );
  });

  it("finds a 20% higher click-through rate by the delta method, and nothing between equal arms", () => {
    const uniform = uniforms(2112);
    const verdictFor = (treatmentRate: number) => {
      const rows = [0, 1, 2].flatMap((day) => [
        ...ratioRows("ctr", day, "control", clickUnits(uniform, 2000, 0.3)),
        ...ratioRows("ctr", day, "treatment", clickUnits(uniform, 2000, treatmentRate)),
        ...new SimulatedRows().expose(day, "control", 2000).expose(day, "treatment", 2000).list(),
      ]);
      const experiment = experimentWith([ctr]);
      const data = new Cumulative(rows);
      const analysed = analyseMetric(experiment, data, experiment.metrics[0]!);
      const corrected = correct([analysed], experiment.treatments, data.days.length, experiment.alpha, "bonferroni");
      const decision = decisionsOf(analysed, corrected, experiment)("treatment", 2);
      const control = analysed.statistics.stats("control", 2);
      return { decision, control };
    };
    const lift = verdictFor(0.36);
    expect(lift.control.n).toBe(6000);
    expect(lift.control.mean).toBeCloseTo(0.3, 1);
    expect(lift.decision.verdict).toBe("significant_positive");
    expect(lift.decision.lift).toBeGreaterThan(0.1);
    expect(lift.decision.relativeCi![0]).toBeGreaterThan(0);
    expect(verdictFor(0.3).decision.verdict).toBe("not_yet_significant");
  });
});
