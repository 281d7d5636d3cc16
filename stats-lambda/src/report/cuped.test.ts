/**
 * The CUPED and Bayesian stages through buildReport: where CUPED applies and where not,
 * what the report and its CSV show.
 */
import { describe, expect, it } from "vitest";
import type { Metric } from "../../../shared/authoring/schema.js";
import { VALUE_SCALE } from "../../../shared/metric-values.js";
import { histogramBucket } from "../../../shared/stats/index.js";
import { conversion, dayName, experimentOn, SimulatedRows } from "../../../test/support/simulated-rows.js";
import { BUCKET_SEPARATOR, EXPOSURES, type AggregateRow } from "../store.js";
import { covariateSeries } from "./cuped.js";
import { buildReport, reportCsv } from "./index.js";

const QUALITY = { rejectedExposures: 0, droppedValues: {} };
const revenue: Metric = { key: "revenue", type: "property_sum", eventType: "purchase", property: "amount" };
const uncapped: Metric = { ...revenue, capPercentile: 1 };

/** Rows of units (x before exposure, y after) exposed on day 0, as cuped.ts documents them. */
function rowsOf(metric: Metric, arms: Record<string, Array<[number, number]>>, withCovariate = true): AggregateRow[] {
  const rows = new Map<string, AggregateRow>();
  const add = (variant: string, name: string, n: number, sum: bigint, sumSquares: bigint) => {
    const row = rows.get(`${variant}|${name}`) ?? {
      day: dayName(0),
      variant,
      metric: name,
      n: 0,
      sum: 0n,
      sumSquares: 0n,
    };
    row.n += n;
    row.sum += sum;
    row.sumSquares += sumSquares;
    rows.set(`${variant}|${name}`, row);
  };
  const series = covariateSeries(metric.key);
  for (const [variant, units] of Object.entries(arms))
    for (const [x, y] of units) {
      const [X, Y] = [BigInt(Math.round(x * VALUE_SCALE)), BigInt(Math.round(y * VALUE_SCALE))];
      add(variant, EXPOSURES, 1, 0n, 0n);
      add(variant, metric.key, 0, Y, Y * Y);
      if (Y !== 0n) add(variant, `${metric.key}${BUCKET_SEPARATOR}${histogramBucket(Number(Y))}`, 1, Y, Y * Y);
      if (withCovariate) {
        add(variant, series.covariate, X !== 0n ? 1 : 0, X, X * X);
        add(variant, series.cross, 0, X * Y, 0n);
      }
    }
  return [...rows.values()];
}

/** 400 units per arm: y = x + noise, half of them without history (x = 0); treatment +2. */
function units(lift: number): Array<[number, number]> {
  return Array.from({ length: 400 }, (_, i) => {
    const x = i % 2 === 0 ? 0 : 10 + (i % 37);
    return [x, 5 + x + ((i * 7919) % 13) - 6 + lift];
  });
}

const report = (metric: Metric, rows: AggregateRow[]) => buildReport(experimentOn(metric), rows, QUALITY, Date.now());

describe("CUPED in the report", () => {
  it("adjusts a metric whose source sends its pre-exposure sums, and says so", () => {
    const arms = { control: units(0), treatment: units(2) };
    const adjusted = report(uncapped, rowsOf(uncapped, arms)).metrics[0]!;
    const plain = report(uncapped, rowsOf(uncapped, arms, false)).metrics[0]!;
    expect(plain.cuped).toBeUndefined();
    expect(adjusted.cuped).toMatchObject({ preExposureDays: 14, unitsWithHistory: 400 });
    expect(adjusted.cuped!.varianceReduction).toBeGreaterThan(0.8);
    expect(adjusted.cuped!.theta).toBeCloseTo(1, 1);
    const [a, p] = [adjusted.variants[1]!, plain.variants[1]!];
    // The same units, the same effect: the arms share their x, so the adjusted difference is the plain one.
    expect(a.comparison!.difference).toBeCloseTo(p.comparison!.difference!, 9);
    expect(a.unadjustedMean).toBeCloseTo(p.mean, 9);
    const width = (ci: [number, number] | null | undefined) => ci![1] - ci![0];
    expect(width(a.comparison!.ci)).toBeLessThan(width(p.comparison!.ci) / 2);
    expect(a.comparison!.pValue).toBeLessThan(p.comparison!.pValue);
  });

  it("leaves alone metrics capped at a quantile, whose capped x·y the sums do not hold", () => {
    const rows = rowsOf(revenue, { control: units(0), treatment: units(2) });
    expect(report(revenue, rows).metrics[0]!.cuped).toBeUndefined();
  });

  it("shows CUPED and the Bayesian readout in the CSV", () => {
    const csv = reportCsv(report(uncapped, rowsOf(uncapped, { control: units(0), treatment: units(2) }))).split("\n");
    const header = csv[0]!.split(",");
    const treatment = csv[2]!.split(",");
    for (const column of ["cuped_variance_reduction", "unadjusted_mean", "chance_to_beat_control", "expected_loss"])
      expect(Number(treatment[header.indexOf(column)])).toBeGreaterThan(0);
    expect(header.at(-1)).toBe("registered_at");
  });
});

describe("Bayesian readout in the report", () => {
  const rows = (control: number, treatment: number) =>
    new SimulatedRows()
      .expose(0, "control", 5000)
      .conversions(0, "control", conversion, control)
      .expose(0, "treatment", 5000)
      .conversions(0, "treatment", conversion, treatment)
      .list();

  it("gives chance to beat control, expected loss and a credible interval of the lift", () => {
    const variant = report(conversion, rows(500, 560)).metrics[0]!.variants[1]!;
    const { chanceToBeatControl, expectedLoss, credibleInterval, prior } = variant.bayesian!;
    // Flat prior: P(lift > 0) = Φ(lift / se) with the delta-method se of the lift.
    const [pc, pt] = [0.1, 0.112];
    const se = Math.sqrt(
      (pt * (1 - pt) * 5000) / 4999 / 5000 / pc ** 2 + (pt ** 2 * pc * (1 - pc) * 5000) / 4999 / 5000 / pc ** 4,
    );
    expect(prior).toBe("flat");
    expect(credibleInterval[0]).toBeCloseTo(0.12 - 1.959964 * se, 6);
    expect(credibleInterval[1]).toBeCloseTo(0.12 + 1.959964 * se, 6);
    expect(chanceToBeatControl).toBeGreaterThan(0.95);
    expect(chanceToBeatControl).toBeLessThan(0.99);
    expect(expectedLoss).toBeGreaterThan(0);
    expect(expectedLoss).toBeLessThan(0.002);
  });

  it("stays out where the test has not run yet (below the minimum sample)", () => {
    const small = new SimulatedRows()
      .expose(0, "control", 50)
      .conversions(0, "control", conversion, 10)
      .expose(0, "treatment", 50)
      .conversions(0, "treatment", conversion, 12)
      .list();
    expect(report(conversion, small).metrics[0]!.variants[1]!.bayesian).toBeUndefined();
  });
});
