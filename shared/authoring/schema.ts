/**
 * The authoring model: what admins write through the control-plane API. Flags and
 * experiments here are compiled (compile.ts) into the evaluation model the edge serves;
 * the edge never sees this shape. These zod schemas are the single source of the
 * types, the request validation and the OpenAPI document.
 */
import * as z from "zod";
import { OPERATORS } from "../evaluation/operators.js";
import { CORRECTIONS } from "../stats/corrections.js";
import { metricDefinitionSchema } from "../metrics/definition.js";
import { ANALYSIS_SETTINGS, DEFAULT_METRIC_WINDOW } from "./fields.js";

export const keySchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/,
    "1–100 characters: letters, digits, '.', '_' or '-', starting with a letter or digit",
  );

const idList = z.array(z.string().min(1).max(1024)).max(10_000);

export const conditionSchema = z.object({
  /**
   * A built-in user field (`country`, `platform`, …, `user_id`), a user property, or with `groupType` a group
   * property (`group_name` for the group's name).
   */
  property: z.string().min(1).max(200),
  groupType: z.string().min(1).max(100).optional(),
  op: z.enum(OPERATORS as [string, ...string[]]),
  values: z.array(z.string().max(1000)).max(1000),
});
export type Condition = z.infer<typeof conditionSchema>;

export const variantSchema = z.object({
  key: keySchema,
  value: z.string().max(1000).optional(),
  payload: z.unknown().optional(),
  description: z.string().max(2000).optional(),
});
export type Variant = z.infer<typeof variantSchema>;

/** Allocation works in whole percent (`hash % 100`). */
const percentage = z.number().int().min(0).max(100);
const weightsSchema = z.record(z.string(), z.number().min(0).max(100));

export const bucketingSchema = z.object({
  unit: z.enum(["user_id", "device_id", "group"]).default("user_id"),
  /** Required when `unit` is `group`: the group type (for example `company_id`). */
  groupType: z.string().min(1).max(100).optional(),
  /** Defaults to the flag key; changing it reshuffles every user. */
  salt: z.string().min(1).max(200).optional(),
});

export const targetingSegmentSchema = z.object({
  name: z.string().min(1).max(200),
  /**
   * A project segment (`/projects/{p}/segments`) by key: its conditions hold too, resolved when the
   * flag is published (shared/authoring/segments.ts), so an edit of the segment reaches every flag using it.
   */
  segment: keySchema.optional(),
  /** All must hold (with the segment's, when one is named). At least one, or a segment. */
  conditions: z.array(conditionSchema).max(50),
  rollout: percentage.default(100),
  /** Variant key → weight in percent (sums to 100); defaults to the flag's weights. */
  weights: weightsSchema.optional(),
});

export const idSetSchema = z.object({ userIds: idList.default([]), deviceIds: idList.default([]) });

export const prerequisiteSchema = z.object({
  flagKey: keySchema,
  /** The prerequisite must resolve to one of these variants. */
  variants: z.array(keySchema).min(1),
});

export { METRIC_TYPES } from "../metrics/definition.js";

/** Where a metric copied from the project's catalog came from: the entry and the version copied. */
export const catalogPinSchema = z.object({ key: keySchema, version: z.number().int().positive() });

/**
 * An experiment's metric as stored: a full definition (shared/metrics/definition.ts), so the
 * four shapes stored before parse unchanged. `catalog` marks a copy of a catalog entry at
 * that version: editing the entry later never changes this experiment's analysis.
 */
const storedMetricSchema = metricDefinitionSchema.and(z.object({ catalog: catalogPinSchema.optional() }));
/**
 * Typed by its input: its defaults (`filters: []`, …) may be absent, as in flags stored before
 * they existed (the stats service reads stored flags without parsing them).
 */
export type Metric = z.input<typeof storedMetricSchema>;
export const metricSchema: z.ZodType<Metric, Metric> = storedMetricSchema;

