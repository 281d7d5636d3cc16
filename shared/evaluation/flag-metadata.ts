/**
 * What the product writes into the evaluation model's free-form metadata, and what it reads
 * back: the engine itself knows flags, contexts and variants; the meaning of `flagType`,
 * `default`, `deployed` and `experimentKey` lives here, in one place, for the authoring
 * compiler that writes them and the engine, edge and reports that read them. The keys and
 * values are Amplitude's, so its SDKs read our flags as they read theirs.
 */
import type { Exposure } from "../events.js";
import type { EvaluationFlag, EvaluationSegment, EvaluationVariant } from "./schema.js";

export const FLAG_TYPES = {
  release: "release",
  experiment: "experiment",
  mutualExclusionGroup: "mutual-exclusion-group",
  holdoutGroup: "holdout-group",
} as const;
export type FlagType = (typeof FLAG_TYPES)[keyof typeof FLAG_TYPES];

/** Flag types of the flags mutual-exclusion groups and holdouts compile to: evaluated, never listed to clients. */
export const GROUP_FLAG_TYPES: ReadonlySet<string> = new Set([
  FLAG_TYPES.mutualExclusionGroup,
  FLAG_TYPES.holdoutGroup,
]);

/** A flag's metadata as the authoring compiler writes it. */
export function flagMetadata(flagType: FlagType, extra: { flagVersion?: number; experimentKey?: string } = {}) {
  return {
    flagType,
    ...(extra.flagVersion === undefined ? {} : { flagVersion: extra.flagVersion }),
    evaluationMode: "remote",
    deployed: true,
    ...(extra.experimentKey === undefined ? {} : { experimentKey: extra.experimentKey }),
  };
}

/**
 * Segment metadata of a release flag's bucketed rollout while a rollout plan's guardrails watch
 * it (0 < rollout < 100, guardrail metrics set): serving it is an exposure on both sides, the
 * variant to units in the rollout and `off` to units held back by it, so the stats service can
 * compare the two (docs/releases.md, "Where the guardrails' data comes from").
 */
export const GUARDED_ROLLOUT = "guardedRollout";
/** The variant a held-back unit's exposure names (the compiled default). */
export const HELD_BACK_VARIANT = "off";

/** The metadata of the variant a flag falls back to (`off`): SDKs and responses leave it out. */
export const DEFAULT_VARIANT_METADATA = { default: true } as const;

/** Metadata is free-form JSON, so `flagType` is only trusted when it is a string. */
export function isGroupFlag(flag: EvaluationFlag): boolean {
  const flagType = flag.metadata?.["flagType"];
  return typeof flagType === "string" && GROUP_FLAG_TYPES.has(flagType);
}

export const isDefaultVariant = (variant: EvaluationVariant): boolean => variant.metadata?.["default"] === true;

/** Why a flag resolved as it did; the OpenFeature (OFREP) reason is derived from it. */
export type Reason = "TARGETING_MATCH" | "SPLIT" | "STATIC" | "DEFAULT" | "DISABLED";

export function reasonFor(flag: EvaluationFlag, segment: EvaluationSegment, variant: EvaluationVariant): Reason {
  if (flag.metadata?.["deployed"] === false) return "DISABLED";
  if (isDefaultVariant(variant)) return "DEFAULT";
  if (segment.conditions) return "TARGETING_MATCH";
  return segment.bucket ? "SPLIT" : "STATIC";
}

/** What serving a variant exposes a unit to: the exposure message's own fields, without the trust mark. */
export type ExposedVariant = Readonly<Omit<Exposure, "untrusted">>;

/**
 * The exposure of serving `variant` (merged metadata) of `flagKey`: an experiment's
 * non-default variant, either side of a guarded rollout (GUARDED_ROLLOUT), else none. `allocation`: the serving segment's shares, or a function
 * giving them (called only for an exposure).
 */
export function exposureOf(
  flagKey: string,
  variant: EvaluationVariant,
  allocation?: string | (() => string | undefined),
): ExposedVariant | undefined {
  const metadata = variant.metadata ?? {};
  if (metadata["flagType"] === FLAG_TYPES.release && metadata[GUARDED_ROLLOUT] === true && variant.key)
    return { flagKey, variant: variant.key };
  if (metadata["flagType"] !== FLAG_TYPES.experiment || isDefaultVariant(variant) || !variant.key) return undefined;
  const experimentKey = metadata["experimentKey"];
  const shares = typeof allocation === "function" ? allocation() : allocation;
  return {
    flagKey,
    variant: variant.key,
    ...(typeof experimentKey === "string" ? { experimentKey } : {}),
    ...(shares ? { allocation: shares } : {}),
  };
}
