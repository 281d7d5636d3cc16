/**
 * How one event changes a unit's value of a metric, and the change that makes to the
 * variant's sufficient statistics (n, Σx, Σx²). Pure: ingest applies the result to
 * DynamoDB, the benchmark to memory.
 *
 * Values per unit: unique conversions 1 once the event happened (0 until then), event
 * totals the count, property sums the sum of a numeric property, property averages the
 * mean of it. Units exposed but without events count as 0 for the first three (so n is
 * the exposure count); averages are over units with at least one event (n counted here).
 *
 * Every value is an exact integer scaled by VALUE_SCALE (shared/metric-values.ts), and
 * deltas are BigInts: sums are exact however many units add up.
 */
import type { Metric } from "../../shared/authoring/schema.js";
import { scaledMetricValue, USER_VALUE_LIMIT, VALUE_SCALE } from "../../shared/metric-values.js";

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
const clamp = (value: number) => Math.max(-LIMIT, Math.min(LIMIT, value));

/** The scaled amount an event brings to a metric, or why it brings none. */
export function metricAmount(metric: Metric, properties: Record<string, unknown> | undefined): ReturnType<typeof scaledMetricValue> {
  if (!metric.property) return { scaled: VALUE_SCALE };
  return scaledMetricValue(properties?.[metric.property]);
}

/** The unit's new state and the delta to add to its variant's statistics, or undefined when nothing changes. */
export function applyEvent(metric: Metric, state: UnitMetricState, scaled: number): { state: UnitMetricState; delta: ExactDelta } | undefined {
  const [previous, previousCount, previousSum] = state;
  const count = previousCount + 1;
  const sum = clamp(previousSum + scaled);
  let value: number;
  switch (metric.type) {
    case "unique_conversions":
      if (previousCount > 0) return undefined; // already converted
      value = VALUE_SCALE;
      break;
    case "event_totals":
      value = clamp(count * VALUE_SCALE);
      break;
    case "property_sum":
      value = sum;
      break;
    case "property_average":
      value = Math.round(sum / count);
      break;
  }
  const [from, to] = [BigInt(previous), BigInt(value)];
  const delta = { n: metric.type === "property_average" && previousCount === 0 ? 1 : 0, sum: to - from, sumSquares: to * to - from * from };
  return { state: [value, count, sum], delta };
}