/** A metric named by its catalog key (`{"metric": "checkout-conversion"}`): resolved and pinned when saved. */
export const metricReferenceSchema = z.object({ metric: keySchema });
export type MetricReference = z.infer<typeof metricReferenceSchema>;

/** What a request may send for a metric: a catalog reference or an inline definition. */
export const metricInputSchema = z.union([metricReferenceSchema, metricSchema]);
export type MetricInput = z.infer<typeof metricInputSchema>;

/**
 * The four types the per-unit ingest (stats-lambda/src/metrics.ts) computes, without filters
 * or window: the event-store engine computes every other metric.
 */
export interface LegacyMetric {
  key: string;
  name?: string | undefined;
  type: "unique_conversions" | "event_totals" | "property_sum" | "property_average";
  eventType: string;
  property?: string | undefined;
  direction?: "increase" | "decrease" | undefined;
  capPercentile?: number | undefined;
  capValue?: number | undefined;
}
export const isLegacyMetric = <M extends Metric>(metric: M): metric is M & LegacyMetric =>
  (metric.type === "unique_conversions" ||
    metric.type === "event_totals" ||
    metric.type === "property_sum" ||
    metric.type === "property_average") &&
  (metric.filters ?? []).length === 0 &&
  metric.window === undefined;
/**
 * The window every metric without its own `window.endHours` is measured in, after each
 * unit's first exposure (issue 22, 2): `{endHours}` gives the metric a fixed estimand (a unit
 * enters the test once its window has closed; stats-lambda/src/report/closed-window.ts);
 * `"none"` measures it to the end of the period (running values, a growing quantity).
 * Absent (experiments stored before the setting): `"none"`. New experiments get
 * DEFAULT_METRIC_WINDOW (control-plane/src/services/flags.ts).
 */
export const defaultMetricWindowSchema = z.union([
  z.object({ endHours: z.number().int().positive().max(8760) }).strict(),
  z.literal("none"),
]);
export type DefaultMetricWindow = z.infer<typeof defaultMetricWindowSchema>;
export { DEFAULT_METRIC_WINDOW };

/** The default capping quantile of sum and average metrics. */
export const DEFAULT_CAP_PERCENTILE = 0.99;

export const hypothesisSchema = z.object({
  problem: z.string().max(4000),
  proposedChange: z.string().max(4000),
  predictedResult: z.string().max(4000),
});

/** The fields an admin edits on a flag or experiment. */
export const flagInputSchema = z.object({
  key: keySchema,
  name: z.string().min(1).max(200),
  description: z.string().max(4000).default(""),
  type: z.enum(["release", "experiment"]),
  variants: z.array(variantSchema).min(1).max(20),
  bucketing: bucketingSchema.default({ unit: "user_id" }),
  rollout: percentage.default(100),
  /** Variant key → weight in percent (sums to 100); equal weights when absent. */
  weights: weightsSchema.optional(),
  segments: z.array(targetingSegmentSchema).max(50).default([]),
  /** Variant key → the users and devices always served that variant. */
  inclusions: z.record(z.string(), idSetSchema).default({}),
  exclusions: idSetSchema.default({ userIds: [], deviceIds: [] }),
  prerequisites: z.array(prerequisiteSchema).max(20).default([]),
  /** Mutual-exclusion groups and holdouts (project resources) this flag belongs to. */
  groups: z.array(keySchema).max(10).default([]),
  /** Deployment keys the flag is served on. */
  deployments: z.array(keySchema).max(50).default([]),
  // Experiments only.
  hypothesis: hypothesisSchema.optional(),
  primaryMetric: metricSchema.optional(),
  secondaryMetrics: z.array(metricSchema).max(20).default([]),
  guardrailMetrics: z.array(metricSchema).max(20).default([]),
  statisticalMethod: z.enum(["sequential", "ttest"]).default("sequential"),
  confidenceLevel: z.number().gt(0.5).lt(1).default(0.95),
  /** Relative to the control mean (0.05 = 5%): tunes the sequential test and sizes the experiment. */
  minimumDetectableEffect: z.number().positive().max(10).optional(),
  /** Default `bonferroni`. Over treatments for the primary metric, over treatments × metrics for secondary ones. */
  multipleTestingCorrection: z.enum(CORRECTIONS).optional(),
  /**
   * When the admin plans to read the result (ISO time): a fixed-horizon t-test gives its
   * verdict from the first look on or after it, as at its planned sample (stats-lambda/src/report/read-rule.ts).
   */
  plannedEndAt: z.iso.datetime({ offset: true }).optional(),
  /** Each metric's window when it has none of its own (defaultMetricWindowSchema). */
  defaultMetricWindow: defaultMetricWindowSchema.optional(),
});
export type FlagInput = z.infer<typeof flagInputSchema>;

