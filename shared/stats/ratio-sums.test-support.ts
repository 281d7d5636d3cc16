/** A ratio's exact sums over units (x, y), scaled as ingest and the metric engine scale them: tests' fixtures. */
import { VALUE_SCALE } from "../metric-values.js";
import type { RatioSums } from "./delta-method.js";

export function ratioSumsOf(units: ReadonlyArray<readonly number[]>): RatioSums {
  const sums = { n: units.length, sumX: 0n, sumXSquares: 0n, sumY: 0n, sumYSquares: 0n, sumXY: 0n };
  for (const [xValue, yValue] of units) {
    const x = BigInt(Math.round(xValue! * VALUE_SCALE));
    const y = BigInt(Math.round(yValue! * VALUE_SCALE));
    sums.sumX += x;
    sums.sumXSquares += x * x;
    sums.sumY += y;
    sums.sumYSquares += y * y;
    sums.sumXY += x * y;
  }
  return sums;
}
