/**
 * The evaluation model: the public flag-config format that Amplitude's SDKs download
 * and evaluate (see docs/evaluation-model.md). These zod schemas are the single
 * source of the types and of the validation applied whenever a flag set enters the
 * edge or leaves the compiler.
 *
 * Objects are loose (unknown keys kept) because SDKs copy a variant's own fields
 * into the result as they are; dropping an unknown field would break parity.
 */
import * as z from "zod";

export const DISTRIBUTION_MAX = 42_949_673; // exclusive end of the distribution range: floor(2^32 / 100) + 1

const jsonRecord = z.record(z.string(), z.unknown());

export const evaluationVariantSchema = z.looseObject({
  key: z.string().optional(),
  value: z.unknown().optional(),
  payload: z.unknown().optional(),
  metadata: jsonRecord.optional(),
});

export const evaluationConditionSchema = z.looseObject({
  selector: z.array(z.string()),
  op: z.string(),
  values: z.array(z.string()),
});

const rangeSchema = z.tuple([z.number(), z.number()]);

export const evaluationDistributionSchema = z.looseObject({
  variant: z.string(),
  range: rangeSchema,
});

export const evaluationAllocationSchema = z.looseObject({
  range: rangeSchema,
  distributions: z.array(evaluationDistributionSchema),
});

export const evaluationBucketSchema = z.looseObject({
  selector: z.array(z.string()),
  salt: z.string(),
  allocations: z.array(evaluationAllocationSchema),
});

export const evaluationSegmentSchema = z.looseObject({
  bucket: evaluationBucketSchema.optional(),
  conditions: z.array(z.array(evaluationConditionSchema)).optional(),
  variant: z.string().optional(),
  metadata: jsonRecord.optional(),
});

export const evaluationFlagSchema = z.looseObject({
  key: z.string(),
  variants: z.record(z.string(), evaluationVariantSchema),
  segments: z.array(evaluationSegmentSchema),
  dependencies: z.array(z.string()).optional(),
  metadata: jsonRecord.optional(),
});

export const evaluationFlagsSchema = z.array(evaluationFlagSchema);

export type EvaluationVariant = z.infer<typeof evaluationVariantSchema>;
export type EvaluationCondition = z.infer<typeof evaluationConditionSchema>;
export type EvaluationBucket = z.infer<typeof evaluationBucketSchema>;
export type EvaluationSegment = z.infer<typeof evaluationSegmentSchema>;
export type EvaluationFlag = z.infer<typeof evaluationFlagSchema>;

/** What a condition's selector reads: `["context", …]` or `["result", flagKey, …]`. */
export type EvaluationContext = Record<string, unknown>;
export type EvaluationResults = Record<string, EvaluationVariant>;
