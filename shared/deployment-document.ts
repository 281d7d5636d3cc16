/**
 * The document the control plane publishes to KV and the edge reads: one per API key
 * (a deployment has a client key and a server key), holding the deployment's compiled
 * flag set in the evaluation model and a version that only grows.
 */
import * as z from "zod"; // namespace import: lets the bundler drop the unused parts of zod
import { evaluationFlagsSchema } from "./evaluation/schema.js";

export const KEY_TYPES = ["client", "server"] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export const deploymentDocumentSchema = z.object({
  schemaVersion: z.literal(1),
  /** The project the deployment belongs to: exposures and events carry it to the stats service. */
  project: z.string().min(1).optional(),
  deployment: z.string().min(1),
  keyType: z.enum(KEY_TYPES),
  version: z.number().int().nonnegative(),
  /** Of the keys and compiled flags: a document with the same version but other content is still new. */
  contentHash: z.string().optional(),
  publishedAt: z.string(),
  /** Send an exposure when remote evaluation serves an experiment variant, unless the request opts out. */
  trackExposures: z.boolean().default(true),
  flags: evaluationFlagsSchema,
});
export type DeploymentDocument = z.infer<typeof deploymentDocumentSchema>;

/** API keys are opaque tokens; this bounds what may reach a KV lookup. */
export const API_KEY_PATTERN = /^[A-Za-z0-9_-]{8,128}$/;

export const kvNameForApiKey = (apiKey: string): string => `apikey:${apiKey}`;
