/**
 * Turns a flag set into closures once, so that evaluating a context does no parsing:
 * conditions become predicates (operators.ts), buckets become hash-and-range lookups
 * (bucket.ts), the dependency order is fixed, and every possible result (a variant
 * with the flag, segment and variant metadata merged) is built and frozen up front.
 *
 * Results are shared between evaluations and frozen: callers may read them, never
 * mutate them.
 */
import { compileBucket, type Bucketer } from "./bucket.js";
import { compileCondition, type Predicate } from "./operators.js";
import type { EvaluationContext, EvaluationFlag, EvaluationResults, EvaluationSegment, EvaluationVariant } from "./schema.js";
import type { Target } from "./select.js";
import { topologicalSort } from "./topological-sort.js";

/** Why a flag resolved as it did; the OpenFeature (OFREP) reason is derived from it. */
export type Reason = "TARGETING_MATCH" | "SPLIT" | "STATIC" | "DEFAULT" | "DISABLED";

/** What serving an outcome exposes: an experiment's non-default variant. */
export interface ExposedVariant {
  readonly flagKey: string;
  readonly variant: string;
  readonly experimentKey?: string;
  /** The shares of the segment that served it (`control=90,treatment=10`): the sample-ratio check's expectation. */
  readonly allocation?: string;
}

export interface Outcome {
  readonly variant: EvaluationVariant;
  readonly reason: Reason;
  /** Set when serving this outcome is an experiment exposure (flagType experiment, not the default). */
  readonly exposure?: ExposedVariant;
  /** `JSON.stringify(variant)`, done once at compile time for responses built by concatenation. */
  readonly json: string;
}

/** Flag types of the flags mutual-exclusion groups and holdouts compile to: evaluated, never listed to clients. */
export const GROUP_FLAG_TYPES: ReadonlySet<string> = new Set(["mutual-exclusion-group", "holdout-group"]);

/** Metadata is free-form JSON, so `flagType` is only trusted when it is a string. */
function isGroupFlag(flag: EvaluationFlag): boolean {
  const flagType = flag.metadata?.["flagType"];
  return typeof flagType === "string" && GROUP_FLAG_TYPES.has(flagType);
}

export interface CompiledFlagSet {
  /** The flags as given, in dependency order. */
  readonly flags: readonly EvaluationFlag[];
  /** The keys clients see: every flag but group flags. */
  readonly visibleKeys: ReadonlySet<string>;
  has(flagKey: string): boolean;
  /** Same inputs and output as `EvaluationEngine.evaluate(context, topologicalSort(flags, flagKeys))`. */
  evaluate(context: EvaluationContext, flagKeys?: readonly string[]): EvaluationResults;
  /** Like `evaluate`, with the reason for each result. */
  evaluateWithReasons(context: EvaluationContext, flagKeys?: readonly string[]): Record<string, Outcome>;
}

const MAX_CACHED_ORDERS = 256;

type FlagEvaluator = (target: Target) => Outcome | undefined;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function reasonFor(flag: EvaluationFlag, segment: EvaluationSegment, variant: EvaluationVariant): Reason {
  if (flag.metadata?.["deployed"] === false) return "DISABLED";
  if (variant.metadata?.["default"] === true) return "DEFAULT";
  if (segment.conditions) return "TARGETING_MATCH";
  return segment.bucket ? "SPLIT" : "STATIC";
}

export function exposureOf(flagKey: string, variant: EvaluationVariant, allocation?: string): ExposedVariant | undefined {
  const metadata = variant.metadata ?? {};
  if (metadata["flagType"] !== "experiment" || metadata["default"] === true || !variant.key) return undefined;
  const experimentKey = metadata["experimentKey"];
  return { flagKey, variant: variant.key, ...(typeof experimentKey === "string" ? { experimentKey } : {}), ...(allocation ? { allocation } : {}) };
}

/**
 * The shares a segment assigns its variants, in percent (`control=90,treatment=10`): each
 * allocation's distribution widths, weighted by the allocation's range. A segment without
 * a bucket serves its one variant to everyone it matches.
 */