/**
 * What a create or edit request may send: the editable fields, with each metric either
 * inline or a catalog reference (`{"metric": "<key>"}`), which the control plane replaces
 * with the entry's definition pinned to its version before storing.
 */
export const flagWriteSchema = flagInputSchema.extend({
  primaryMetric: metricInputSchema.optional(),
  secondaryMetrics: z.array(metricInputSchema).max(20).default([]),
  guardrailMetrics: z.array(metricInputSchema).max(20).default([]),
});
export type FlagWrite = z.infer<typeof flagWriteSchema>;

export const FLAG_STATUSES = ["draft", "running", "stopped", "decided", "active", "inactive", "archived"] as const;
export type FlagStatus = (typeof FLAG_STATUSES)[number];

export const changeSchema = z.object({
  actor: z.string(),
  at: z.string(),
  action: z.string(),
});

/** The fields an experiment's analysis depends on: locked while it runs. */
export const ANALYSIS_FIELDS = [...ANALYSIS_SETTINGS, "bucketing"] as const;
export const analysisSettingsSchema = flagInputSchema.pick(
  Object.fromEntries(ANALYSIS_FIELDS.map((field) => [field, true])) as Record<(typeof ANALYSIS_FIELDS)[number], true>,
);
export type AnalysisSettings = z.infer<typeof analysisSettingsSchema>;

/**
 * A secondary or guardrail metric added to or removed from a running (or stopped) experiment:
 * the period's settings gain (or lose) it, and the report computes it over the whole period.
 */
export const metricChangeSchema = z.object({
  at: z.string(),
  action: z.enum(["added", "removed"]),
  role: z.enum(["secondary", "guardrail"]),
  metric: keySchema,
});
export type MetricChange = z.infer<typeof metricChangeSchema>;

/** One run of an experiment from start to stop: its data and settings are its own. */
export const analysisPeriodSchema = z.object({
  startedAt: z.string(),
  stoppedAt: z.string().optional(),
  settings: analysisSettingsSchema,
  /** Metrics added or removed during the period, oldest first (absent: none). */
  metricChanges: z.array(metricChangeSchema).optional(),
});
export type AnalysisPeriod = z.infer<typeof analysisPeriodSchema>;

/** A stored flag: the input plus what the server manages. */
export const flagSchema = flagInputSchema.extend({
  status: z.enum(FLAG_STATUSES),
  /** Set by `decide`: the variant shipped to everyone. */
  decidedVariant: keySchema.optional(),
  /** The status before archiving, so `unarchive` can put it back. */
  statusBeforeArchive: z.enum(FLAG_STATUSES).optional(),
  /** Experiments: every start opens a period, with the analysis settings it runs with. */
  analysisPeriods: z.array(analysisPeriodSchema).optional(),
  version: z.number().int().positive(),
  createdAt: z.string(),
  updatedAt: z.string(),
  lastChange: changeSchema,
});
export type Flag = z.infer<typeof flagSchema>;

export const groupSchema = z.object({
  key: keySchema,
  kind: z.enum(["mutex", "holdout"]),
  /** Holdouts: the percent of users held out of every member experiment. */
  percentage: z.number().min(0).max(50).default(0),
  description: z.string().max(2000).default(""),
});
export type Group = z.infer<typeof groupSchema>;
