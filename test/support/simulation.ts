/**
 * Experiments simulated through buildReport, the function every report goes through: a
 * look every day, units arriving at random into the arms, on a conversion metric or on
 * zero-inflated lognormal revenue. Seeded: every run sees the same experiments.
 */
import type { Flag, Metric } from "../../shared/authoring/schema.js";
import { buildReport, type Report } from "../../stats-lambda/src/report.js";
import { experimentOn, normals, SimulatedRows, uniforms } from "./simulated-rows.js";

const QUALITY = { rejectedExposures: 0, droppedValues: {} };
export const ALPHA = 0.05;

export interface Scenario {
  metric: Metric;
  weights: [number, number];
  experiments: number;
  days?: number;
  unitsPerDay: number;
  /** Relative effect on the treatment (0 for A/A). */
  effect?: number;
  seed: number;
  flag?: Partial<Flag>;
  /** The lognormal's σ (revenue): 2 by default, a heavy tail. */
  sigma?: number;
  /** Conversions only: draw each day's counts (normal approximations of the binomials) instead of unit by unit. */
  aggregate?: boolean;
}

export interface Outcome {
  positives: number;
  /** Looks where verdict, p-value, interval and relative interval do not all agree. */
  disagreements: number;
  looks: number;
  /** Per experiment, the units in all at the first significant look (undefined if never). */
  unitsAtDetection: Array<number | undefined>;
}

const excludes = (interval: [number, number] | null | undefined) =>
  !interval ? 0 : interval[0] > 0 ? 1 : interval[1] < 0 ? -1 : 0;

/** Whether a look's verdict, p-value and intervals say the same thing. */
function agrees(point: Report["metrics"][number]["timeSeries"][number]["variants"][number], level: number): boolean {
  const sign = point.verdict === "significant_positive" ? 1 : point.verdict === "significant_negative" ? -1 : 0;
  if (excludes(point.ci) !== sign) return false;
  if (point.relativeCi && excludes(point.relativeCi) !== sign) return false;
  return point.pValue! <= level === (sign !== 0) || point.verdict === "insufficient_data";
}

export function simulate(scenario: Scenario): Outcome {
  const { metric, weights, experiments, days = 20, unitsPerDay, effect = 0, seed } = scenario;
  const uniform = uniforms(seed);
  const normal = normals(uniform);
  const flag = experimentOn(metric, weights, scenario.flag);
  const controlShare = weights[0] / (weights[0] + weights[1]);
  const outcome: Outcome = { positives: 0, disagreements: 0, looks: 0, unitsAtDetection: [] };
  for (let e = 0; e < experiments; e++) {
    const rows = new SimulatedRows();
    for (let day = 0; day < days; day++) {
      if (scenario.aggregate) {
        const binomial = (n: number, p: number) =>
          Math.max(0, Math.min(n, Math.round(n * p + Math.sqrt(n * p * (1 - p)) * normal())));
        const control = binomial(unitsPerDay, controlShare);
        for (const [variant, units, rate] of [
          ["control", control, 0.1],
          ["treatment", unitsPerDay - control, 0.1 * (1 + effect)],
        ] as const) {
          rows.expose(day, variant, units).conversions(day, variant, metric, binomial(units, rate));
        }
        continue;
      }
      for (let u = 0; u < unitsPerDay; u++) {
        const variant = uniform() < controlShare ? "control" : "treatment";
        const lift = variant === "treatment" ? 1 + effect : 1;
        rows.expose(day, variant);
        if (metric.type === "unique_conversions") {
          if (uniform() < 0.1 * lift) rows.conversions(day, variant, metric, 1);
        } else if (uniform() < 0.1) {
          rows.event(
            day,
            variant,
            metric,
            Math.round(Math.exp(3 + (scenario.sigma ?? 2) * normal()) * lift * 100) / 100,
          );
        }
      }
    }
    const report = buildReport(flag, rows.list(), QUALITY, Date.now());
    const series = report.metrics[0]!.timeSeries;
    let detected: number | undefined;
    series.forEach((look, day) => {
      const point = look.variants[1]!;
      outcome.looks++;
      if (!agrees(point, ALPHA)) outcome.disagreements++;
      if (
        detected === undefined &&
        (point.verdict === "significant_positive" || point.verdict === "significant_negative")
      )
        detected = (day + 1) * unitsPerDay;
    });
    if (detected !== undefined) outcome.positives++;
    outcome.unitsAtDetection.push(detected);
  }
  return outcome;
}