export function allocationOf(segment: EvaluationSegment): string | undefined {
  if (!segment.bucket) return segment.variant ? `${segment.variant}=100` : undefined;
  const shares = new Map<string, number>();
  let total = 0;
  for (const allocation of segment.bucket.allocations) {
    const width = Math.max(0, allocation.range[1] - allocation.range[0]);
    const distributed = allocation.distributions.reduce((sum, d) => sum + Math.max(0, d.range[1] - d.range[0]), 0);
    if (width === 0 || distributed === 0) continue;
    for (const d of allocation.distributions) {
      const share = (width * Math.max(0, d.range[1] - d.range[0])) / distributed;
      shares.set(d.variant, (shares.get(d.variant) ?? 0) + share);
      total += share;
    }
  }
  if (total === 0) return undefined;
  return [...shares].map(([variant, share]) => `${variant}=${Math.round((share / total) * 1e4) / 100}`).join(",");
}

function compileConditions(conditions: EvaluationSegment["conditions"]): Predicate | undefined {
  if (!conditions) return undefined;
  // Outer list: any group matches; inner list: every condition matches.
  const groups = conditions.map((group) => group.map(compileCondition));
  if (groups.length === 1 && groups[0]!.length === 1) return groups[0]![0]!; // the common single rule
  return (target) => groups.some((group) => group.every((predicate) => predicate(target)));
}

function compileFlag(flag: EvaluationFlag): FlagEvaluator {
  const segments = flag.segments.map((segment) => {
    const outcomes = new Map<string, Outcome>();
    const allocation = allocationOf(segment);
    for (const [variantKey, variant] of Object.entries(flag.variants)) {
      const merged = { ...variant, metadata: { ...flag.metadata, ...segment.metadata, ...variant.metadata } };
      const exposure = exposureOf(flag.key, merged, allocation);
      outcomes.set(variantKey, deepFreeze({ variant: merged, reason: reasonFor(flag, segment, variant), json: JSON.stringify(merged), ...(exposure ? { exposure } : {}) }));
    }
    // A bucket that names no variant of the flag resolves to undefined: the next segment is tried.
    const bucket: Bucketer<Outcome> = compileBucket(segment.bucket, segment.variant, (key) => outcomes.get(key));
    return { matches: compileConditions(segment.conditions), bucket };
  });
  return (target) => {
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      if (segment.matches !== undefined && !segment.matches(target)) continue;
      const outcome = segment.bucket(target);
      if (outcome !== undefined) return outcome;
    }
    return undefined;
  };
}

export function compile(flags: readonly EvaluationFlag[]): CompiledFlagSet {
  const byKey: Record<string, EvaluationFlag> = {};
  for (const flag of flags) byKey[flag.key] = flag; // a later duplicate key wins, as in the SDKs
  const ordered = topologicalSort(byKey);
  const position = new Map(ordered.map((flag, index) => [flag.key, index]));
  const evaluators = ordered.map(compileFlag);
  const keys = ordered.map((flag) => flag.key);

  // A request naming some flags evaluates them with their ancestors, in the order the
  // SDKs' topological sort gives for those keys (observable when a rule reads a result it
  // does not declare as a dependency). Orders are cached per key list.
  const allIndexes = ordered.map((_, index) => index);
  const orders = new Map<string, number[]>();
  const orderFor = (flagKeys: readonly string[] | undefined): number[] => {
    if (!flagKeys) return allIndexes;
    const cacheKey = JSON.stringify(flagKeys);
    let order = orders.get(cacheKey);
    if (!order) {
      order = topologicalSort(byKey, flagKeys).map((flag) => position.get(flag.key)!);
      if (orders.size >= MAX_CACHED_ORDERS) orders.delete(orders.keys().next().value!);
      orders.set(cacheKey, order);
    }
    return order;
  };

  const run = (
    context: EvaluationContext,
    flagKeys: readonly string[] | undefined,
    reasons: Record<string, Outcome> | undefined,
  ): EvaluationResults => {
    const result: EvaluationResults = {};
    const target: Target = { context, result };
    for (const i of orderFor(flagKeys)) {
      const outcome = evaluators[i]!(target);
      if (!outcome) continue;
      result[keys[i]!] = outcome.variant;
      if (reasons) reasons[keys[i]!] = outcome;
    }
    return result;
  };

  return {
    flags: ordered,
    visibleKeys: new Set(ordered.filter((flag) => !isGroupFlag(flag)).map((flag) => flag.key)),
    has: (flagKey) => position.has(flagKey),
    evaluate: (context, flagKeys) => run(context, flagKeys, undefined),
    evaluateWithReasons: (context, flagKeys) => {
      const reasons: Record<string, Outcome> = {};
      run(context, flagKeys, reasons);
      return reasons;
    },
  };
}
