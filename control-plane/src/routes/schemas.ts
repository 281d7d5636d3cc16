/** Response and parameter schemas of the control-plane API (requests reuse the authoring schemas). */
import type { Context } from "hono";
import * as z from "zod";
import { flagSchema, groupSchema, keySchema } from "../../../shared/authoring/schema.js";
import { tokenRecordSchema } from "../../../shared/admin-token-record.js";
import {
  deploymentRecordSchema,
  historyEntrySchema,
  projectSchema,
  publishStateSchema,
  storedGroupSchema,
} from "../db/records.js";
import { ApiError } from "../../../shared/http/errors.js";

export const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

/** A deployment as answered: its record (the server key hidden from viewers) and its replication state. */
export const deploymentSchema = deploymentRecordSchema.partial({ serverKey: true, retiredKeys: true }).extend({
  publish: publishStateSchema.partial().required({ status: true }),
});

export const tokenSchema = tokenRecordSchema;

export { historyEntrySchema, projectSchema, publishStateSchema, storedGroupSchema };

/** One flag's answer for a user in "try a user", with why. */
export const evaluationExplainedSchema = z.object({
  variant: z.string().nullable(),
  value: z.unknown().optional(),
  payload: z.unknown().optional(),
  reason: z.string().describe("TARGETING_MATCH, SPLIT, STATIC, DEFAULT or DISABLED (OpenFeature's reasons)"),
  segment: z.string().nullable().describe("The segment that decided, by name"),
  exposure: z.boolean().describe("Whether serving it records an experiment exposure"),
});

/** The API's answers, as types (clients such as the console use these). */
export type ProjectView = z.infer<typeof projectSchema>;
export type DeploymentView = z.infer<typeof deploymentSchema>;
export type HistoryEntryView = z.infer<typeof historyEntrySchema>;
export type TokenView = z.infer<typeof tokenSchema>;
export type GroupView = z.infer<typeof storedGroupSchema>;
export type EvaluationExplained = z.infer<typeof evaluationExplainedSchema>;

export { flagSchema, groupSchema };

export const projectParams = z.object({ project: keySchema });
export const deploymentParams = projectParams.extend({ deployment: keySchema });
export const flagParams = projectParams.extend({ flag: keySchema });

/** A deletion that cannot be undone names what it deletes once more. */
export const confirmQuery = z.object({
  confirm: z.string().max(200).optional().describe("The key of what is deleted, again"),
});

/** The version a write is conditional on, when not sent as If-Match. */
export const versionField = z.object({ version: z.number().int().positive().optional() });

/** The version the caller read: `If-Match: "3"` (weak or strong), or a `version` field; 428 without either. */
export function expectedVersion(c: Context, fromBody: number | undefined): number {
  const header = c.req.header("if-match");
  if (header) {
    const match = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(header);
    if (!match) throw new ApiError({ status: 400, message: `If-Match must be the ETag you read, like "3"` });
    return Number(match[1]);
  }
  if (fromBody !== undefined) return fromBody;
  throw new ApiError({
    status: 428,
    message: "Send the version you read, as If-Match or a version field, so a concurrent change is not overwritten",
  });
}

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
/** A JSON request body, with an example for the docs. */
export const body = <T extends z.ZodType>(schema: T, example: unknown) => ({
  body: { required: true, content: { "application/json": { schema, example } } },
});

/** Examples shown in the API docs (GET /docs). */
export const EXAMPLES = {
  project: { key: "shop", name: "Shop" },
  deployment: { key: "web", name: "Website" },
  experiment: {
    key: "checkout-redesign",
    name: "Checkout redesign",
    type: "experiment",
    variants: [{ key: "control" }, { key: "treatment", payload: { layout: "one-page" } }],
    deployments: ["web"],
    segments: [{ name: "Beta users", conditions: [{ property: "plan", op: "is", values: ["beta"] }], rollout: 100 }],
    primaryMetric: { key: "purchase", type: "unique_conversions", eventType: "purchase_completed" },
    minimumDetectableEffect: 0.05,
  },
  group: { kind: "holdout", percentage: 5, description: "Global holdout", version: 1 },
  token: { name: "CI", role: "editor", project: "shop" },
};

export const errors = {
  400: json(errorSchema, "Invalid request (the zod path says where)"),
  401: json(errorSchema, "Missing or unknown admin token"),
  403: json(errorSchema, "The token's role or project does not allow this"),
  404: json(errorSchema, "Not found"),
};
export const writeErrors = {
  ...errors,
  409: json(
    errorSchema,
    "Changed since the version you read (current version in details), or not allowed in this state",
  ),
  428: json(errorSchema, "Send the version you read: If-Match header or `version` field"),
};
