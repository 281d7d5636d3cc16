/**
 * The authoring model: what admins write through the control-plane API. Flags and
 * experiments here are compiled (compile.ts) into the evaluation model the edge serves;
 * the edge never sees this shape. These zod schemas are the single source of the
 * types, the request validation and the OpenAPI document.
 */
import * as z from "zod"; // namespace import: lets the bundler drop the unused parts of zod
import { OPERATORS } from "../evaluation/operators.js";
import { CORRECTIONS } from "../stats/corrections.js";
import { ANALYSIS_SETTINGS } from "./fields.js";

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
  /** All must hold. */
  conditions: z.array(conditionSchema).min(1).max(50),
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

export const METRIC_TYPES = ["unique_conversions", "event_totals", "property_sum", "property_average"] as const;
export const metricSchema = z
  .object({
    key: keySchema,
    name: z.string().max(200).optional(),
    type: z.enum(METRIC_TYPES),
    eventType: z.string().min(1).max(1024),
    /** The event property summed or averaged (`property_sum`, `property_average`). */
    property: z.string().min(1).max(200).optional(),
    /** Which way is better (default `increase`): a guardrail is harmed by a move the other way. */
    direction: z.enum(["increase", "decrease"]).optional(),
    /**
     * Sums and averages: a unit's value is capped (winsorized) at this quantile of all
     * units' values, zeros included, arms pooled (default 0.99; 1 turns capping off)…
     */
    capPercentile: z.number().min(0.9).max(1).optional(),
    /** …or, instead, at this absolute value (applied as events arrive). */
    capValue: z.number().positive().max(1e9).optional(),
  })
  .refine((m) => (m.type === "property_sum" || m.type === "property_average") === (m.property !== undefined), {
    message: "property is required for property_sum and property_average, and only for them",
    path: ["property"],
  });
export type Metric = z.infer<typeof metricSchema>;
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
});
export type FlagInput = z.infer<typeof flagInputSchema>;

export const FLAG_STATUSES = ["draft", "running", "stopped", "decided", "active", "inactive", "archived"] as const;
export type FlagStatus = (typeof FLAG_STATUSES)[number];

export const changeSchema = z.object({
  actor: z.string(),
  at: z.string(),
  action: z.string(),
});
export type Change = z.infer<typeof changeSchema>;

/** The fields an experiment's analysis depends on: locked while it runs. */
export const ANALYSIS_FIELDS = [...ANALYSIS_SETTINGS, "bucketing"] as const;
export const analysisSettingsSchema = flagInputSchema.pick(
  Object.fromEntries(ANALYSIS_FIELDS.map((field) => [field, true])) as Record<(typeof ANALYSIS_FIELDS)[number], true>,
);
export type AnalysisSettings = z.infer<typeof analysisSettingsSchema>;

/** One run of an experiment from start to stop: its data and settings are its own. */
export const analysisPeriodSchema = z.object({
  startedAt: z.string(),
  stoppedAt: z.string().optional(),
  settings: analysisSettingsSchema,
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
