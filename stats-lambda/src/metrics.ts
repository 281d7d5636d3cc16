/**
 * How one event changes a user's value of a metric, and the change that makes to the
 * variant's sufficient statistics (n, Σx, Σx²). Pure: ingest applies the result to
 * DynamoDB, the benchmark to memory.
 *
 * Values per user: unique conversions 1 once the event happened (0 until then), event
 * totals the count, property sums the sum of a numeric property, property averages the
 * mean of it. Users exposed but without events count as 0 for the first three (so n is
 * the exposure count); averages are over users with at least one event (n counted here).
 */
import type { Metric } from "../../shared/authoring/schema.js";
import type { SufficientStats } from "../../shared/stats/index.js";

export interface UserMetricState {
  value: number;
  count: number;
  sum: number;
}

export const EMPTY_STATE: UserMetricState = { value: 0, count: 0, sum: 0 };

/** The numeric property value of an event, or undefined when the event has none. */
export function propertyValue(metric: Metric, properties: Record<string, unknown> | undefined): number | undefined {
  if (!metric.property) return 1;
  const raw = properties?.[metric.property];
  const value = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
  return Number.isFinite(value) ? value : undefined;
}

/** The user's new state and the delta to add to the variant's statistics, or undefined when nothing changes. */
export function applyEvent(metric: Metric, state: UserMetricState, amount: number): { state: UserMetricState; delta: SufficientStats } | undefined {
  const count = state.count + 1;
  const sum = state.sum + amount;
  let value: number;
  switch (metric.type) {
    case "unique_conversions":
      if (state.count > 0) return undefined; // already converted
      value = 1;
      break;
    case "event_totals":
      value = count;
      break;
    case "property_sum":
      value = sum;
      break;
    case "property_average":
      value = sum / count;
      break;
  }
  const delta = {
    n: metric.type === "property_average" && state.count === 0 ? 1 : 0,
    sum: value - state.value,
    sumSquares: value * value - state.value * state.value,
  };
  return { state: { value, count, sum }, delta };
}
