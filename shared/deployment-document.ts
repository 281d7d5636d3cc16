/**
 * The document the control plane publishes to KV and the edge reads: one per API key
 * (a deployment has a client key and a server key), holding the deployment's compiled
 * flag set in the evaluation model and a version that only grows.
 */
import * as z from "zod";
import { evaluationFlagsSchema, type EvaluationFlag } from "./evaluation/schema.js";
import { isRecord } from "./is-record.js";

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
  /** Each flag's content hash by key: an isolate keeps the compiled form of flags a publish did not change. */
  flagHashes: z.record(z.string(), z.string()).optional(),
  /** The project's own breakdown properties: user properties the edge keeps with each exposure, beyond the built-in. */
  breakdownProperties: z.array(z.string()).optional(),
});
export type DeploymentDocument = z.infer<typeof deploymentDocumentSchema>;

/** The document as an isolate first reads it: flags checked only for what ordering them needs. */
export type DeploymentEnvelope = Omit<DeploymentDocument, "flags"> & { flags: EvaluationFlag[] };

const optionalString = (value: unknown) => value === undefined || typeof value === "string";

/** An array of strings, by a loop: a cold isolate compiles every callback it first calls. */
function isStringList(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  for (const element of value) if (typeof element !== "string") return false;
  return true;
}

/**
 * Checks a parsed document as `deploymentDocumentSchema` does, except inside the flags (only
 * a string key and string dependencies, what ordering them needs; each flag's compilation
 * guards the rest). Hand-written for the cold start: zod's first parse in a fresh isolate
 * costs 2–4 ms, as much as loading a 50-flag deployment, and a z.object over the flags copies
 * each of them. `edge/src/deployment-loader.test.ts` holds it to the schema (property-based).
 */
export function readEnvelope(raw: unknown): DeploymentEnvelope {
  const fail = (problem: string): never => {
    throw new Error(`Invalid deployment document: ${problem}`);
  };
  if (!isRecord(raw)) return fail("not an object");
  const {
    schemaVersion,
    project,
    deployment,
    keyType,
    version,
    contentHash,
    publishedAt,
    trackExposures,
    flags,
    flagHashes,
    breakdownProperties,
  } = raw;
  if (schemaVersion !== 1) fail("schemaVersion must be 1");
  if (!optionalString(project) || project === "") fail("project must be a non-empty string");
  if (typeof deployment !== "string" || deployment === "") fail("deployment must be a non-empty string");
  if (!KEY_TYPES.includes(keyType as KeyType)) fail("keyType must be client or server");
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 0)
    fail("version must be a non-negative integer");
  if (!optionalString(contentHash)) fail("contentHash must be a string");
  if (typeof publishedAt !== "string") fail("publishedAt must be a string");
  if (trackExposures !== undefined && typeof trackExposures !== "boolean") fail("trackExposures must be a boolean");
  if (!Array.isArray(flags)) return fail("flags must be an array");
  for (const flag of flags) {
    const ok =
      isRecord(flag) &&
      typeof flag["key"] === "string" &&
      (flag["dependencies"] === undefined || isStringList(flag["dependencies"]));
    if (!ok) fail("each flag needs a string key and, if any, string dependencies");
  }
  if (
    flagHashes !== undefined &&
    !(isRecord(flagHashes) && Object.values(flagHashes).every((h) => typeof h === "string"))
  )
    fail("flagHashes must map keys to strings");
  if (breakdownProperties !== undefined && !isStringList(breakdownProperties))
    fail("breakdownProperties must be an array of strings");
  return {
    ...(raw as Omit<DeploymentEnvelope, "trackExposures">),
    trackExposures: trackExposures ?? true,
  } as DeploymentEnvelope;
}

/** API keys are opaque tokens; this bounds what may reach a KV lookup. */
export const API_KEY_PATTERN = /^[A-Za-z0-9_-]{8,128}$/;

export const kvNameForApiKey = (apiKey: string): string => `apikey:${apiKey}`;
