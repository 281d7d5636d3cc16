/**
 * The control plane's stored records, one zod schema each, with their types inferred: the
 * API's response schemas (routes/schemas.ts) derive from these, so a field is declared once.
 * Flags and groups are the authoring model's (shared/authoring/schema.ts); admin tokens are
 * shared with the stats service (shared/admin-token-record.ts).
 */
import * as z from "zod";
import { changeSchema, flagSchema, groupSchema } from "../../../shared/authoring/schema.js";
import { metricDefinitionSchema } from "../../../shared/metrics/definition.js";
import {
  BREAKDOWN_PROPERTIES,
  BREAKDOWN_PROPERTY_NAME,
  MAX_PROJECT_BREAKDOWN_PROPERTIES,
} from "../../../shared/breakdown-properties.js";
import { eventRetentionDaysSchema } from "../../../shared/event-retention.js";

/**
 * The user properties a project breaks results down by, beyond the built-in ones (country,
 * platform, os, app_version): the edge keeps them with each exposure (docs/experiment-analysis.md).
 */
export const breakdownPropertiesSchema = z
  .array(
    z
      .string()
      .regex(BREAKDOWN_PROPERTY_NAME, "a user property name: 1–64 letters, digits, '_', '.', '$' or '-'")
      .refine((name) => !(BREAKDOWN_PROPERTIES as readonly string[]).includes(name), {
        message: `is recorded anyway (${BREAKDOWN_PROPERTIES.join(", ")} are built in)`,
      }),
  )
  .max(MAX_PROJECT_BREAKDOWN_PROPERTIES)
  .refine((names) => new Set(names).size === names.length, { message: "names a property twice" });

export const projectSchema = z.object({
  key: z.string(),
  name: z.string(),
  createdAt: z.string(),
  /** Set by archiving: an archived project takes no new flags, and only an archived one can be deleted. */
  archivedAt: z.string().optional(),
  /** Extra user properties the edge keeps with each exposure, for breakdowns; none when absent. */
  breakdownProperties: breakdownPropertiesSchema.optional(),
  /** Days the event store keeps the project's events; the default (shared/event-retention.ts) when absent. */
  eventRetentionDays: eventRetentionDaysSchema.optional(),
});
export type Project = z.infer<typeof projectSchema>;

export const deploymentRecordSchema = z.object({
  key: z.string(),
  name: z.string(),
  clientKey: z.string(),
  serverKey: z.string(),
  /** Keys replaced by rotation, still to be removed from KV by the next publish. */
  retiredKeys: z.array(z.string()),
  createdAt: z.string(),
});
export type Deployment = z.infer<typeof deploymentRecordSchema>;

/** A deployment's replication: what was last published to its keys, and how that went. */
export const publishStateSchema = z.object({
  deployment: z.string(),
  /** The version of the deployment's KV documents: +1 per publish, under the lease. */
  publishedVersion: z.number(),
  /** The project change counter the published content was compiled at. */
  compiledSeq: z.number(),
  /** Hash of the published content (flags and keys): reconcile republishes when it differs. */
  contentHash: z.string(),
  status: z.enum(["pending", "ok", "error"]),
  publishedAt: z.string().optional(),
  lastError: z.string().optional(),
  attempts: z.number(),
});
export type PublishState = z.infer<typeof publishStateSchema>;

/** A group as stored: its version counts its changes (groups written before versions read as 0). */
export const storedGroupSchema = groupSchema.extend({ version: z.number().int().nonnegative() });
export type StoredGroup = z.infer<typeof storedGroupSchema>;

/** One past version of a flag, with who changed it, when, how, and the change as a diff. */
export const historyEntrySchema = z.object({
  version: z.number(),
  actor: z.string(),
  at: z.string(),
  action: z.string(),
  diff: z.array(
    z.object({
      type: z.string(),
      path: z.array(z.union([z.string(), z.number()])),
      value: z.unknown().optional(),
      oldValue: z.unknown().optional(),
    }),
  ),
  flag: flagSchema,
});
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

/** One past version of a group, with who changed it, when, how, and the diff. */
export const groupHistoryEntrySchema = historyEntrySchema.omit({ flag: true }).extend({ group: storedGroupSchema });
export type GroupHistoryEntry = z.infer<typeof groupHistoryEntrySchema>;

/**
 * A metric of the project's catalog (`/projects/{p}/metrics`): a definition, versioned as
 * flags are. Experiments copy it when saved (with `catalog: {key, version}`), so editing it
 * changes no experiment's analysis; archiving it keeps those copies and refuses new references.
 */
export const catalogMetricSchema = metricDefinitionSchema.and(
  z.object({
    archived: z.boolean(),
    version: z.number().int().positive(),
    createdAt: z.string(),
    updatedAt: z.string(),
    lastChange: changeSchema,
  }),
);
export type CatalogMetric = z.infer<typeof catalogMetricSchema>;

/** One past version of a catalog metric, with who changed it, when, how, and the diff. */
export const metricHistoryEntrySchema = historyEntrySchema.omit({ flag: true }).extend({ metric: catalogMetricSchema });
export type MetricHistoryEntry = z.infer<typeof metricHistoryEntrySchema>;
