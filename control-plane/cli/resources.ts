/**
 * The resources a project folder holds, in the form files carry and comparisons use: a flag's editable fields
 * (the authoring schema's, defaults applied) and its lifecycle status; a catalog metric's definition and whether it
 * is archived; a group; a segment; the project with its deployments. What the server manages (versions, timestamps, the
 * last change, analysis periods) is never in a file, so an export of an unchanged project is byte for byte the same.
 */
import diff from "microdiff";
import * as z from "zod"; // namespace import: lets the bundler drop the unused parts of zod
import { FLAG_STATUSES, flagInputSchema, groupSchema, keySchema } from "../../shared/authoring/schema.js";
import { FLAG_INPUT_FIELDS } from "../../shared/authoring/fields.js";
import { segmentSchema } from "../../shared/authoring/segments.js";
import { metricDefinitionSchema } from "../../shared/metrics/definition.js";
import { orderKeys } from "./key-order.js";

/** In the order apply writes them: flags last, after the metrics, groups and segments they name. */
export const RESOURCE_KINDS = ["metric", "group", "segment", "flag"] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

/** A flag file: the editable fields, and optionally the status apply brings the flag to (absent: left as it is). */
export const flagFileSchema = flagInputSchema
  .extend({
    status: z.enum(FLAG_STATUSES).optional(),
    /** With `status: decided`: the variant shipped to everyone. */
    decidedVariant: keySchema.optional(),
  })
  .strict();
export type FlagFile = z.infer<typeof flagFileSchema>;

export const metricFileSchema = metricDefinitionSchema.and(z.object({ archived: z.boolean().default(false) }));
export type MetricFile = z.infer<typeof metricFileSchema>;

export const groupFileSchema = groupSchema.strict();
export type GroupFile = z.infer<typeof groupFileSchema>;

export const segmentFileSchema = segmentSchema.strict();
export type SegmentFile = z.infer<typeof segmentFileSchema>;

export const projectFileSchema = z
  .object({
    key: keySchema,
    name: z.string().min(1).max(200),
    /** Deployments the flags are served on: apply creates the missing ones (an admin token). */
    deployments: z.array(z.object({ key: keySchema, name: z.string().min(1).max(200) }).strict()).default([]),
  })
  .strict();
export type ProjectFile = z.infer<typeof projectFileSchema>;

export const FILE_SCHEMAS = {
  metric: metricFileSchema,
  group: groupFileSchema,
  segment: segmentFileSchema,
  flag: flagFileSchema,
} satisfies Record<ResourceKind, z.ZodType>;

export const FOLDERS: Record<ResourceKind, string> = {
  metric: "metrics",
  group: "groups",
  segment: "segments",
  flag: "flags",
};

const pick = (value: Record<string, unknown>, keys: readonly string[]) =>
  Object.fromEntries(keys.filter((key) => value[key] !== undefined).map((key) => [key, value[key]]));

/**
 * A live flag (as the API answers it) as its file holds it. An experiment stored without a default
 * metric window has none: the file says `none`, or applying it where the flag does not exist yet
 * would give it a new experiment's week.
 */
export function flagFromLive(live: Record<string, unknown>): FlagFile {
  const windowless = live["type"] === "experiment" && live["defaultMetricWindow"] === undefined;
  const fields = pick(live, [...FLAG_INPUT_FIELDS, "status"]);
  const file = flagFileSchema.parse(windowless ? { ...fields, defaultMetricWindow: "none" } : fields);
  return live["status"] === "decided" && typeof live["decidedVariant"] === "string"
    ? { ...file, decidedVariant: live["decidedVariant"] }
    : file;
}

/** A live catalog metric as its file holds it. */
export function metricFromLive(live: Record<string, unknown>): MetricFile {
  const { version, createdAt, updatedAt, lastChange, ...rest } = live;
  return metricFileSchema.parse(rest);
}

export function groupFromLive(live: Record<string, unknown>): GroupFile {
  const { version, ...rest } = live;
  return groupFileSchema.parse(rest);
}

/** A live segment (with its version and the flags using it) as its file holds it. */
export function segmentFromLive(live: Record<string, unknown>): SegmentFile {
  const { version, createdAt, updatedAt, lastChange, usedBy, ...rest } = live;
  return segmentFileSchema.parse(rest);
}

export const FROM_LIVE: Record<ResourceKind, (live: Record<string, unknown>) => unknown> = {
  metric: metricFromLive,
  group: groupFromLive,
  segment: segmentFromLive,
  flag: flagFromLive,
};

export const deepEqual = (a: unknown, b: unknown): boolean => diff({ v: a }, { v: b }).length === 0;

/**
 * The value as a file writes it: keys in schema order, and top-level fields left out where the schema's default
 * gives the same value back (`segments: []`, `rollout: 100`), so files hold what someone chose.
 */
export function forFile(schema: z.ZodType, value: Record<string, unknown>): Record<string, unknown> {
  const full = schema.parse(value);
  const kept: Record<string, unknown> = { ...value };
  for (const key of Object.keys(value)) {
    const { [key]: _, ...without } = kept;
    const reparsed = schema.safeParse(without);
    if (reparsed.success && deepEqual(reparsed.data, full)) delete kept[key];
  }
  return orderKeys(schema, kept) as Record<string, unknown>;
}
