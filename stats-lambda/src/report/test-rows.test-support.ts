/**
 * Rows for the stage tests: ratio metrics as the metric engine sends them (per unit on its
 * exposure day: `K` n = 1, x, x²; `K:den` y, y²; `K:cross` x·y), beside the shared
 * SimulatedRows for the other series.
 */
import type { Flag } from "../../../shared/authoring/schema.js";
import { VALUE_SCALE } from "../../../shared/metric-values.js";
import { conversion, dayName, experimentOn } from "../../../test/support/simulated-rows.js";
import type { AggregateRow } from "../store.js";
import { experimentOf } from "./experiment.js";
import { ratioSeries } from "./metric-statistics.js";
import type { MetricDefinitionLike, Role } from "./registration.js";

export function ratioRows(key: string, day: number, variant: string, units: ReadonlyArray<[x: number, y: number]>) {
  const series = ratioSeries(key);
  const row = (metric: string, n: number): AggregateRow => ({
    day: dayName(day),
    variant,
    metric,
    n,
    sum: 0n,
    sumSquares: 0n,
  });
  const [numerator, denominator, cross] = [
    row(series.numerator, units.length),
    row(series.denominator, 0),
    row(series.cross, 0),
  ];
  for (const [xValue, yValue] of units) {
    const x = BigInt(Math.round(xValue * VALUE_SCALE));
    const y = BigInt(Math.round(yValue * VALUE_SCALE));
    numerator.sum += x;
    numerator.sumSquares += x * x;
    denominator.sum += y;
    denominator.sumSquares += y * y;
    cross.sum += x * y;
  }
  return [numerator, denominator, cross];
}

/**
 * An experiment on metrics the authoring schema may not accept yet (ratio, funnel,
 * retention): the stages take the metrics as data, so tests hand them over directly.
 */
export function experimentWith(
  metrics: ReadonlyArray<MetricDefinitionLike & { role: Role }>,
  extra: Partial<Flag> = {},
) {
  const experiment = experimentOf(experimentOn(conversion, [50, 50], extra));
  const secondary = metrics.filter((m) => m.role === "secondary").length;
  return {
    ...experiment,
    metrics: metrics.map((m) => ({ ...m, registeredAt: "start" })),
    familySizes: { ...experiment.familySizes, secondary: Math.max(1, secondary * experiment.treatments.length) },
  };
}

/** Units (x, y) of a ratio: y sessions (1 + a geometric count), x of them clicked with probability p. */
export function clickUnits(uniform: () => number, count: number, p: number): Array<[number, number]> {
  return Array.from({ length: count }, () => {
    let sessions = 1;
    while (uniform() < 0.6) sessions++;
    let clicks = 0;
    for (let i = 0; i < sessions; i++) if (uniform() < p) clicks++;
    return [clicks, sessions];
  });
}
