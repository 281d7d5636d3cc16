/**
 * Issue 22 item 8 through buildReport: an A/A conversion experiment (10%, 1,000 units per
 * arm per day, 20 daily looks) under the t-test with a minimum detectable effect of 10%,
 * whose plan asks for ~29,000 units (look 15). Each arm's day is drawn as its sufficient
 * statistic (binomial conversions, by the normal approximation). Read daily, the t-test
 * rejected a true null 27.9% of the time (the issue); with no verdict before the planned
 * sample only the looks from the plan on can reject. 1,000 experiments, seed 8;
 * Monte-Carlo error ±0.7 points on a 5% rate. Read on after the plan, every look is another
 * test: the rule keeps the t-test's verdict to the plan, and the docs say to read it once.
 */
import { describe, expect, it } from "vitest";
import { conversion, experimentOn, normals, SimulatedRows, uniforms } from "../../../test/support/simulated-rows.js";
import { buildReport } from "./index.js";

const QUALITY = { rejectedExposures: 0, droppedValues: {} };
/** A few seconds on a quiet machine; minutes when seven test runs share two cores. */
const SLOW_MACHINE_MS = 300_000;
const PER_DAY = 1000;

function falsePositives(read: "early" | undefined, experiments: number, seed: number) {
  const z = normals(uniforms(seed));
  const flag = experimentOn(conversion, [50, 50], { statisticalMethod: "ttest", minimumDetectableEffect: 0.1 });
  let anyLook = 0;
  let firstPlannedLook = 0;
  for (let e = 0; e < experiments; e++) {
    const rows = new SimulatedRows();
    for (let day = 0; day < 20; day++)
      for (const variant of ["control", "treatment"])
        rows
          .expose(day, variant, PER_DAY)
          .conversions(day, variant, conversion, Math.round(PER_DAY * 0.1 + Math.sqrt(PER_DAY * 0.09) * z()));
    const report = buildReport(flag, rows.list(), QUALITY, Date.now(), undefined, undefined, read ? { read } : {});
    const verdicts = report.metrics[0]!.timeSeries.map((look) => look.variants[1]!.verdict);
    if (verdicts.some((v) => v?.startsWith("significant"))) anyLook++;
    const first = verdicts.findIndex((v) => v !== "insufficient_data");
    if (first >= 0 && verdicts[first]!.startsWith("significant")) firstPlannedLook++;
  }
  return { anyLook: anyLook / experiments, firstPlannedLook: firstPlannedLook / experiments };
}

describe("the t-test's read rule", () => {
  it(
    "gives no A/A verdict before the planned sample: false positives near α, not the daily read's",
    () => {
      // Measured: 5.0% at the planned look; 8.7% over it and the 5 looks after (read it once);
      // read early every day, 23.5% (the comparison's 300 experiments: ±2.4 points).
      const planned = falsePositives(undefined, 1000, 8);
      const daily = falsePositives("early", 300, 9);
      expect(planned.firstPlannedLook).toBeLessThanOrEqual(0.05 + 0.014);
      expect(planned.anyLook).toBeLessThan(daily.anyLook / 2);
    },
    SLOW_MACHINE_MS,
  );
});
