/**
 * Rows from summary statistics: each look's cumulative (n, mean, sd) per variant of an
 * `event_totals` metric (no histogram, no conversion gate), turned into the daily deltas a
 * source sends. Lets report tests state a scenario as its sufficient statistics, which is
 * exact for every test the report runs (they read nothing else).
 */
import type { Metric } from "../../../shared/authoring/schema.js";
import { VALUE_SCALE } from "../../../shared/metric-values.js";
import { dayName } from "../../../test/support/simulated-rows.js";
import { EXPOSURES, type AggregateRow } from "../store.js";

export const totals: Metric = { key: "spend", type: "event_totals", eventType: "purchase" };

export interface Moments {
  n: number;
  mean: number;
  /** The sample standard deviation (m2 / (n − 1)). */
  sd: number;
}

const scaled = ({ n, mean, sd }: Moments) => {
  const sum = mean * n * VALUE_SCALE;
  const sumSquares = (sd * sd * (n - 1) + n * mean * mean) * VALUE_SCALE * VALUE_SCALE;
  return { n, sum: BigInt(Math.round(sum)), sumSquares: BigInt(Math.round(sumSquares)) };
};

/** Daily rows whose cumulative statistics at look d are `looks[d][variant]`. */
export function rowsFromMoments(
  looks: ReadonlyArray<Record<string, Moments>>,
  metric: string = totals.key,
): AggregateRow[] {
  const rows: AggregateRow[] = [];
  const previous = new Map<string, { n: number; sum: bigint; sumSquares: bigint }>();
  looks.forEach((look, day) => {
    for (const [variant, moments] of Object.entries(look)) {
      const now = scaled(moments);
      const before = previous.get(variant) ?? { n: 0, sum: 0n, sumSquares: 0n };
      previous.set(variant, now);
      const n = now.n - before.n;
      rows.push({ day: dayName(day), variant, metric: EXPOSURES, n, sum: 0n, sumSquares: 0n });
      rows.push({
        day: dayName(day),
        variant,
        metric,
        n: 0,
        sum: now.sum - before.sum,
        sumSquares: now.sumSquares - before.sumSquares,
      });
    }
  });
  return rows;
}
