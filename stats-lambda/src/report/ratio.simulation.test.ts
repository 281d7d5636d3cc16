/**
 * Ratio metrics through the report's stages: 1,000 A/A experiments per case, 50/50, a look
 * every day for 10 days, by the delta method and the sequential test; and the t-test read
 * once at the end, whose false-positive rate is α itself only if Var(R) is right. Seeded: every run
 * sees the same experiments. (Through the stages rather than buildReport: the authoring
 * schema does not list ratio metrics until the metric catalog lands.)
 */
import { describe, expect, it } from "vitest";
import { normals, SimulatedRows, uniforms } from "../../../test/support/simulated-rows.js";
import { analyseMetric } from "./analyse.js";
import { correct } from "./correct.js";
import { Cumulative } from "./cumulative.js";
import { clickUnits, experimentWith, ratioRows } from "./test-rows.test-support.js";
import { decisionsOf } from "./verdicts.js";

const ALPHA = 0.05;
const EXPERIMENTS = 1000;
const DAYS = 10;
const bound = ALPHA + 3 * Math.sqrt((ALPHA * (1 - ALPHA)) / EXPERIMENTS);

type Units = (count: number) => Array<[number, number]>;

/** Revenue per order: 0 to many orders a unit (geometric, mean 0.5), each lognormal (σ = 1.5). */
function orderUnits(seed: number): Units {
  const uniform = uniforms(seed);
  const normal = normals(uniform);
  return (count) =>
    Array.from({ length: count }, () => {
      let orders = 0;
      let revenue = 0;
      while (uniform() < 1 / 3) {
        orders++;
        revenue += Math.round(Math.exp(3 + 1.5 * normal()) * 100) / 100;
      }
      return [revenue, orders];
    });
}

function simulate(units: Units, unitsPerDay: number) {
  const experiment = experimentWith([{ key: "r", type: "ratio", role: "primary" }]);
  const fixedHorizon = experimentWith(experiment.metrics, { statisticalMethod: "ttest" });
  let positives = 0;
  let fixedPositives = 0;
  let disagreements = 0;
  for (let e = 0; e < EXPERIMENTS; e++) {
    const rows = Array.from({ length: DAYS }, (_, day) => [
      ...new SimulatedRows().expose(day, "control", unitsPerDay).expose(day, "treatment", unitsPerDay).list(),
      ...ratioRows("r", day, "control", units(unitsPerDay)),
      ...ratioRows("r", day, "treatment", units(unitsPerDay)),
    ]).flat();
    const data = new Cumulative(rows);
    const analysed = analyseMetric(experiment, data, experiment.metrics[0]!);
    const decide = decisionsOf(analysed, correct([analysed], ["treatment"], DAYS, ALPHA, "bonferroni"), experiment);
    let significant = false;
    for (let day = 0; day < DAYS; day++) {
      const { verdict, ci, pValue, level } = decide("treatment", day);
      const excludes = !!ci && (ci[0] > 0 || ci[1] < 0);
      if (excludes !== verdict.startsWith("significant") || (excludes && pValue > level)) disagreements++;
      significant ||= excludes;
    }
    if (significant) positives++;
    // The t-test read once at the end: its rate should be α itself if Var(R) is right.
    const once = analyseMetric(fixedHorizon, data, fixedHorizon.metrics[0]!);
    const last = decisionsOf(once, correct([once], ["treatment"], DAYS, ALPHA, "bonferroni"), fixedHorizon);
    if (last("treatment", DAYS - 1).verdict.startsWith("significant")) fixedPositives++;
  }
  return { positives, disagreements, fixedPositives };
}

describe("A/A simulations of ratio metrics: 1,000 experiments each, a look every day for 10 days", () => {
  it.each<[string, Units, number]>([
    [
      "clicks per session",
      (() => {
        const uniform = uniforms(1201);
        return (count: number) => clickUnits(uniform, count, 0.3);
      })(),
      200,
    ],
    ["revenue per order (lognormal σ = 1.5)", orderUnits(1202), 300],
  ])(
    "%s: false positives at most α (the t-test's at α), verdicts agreeing with their intervals",
    (name, units, unitsPerDay) => {
      const { positives, disagreements, fixedPositives } = simulate(units, unitsPerDay);
      console.log(
        `A/A ratio ${name}: sequential ${positives / 10}% significant at any look, ` +
          `${disagreements} disagreeing of ${EXPERIMENTS * DAYS} looks; t-test once at the end ${fixedPositives / 10}%`,
      );
      expect(positives / EXPERIMENTS).toBeLessThanOrEqual(bound);
      expect(Math.abs(fixedPositives / EXPERIMENTS - ALPHA)).toBeLessThanOrEqual(bound - ALPHA);
      expect(disagreements).toBe(0);
    },
  );
});
