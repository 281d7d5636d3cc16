/**
 * The names of a flag's authoring fields, without zod: the console (a browser bundle) and
 * the schema (schema.ts, which declares exactly these, tested) share them.
 */

/** What an experiment's analysis depends on, besides its bucketing. */
export const ANALYSIS_SETTINGS = [
  "primaryMetric",
  "secondaryMetrics",
  "guardrailMetrics",
  "statisticalMethod",
  "confidenceLevel",
  "minimumDetectableEffect",
  "multipleTestingCorrection",
  "plannedEndAt",
  "defaultMetricWindow",
] as const;

/** A new experiment's default metric window, a week: every unit's value spans each weekday once (as Eppo's and Statsig's fixed windows). */
export const DEFAULT_METRIC_WINDOW = { endHours: 7 * 24 } as const;

/** The fields only experiments use: a release flag leaves them out. */
export const EXPERIMENT_FIELDS = ["hypothesis", ...ANALYSIS_SETTINGS] as const;

/** Every field an admin writes on a flag or experiment, in the order the editor shows them. */
export const FLAG_INPUT_FIELDS = [
  "key",
  "name",
  "description",
  "type",
  "variants",
  "bucketing",
  "rollout",
  "weights",
  "segments",
  "inclusions",
  "exclusions",
  "prerequisites",
  "groups",
  "deployments",
  ...EXPERIMENT_FIELDS,
] as const;
