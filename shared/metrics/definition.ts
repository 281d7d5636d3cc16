/**
 * A metric definition: what an experiment measures, computed from the event store
 * (stats-lambda/src/event-store, stats-lambda/src/metric-engine). The same shape serves
 * inline metrics on an experiment and the project's metric catalog (`/projects/{p}/metrics`),
 * so the four shapes experiments had before (conversions, totals, sum and average of one
 * event type's property) parse unchanged.
 *
 * Every metric is a per-unit value (the unit is the experiment's bucketing unit) within a
 * window relative to that unit's first exposure: `window.startHours` (default 0) to
 * `window.endHours` (default: none, the end of the analysis period). Events before the
 * exposure never count, and are never lost (the store keeps them). A fixed `endHours`
 * gives the metric a fixed estimand (docs/metrics.md).
 *
 * Types (the per-unit value):
 * - `unique_conversions`: 1 if the unit has a matching event in its window, else 0.
 * - `event_totals`: the number of matching events.
 * - `property_sum`: the sum of `property` over matching events; `property_average`: the mean of
 *   `property` over the unit's matching events, over units with at least one such event.
 * - `ratio`: Σ numerator / Σ denominator per unit (delta method); each side counts its
 *   events, or sums `property` when given.
 * - `funnel`: 1 if the unit did the steps in order, each after the previous, the last within
 *   `conversionWindowHours` of the first step (the first step inside the metric's window).
 * - `retention`: 1 if the unit did the event on day `day` after its exposure (`mode: "on_day"`,
 *   day 0 = the first 24 h) or on any day 1…`day` (`mode: "within"`).
 */
import * as z from "zod";

const metricKey = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/,
    "1–100 characters: letters, digits, '.', '_' or '-', starting with a letter or digit",
  );

export const FILTER_OPERATORS = ["=", "!=", "in", "not_in", "contains", "<", "<=", ">", ">=", "is_set"] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

const scalar = z.union([z.string().max(1000), z.number().finite(), z.boolean()]);

/**
 * A condition on an event property (`scope: "event"`, the default) or on a user property as
 * recorded with the unit's exposure (`scope: "user"`: country, platform, os, app_version and
 * the project's configured breakdown properties). `in`/`not_in` take a list, `is_set` no value,
 * the rest one value; `<`…`>=` compare numbers, `contains` is a case-insensitive substring.
 */
export const metricFilterSchema = z
  .object({
    property: z.string().min(1).max(200),
    scope: z.enum(["event", "user"]).default("event"),
    op: z.enum(FILTER_OPERATORS),
    value: z.union([scalar, z.array(scalar).min(1).max(1000)]).optional(),
  })
  .refine(
    (f) =>
      f.op === "is_set"
        ? f.value === undefined
        : f.op === "in" || f.op === "not_in"
          ? Array.isArray(f.value)
          : f.value !== undefined && !Array.isArray(f.value),
    { message: "in/not_in take a list, is_set no value, the other operators one value", path: ["value"] },
  );
export type MetricFilter = z.infer<typeof metricFilterSchema>;

const filters = z.array(metricFilterSchema).max(20).default([]);
const eventType = z.string().min(1).max(1024);
const propertyName = z.string().min(1).max(200);

/** Which events of a unit a metric (or one side, or one step) reads. */
export const eventSelectorSchema = z.object({ eventType, filters });
export type EventSelector = z.infer<typeof eventSelectorSchema>;

/** Hours after the unit's first exposure; `endHours` absent = until the analysis period ends. */
export const metricWindowSchema = z
  .object({
    startHours: z.number().min(0).max(8760).default(0),
    endHours: z.number().positive().max(8760).optional(),
  })
  .refine((w) => w.endHours === undefined || w.endHours > w.startHours, {
    message: "endHours must be after startHours",
    path: ["endHours"],
  });
export type MetricWindow = z.infer<typeof metricWindowSchema>;

const common = {
  key: metricKey,
  name: z.string().max(200).optional(),
  description: z.string().max(2000).optional(),
  /** Which way is better (default `increase`): a guardrail is harmed by a move the other way. */
  direction: z.enum(["increase", "decrease"]).optional(),
  window: metricWindowSchema.optional(),
};

/**
 * Sums and averages: a unit's value is capped (winsorized) at this quantile of the units'
 * values (default 0.99; 1 turns capping off)… or at an absolute value.
 */
const capping = {
  capPercentile: z.number().min(0.9).max(1).optional(),
  capValue: z.number().positive().max(1e9).optional(),
};

const ratioSide = z.object({ eventType, filters, property: propertyName.optional() });

/** A funnel's default `conversionWindowHours`: a week. */
export const DEFAULT_CONVERSION_WINDOW_HOURS = 168;

export const METRIC_TYPES = [
  "unique_conversions",
  "event_totals",
  "property_sum",
  "property_average",
  "ratio",
  "funnel",
  "retention",
] as const;
export type MetricType = (typeof METRIC_TYPES)[number];

export const metricDefinitionSchema = z.discriminatedUnion("type", [
  z.object({ ...common, type: z.literal("unique_conversions"), eventType, filters }),
  z.object({ ...common, ...capping, type: z.literal("event_totals"), eventType, filters }),
  z.object({ ...common, ...capping, type: z.literal("property_sum"), eventType, property: propertyName, filters }),
  z.object({ ...common, ...capping, type: z.literal("property_average"), eventType, property: propertyName, filters }),
  z.object({ ...common, type: z.literal("ratio"), numerator: ratioSide, denominator: ratioSide }),
  z.object({
    ...common,
    type: z.literal("funnel"),
    steps: z.array(eventSelectorSchema).min(2).max(5),
    /** The last step within this many hours of the first (default 24 × 7). */
    conversionWindowHours: z.number().positive().max(8760).default(DEFAULT_CONVERSION_WINDOW_HOURS),
  }),
  z.object({
    ...common,
    type: z.literal("retention"),
    eventType,
    filters,
    day: z.number().int().min(0).max(365),
    mode: z.enum(["on_day", "within"]).default("on_day"),
  }),
]);
export type MetricDefinition = z.infer<typeof metricDefinitionSchema>;

/** Metric types whose values are capped (winsorized). */
export const isCappedMetric = (metric: Pick<MetricDefinition, "type">): boolean =>
  metric.type === "property_sum" || metric.type === "property_average" || metric.type === "event_totals";

/**
 * Hours after a unit's exposure by which its value in the metric's window `[start, endHours)`
 * is final, when the window has an end: the end itself, but for a funnel the end plus its
 * `conversionWindowHours`, since its first step may come just before the end and its last
 * that long after the first (a stored definition without it has the default).
 */
export function closingHoursOf(metric: {
  type: string;
  window?: { endHours?: number | undefined } | undefined;
  conversionWindowHours?: number | undefined;
}): number | undefined {
  const end = metric.window?.endHours;
  if (end === undefined) return undefined;
  return metric.type === "funnel" ? end + (metric.conversionWindowHours ?? DEFAULT_CONVERSION_WINDOW_HOURS) : end;
}
