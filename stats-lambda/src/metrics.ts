/**
 * How one event changes a unit's value of a metric, and the changes that makes to the
 * variant's sufficient statistics (n, Σx, Σx²) and, for the capped types (totals, sums,
 * averages), to its histogram (shared/stats/winsorize.ts). Pure: ingest applies the result to DynamoDB, the
 * benchmark to memory.
 *
 * Values per unit: unique conversions 1 once the event happened (0 until then), event
 * totals the count, property sums the sum of a numeric property, property averages the
 * mean of it. Units exposed but without events count as 0 for the first three (so n is
 * the exposure count); averages are over units with at least one event (n counted here).
 * A configured `capValue` caps the value as it is computed. Only these four types, without
 * filters or window, are computed here (the event-store engine computes the others).
 *
 * Every value is an exact integer scaled by VALUE_SCALE (shared/metric-values.ts), and
 * deltas are BigInts: sums are exact however many units add up.
 */
import type { LegacyMetric as Metric } from "../../shared/authoring/schema.js";
import { scaledMetricValue, USER_VALUE_LIMIT, VALUE_SCALE } from "../../shared/metric-values.js";
import { histogramBucket } from "../../shared/stats/index.js";
import { BUCKET_SEPARATOR } from "./store.js";

/** A unit's state for one metric: its value, how many events counted, their property sum (scaled). */
export type UnitMetricState = [value: number, count: number, sum: number];
export const EMPTY_STATE: UnitMetricState = [0, 0, 0];

/** Exact change to a variant's sufficient statistics, in scaled units. */
export interface ExactDelta {
  n: number;
  sum: bigint;
  sumSquares: bigint;
}

const LIMIT = USER_VALUE_LIMIT * VALUE_SCALE;
const clamp = (value: number, limit = LIMIT) => Math.max(-limit, Math.min(limit, value));

/** The scaled amount an event brings to a metric, or why it brings none. */
export function metricAmount(
  metric: Metric,
  properties: Record<string, unknown> | undefined,
): ReturnType<typeof scaledMetricValue> {
  if (!metric.property) return { scaled: VALUE_SCALE };
  return scaledMetricValue(properties?.[metric.property]);
}

/** The capped types (shared/metrics/definition.ts `isCappedMetric`): the report caps them from their histogram. */
const hasHistogram = (metric: Metric) => metric.type !== "unique_conversions";
const bucketSeries = (metric: Metric, value: number) => `${metric.key}${BUCKET_SEPARATOR}${histogramBucket(value)}`;
const one = (value: number, sign: 1 | -1): ExactDelta => {
  const v = BigInt(value);
  return { n: sign, sum: BigInt(sign) * v, sumSquares: BigInt(sign) * v * v };
};

/**
 * The unit's new state and the deltas to add to its variant's series (the metric, and its
 * histogram buckets: the unit leaves its old bucket and joins its new one), or undefined
 * when nothing changes.
 */
export function applyEvent(
  metric: Metric,
  state: UnitMetricState,
  scaled: number,
): { state: UnitMetricState; deltas: Array<[string, ExactDelta]> } | undefined {
  const [previous, previousCount, previousSum] = state;
  const count = previousCount + 1;
  const sum = clamp(previousSum + scaled);
  const cap = metric.capValue === undefined ? LIMIT : Math.min(LIMIT, Math.round(metric.capValue * VALUE_SCALE));
  let value: number;
  switch (metric.type) {
    case "unique_conversions":
      if (previousCount > 0) return undefined; // already converted
      value = VALUE_SCALE;
      break;
    case "event_totals":
      value = clamp(count * VALUE_SCALE, cap);
      break;
    case "property_sum":
      value = clamp(sum, cap);
      break;
    case "property_average":
      value = clamp(Math.round(sum / count), cap);
      break;
  }
  const [from, to] = [BigInt(previous), BigInt(value)];
  const first = previousCount === 0;
  const deltas: Array<[string, ExactDelta]> = [
    [
      metric.key,
      { n: metric.type === "property_average" && first ? 1 : 0, sum: to - from, sumSquares: to * to - from * from },
    ],
  ];
  if (hasHistogram(metric) && (first || previous !== value)) {
    // A unit's first event of an average joins the histogram even at 0 (zeros are implicit: no bucket).
    if (!first && previous !== 0) deltas.push([bucketSeries(metric, previous), one(previous, -1)]);
    if (value !== 0) deltas.push([bucketSeries(metric, value), one(value, 1)]);
  }
  return { state: [value, count, sum], deltas };
}
