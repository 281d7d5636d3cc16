/**
 * Turns a flag set into closures, so that evaluating a context does no parsing:
 * conditions become predicates (operators.ts), buckets become hash-and-range lookups
 * (bucket.ts), the dependency order is fixed, and each result (a variant with the flag,
 * segment and variant metadata merged) is built and frozen once.
 *
 * Compiling costs more than one evaluation, so it waits until it pays: a flag's first
 * evaluation interprets it straight from its JSON (interpretFlag, with the same matchers,
 * bucketing and outcome code, in as few distinct functions as it can: a fresh isolate
 * compiles each on its first call), a later one compiles it (a bounded number of flags per
 * evaluation: COMPILES_PER_EVALUATION), and results are built on their first serving. A cold isolate, or one that just received a publish, answers its first request at
 * the cost of reading the flags it reaches once, an isolate that serves one request never
 * compiles, and flags whose content did not change across a publish keep their compiled
 * form (CompileOptions.previous).
 *
 * Compiled results are shared between evaluations and frozen: callers may read results,
 * never mutate them.
 */
import { bucketVariantKey, compileBucket, type Bucketer } from "./bucket.js";
import {
  type ExposedVariant,
  exposureOf,
  isDefaultVariant,
  isGroupFlag,
  type Reason,
  reasonFor,
} from "./flag-metadata.js";
import { compileCondition, matchesCondition, type Predicate } from "./operators.js";
import { newRegexBudget, REGEX_BUDGET, REGEX_WORK_PER_EVALUATION } from "./regex-budget.js";
import type {
  EvaluationContext,
  EvaluationFlag,
  EvaluationResults,
  EvaluationSegment,
  EvaluationVariant,
} from "./schema.js";
import { EVALUATION, nextEvaluation, type Target } from "./select.js";
import { topologicalSort } from "./topological-sort.js";

export interface Outcome {
  /** The flag this is the result of. */
  readonly flagKey: string;
  readonly variant: EvaluationVariant;
  readonly reason: Reason;
  /** Set when serving this outcome is an experiment exposure (flagType experiment, not the default). */
  readonly exposure?: ExposedVariant;
}

/**
 * Where an outcome keeps its answer fragment (`"flagKey":{variant JSON}` as UTF-8), made on
 * its first serving: a holder under a symbol, not enumerable, so outcomes still compare
 * equal to each other and stay frozen (served.ts reads and fills it).
 */
export const FRAGMENT: unique symbol = Symbol("answer fragment");
export interface FragmentHolder {
  bytes: Uint8Array | undefined;
}
export const fragmentHolderOf = (outcome: Outcome): FragmentHolder =>
  (outcome as unknown as { [FRAGMENT]: FragmentHolder })[FRAGMENT];

/** What a client is served of an evaluation (see CompiledFlagSet.serve). */
export interface ServeOptions {
  /** Only these flags (and what they depend on, evaluated but not served), in this order. */
  flagKeys?: readonly string[] | undefined;
  /** Serve flags that resolved to their default variant (`off`): the v2 SDK routes do, v1 and the CDN do not. */
  defaults?: boolean;
}

export interface CompiledFlagSet {
  /** The flags as given, in dependency order. */
  readonly flags: readonly EvaluationFlag[];
  /** The flags that pass `CompileOptions.check` (all, without one), as checked: what local-evaluation SDKs get. */
  readonly validFlags: readonly EvaluationFlag[];
  /** The keys clients see: every flag but group flags. */
  readonly visibleKeys: ReadonlySet<string>;
  has(flagKey: string): boolean;
  /** Same inputs and output as `EvaluationEngine.evaluate(context, topologicalSort(flags, flagKeys))`. */
  evaluate(context: EvaluationContext, flagKeys?: readonly string[]): EvaluationResults;
  /** Like `evaluate`, with the reason for each result. */
  evaluateWithReasons(context: EvaluationContext, flagKeys?: readonly string[]): Record<string, Outcome>;
  /**
   * What a client sees: the outcomes of the visible flags (never group flags, nor parents
   * evaluated only as dependencies of the flags asked for) that resolved, default variants
   * left out unless `defaults` (true by default), in the order asked for (else dependency
   * order, which is `visibleKeys`' order). Every route that answers a client goes through
   * this, and it allocates nothing per flag but the list it returns.
   */
  serve(context: EvaluationContext, options?: ServeOptions): Outcome[];
}

const MAX_CACHED_ORDERS = 256;

/**
 * A key list's evaluation order and how its answer is read off it: `answer` holds the
 * positions (in `flags`) of the visible flags asked for, in the order asked for.
 */
interface Plan {
  readonly flags: LazyFlag[];
  readonly answer: readonly number[];
  /**
   * Made on the plan's second `serve`; the first (a cold isolate's first request) writes into
   * fresh objects, as a re-entrant call does, instead of waiting for the walk of every rule
   * that `Scratch.read` takes (0.4 ms of a 50-flag cold start, BENCHMARKS.md).
   */
  scratch: Scratch | undefined;
  served: boolean;
  busy: boolean;
}

/**
 * Space reused by every `serve` of a plan (evaluation is synchronous, so no two use it at
 * once; `Plan.busy` guards against a re-entrant call).
 */
interface Scratch {
  /** Positions whose variant some flag of the plan reads (`["result", key, …]`): only those are written to `result`. */
  readonly read: readonly number[];
  readonly isRead: readonly boolean[];
  readonly result: EvaluationResults;
  readonly outcomes: (Outcome | undefined)[];
  /** The evaluation target `serve` reuses (its context is cleared after each evaluation): two objects fewer each. */
  readonly target: Target;
}

type FlagEvaluator = (target: Target) => Outcome | undefined;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key in value) deepFreeze(value[key]);
  }
  return value;
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
  const groups = conditions.map((group) => group.map((condition) => compileCondition(condition, true)));
  if (groups.length === 1 && groups[0]!.length === 1) return groups[0]![0]!; // the common single rule
  return (target) => groups.some((group) => group.every((predicate) => predicate(target)));
}

/** The flag's variant of that key, if it has one (`variants` is free-form JSON: no inherited keys). */
const variantOf = (flag: EvaluationFlag, variantKey: string): EvaluationVariant | undefined =>
  Object.hasOwn(flag.variants, variantKey) ? flag.variants[variantKey] : undefined;

/**
 * Serving `variant` from `segment`: the variant with the flag, segment and variant metadata
 * merged, why, and the exposure it records. `allocation` gives the segment's shares (asked
 * only for an exposure); without it the exposure is left out (an evaluation that reports
 * only variants).
 */
function buildOutcome(
  flag: EvaluationFlag,
  segment: EvaluationSegment,
  variant: EvaluationVariant,
  allocation: (() => string | undefined) | undefined,
): Outcome {
  const merged = { ...variant, metadata: { ...flag.metadata, ...segment.metadata, ...variant.metadata } };
  const exposure = allocation && exposureOf(flag.key, merged, allocation);
  const outcome = {
    flagKey: flag.key,
    variant: merged,
    reason: reasonFor(flag, segment, variant),
    ...(exposure ? { exposure } : {}),
  };
  const holder: FragmentHolder = { bytes: undefined };
  Object.defineProperty(outcome, FRAGMENT, { value: holder, enumerable: false });
  return outcome;
}

/** Whether any group of conditions holds in full (loops, not callbacks: see matchesCondition). */
function matchesConditions(groups: NonNullable<EvaluationSegment["conditions"]>, target: Target): boolean {
  for (const group of groups) {
    let all = true;
    for (const condition of group)
      if (!matchesCondition(condition, target)) {
        all = false;
        break;
      }
    if (all) return true;
  }
  return false;
}

/**
 * One evaluation of a flag straight from its JSON, compiling nothing that outlives it: what
 * the compiled form answers (the same matchers, bucketing and outcome code; conditions decided
 * by operators.ts matchesCondition), at the cost of a single use. A flag's first evaluations take this path (see LazyFlag).
 */
function interpretFlag(flag: EvaluationFlag, target: Target, withExposure: boolean): Outcome | undefined {
  for (const segment of flag.segments) {
    if (segment.conditions && !matchesConditions(segment.conditions, target)) continue;
    const variantKey = bucketVariantKey(segment.bucket, segment.variant, target);
    const variant = variantKey === undefined ? undefined : variantOf(flag, variantKey);
    if (variant) return buildOutcome(flag, segment, variant, withExposure ? () => allocationOf(segment) : undefined);
  }
  return undefined;
}

function compileFlag(flag: EvaluationFlag): FlagEvaluator {
  const segments = flag.segments.map((segment) => {
    // Each outcome is built the first time it is served, then shared: frozen.
    const outcomes = new Map<string, Outcome | undefined>();
    let allocation: string | undefined | null = null; // computed on the first exposure
    const outcomeOf = (variantKey: string): Outcome | undefined => {
      if (outcomes.has(variantKey)) return outcomes.get(variantKey);
      const variant = variantOf(flag, variantKey);
      let outcome: Outcome | undefined;
      if (variant) {
        const built = buildOutcome(flag, segment, variant, () =>
          allocation === null ? (allocation = allocationOf(segment)) : allocation,
        );
        // The objects made here, and the payload (the rest is strings).
        Object.freeze(built.variant.metadata);
        deepFreeze(built.variant.payload);
        Object.freeze(built.variant);
        if (built.exposure) Object.freeze(built.exposure);
        outcome = Object.freeze(built);
      }
      outcomes.set(variantKey, outcome);
      return outcome;
    };
    // A bucket that names no variant of the flag resolves to undefined: the next segment is tried.
    const bucket: Bucketer<Outcome> = compileBucket(segment.bucket, segment.variant, outcomeOf);
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

export interface CompileOptions {
  /**
   * Checks a flag fully, returning it as clients may trust it, or throwing: used for
   * `validFlags` (what local-evaluation SDKs are sent). Evaluation does not wait for it: a
   * flag whose compilation fails is served as absent (`onInvalid` is told) instead of
   * failing the whole deployment.
   */
  check?: (flag: EvaluationFlag) => EvaluationFlag;
  onInvalid?: (flagKey: string, error: unknown) => void;
  /** Each flag's content hash (from the publisher), to reuse `previous`'s compiled flags that did not change. */
  hashes?: Readonly<Record<string, string>>;
  previous?: CompiledFlagSet;
}

const NEVER: FlagEvaluator = () => undefined;

/**
 * A flag is compiled from its second use on (compiling costs a few interpretations, and
 * every use after it is several times cheaper), at most this many per evaluation: a set of
 * thousands of flags compiles over its first few requests instead of making the second one
 * wait for all of it (the rest are interpreted meanwhile). Measured in BENCHMARKS.md.
 */
const COMPILES_PER_EVALUATION = 1000;

/** One flag's compiled form, made on first use; carried over to the next flag set when its content did not change. */
class LazyFlag {
  // Fields declared, not initialized, and set in the constructor: a field initializer is one
  // more function for a cold isolate to compile.
  declare readonly key: string;
  /** The compiled form, once made: what every evaluation after it runs. */
  declare evaluator: FlagEvaluator | undefined;
  declare private uses: number;
  declare readonly flag: EvaluationFlag;
  declare readonly hash: string | undefined;
  declare private readonly options: CompileOptions;
  constructor(
    flag: EvaluationFlag,
    hash: string | undefined,
    options: CompileOptions,
    /** The same content in the previous flag set: its compiled form, if made, is taken over. */
    unchanged?: LazyFlag,
  ) {
    this.flag = flag;
    this.hash = hash;
    this.options = options;
    this.key = flag.key;
    this.evaluator = unchanged?.evaluator;
    this.uses = 0; // set here, not as a field initializer: that would be one more function to compile cold
  }

  /**
   * An evaluation before the flag is compiled: compiles it first if `mayCompile` and the
   * flag was used before, else interprets it (interpretFlag). See COMPILES_PER_EVALUATION.
   */
  evaluateUncompiled(target: Target, withExposure: boolean, mayCompile: boolean): Outcome | undefined {
    if (mayCompile && this.uses > 0) {
      this.evaluator = this.compile();
      return this.evaluator(target);
    }
    this.uses++;
    try {
      return interpretFlag(this.flag, target, withExposure);
    } catch (error) {
      this.evaluator = this.invalid(error);
      return undefined;
    }
  }

  /** The flag as checked, or undefined if it fails the check. */
  checked(): EvaluationFlag | undefined {
    if (!this.options.check) return this.flag;
    try {
      return this.options.check(this.flag);
    } catch (error) {
      this.options.onInvalid?.(String(this.flag.key), error);
      return undefined;
    }
  }

  private compile(): FlagEvaluator {
    try {
      return compileFlag(this.flag);
    } catch (error) {
      return this.invalid(error);
    }
  }

  /** A flag that cannot be evaluated is served as absent, and said so once. */
  private invalid(error: unknown): FlagEvaluator {
    this.options.onInvalid?.(String(this.flag.key), error);
    return NEVER;
  }
}

/**
 * Which flags of an order some flag of it reads the result of (a selector `["result", key, …]`
 * in a condition or bucket): `serve` writes only those into the evaluation's `result`. A
 * selector of the whole `["result"]` reads every one.
 */
function resultsRead(flags: readonly LazyFlag[], position: ReadonlyMap<string, number>): boolean[] {
  const isRead = new Array<boolean>(flags.length).fill(false);
  const mark = (selector: readonly string[] | undefined) => {
    if (selector?.[0] !== "result") return;
    if (selector.length === 1) isRead.fill(true);
    const index = position.get(selector[1]!);
    if (index !== undefined) isRead[index] = true;
  };
  try {
    for (const { flag } of flags)
      for (const segment of flag.segments ?? []) {
        if (segment.bucket?.selector[0] === "result") mark(segment.bucket.selector);
        for (const group of segment.conditions ?? [])
          for (const condition of group) if (condition.selector[0] === "result") mark(condition.selector);
      }
  } catch {
    // Flags are only checked when first evaluated: one this walk cannot read is served as absent
    // then (LazyFlag); until that is known, every result is written.
    isRead.fill(true);
  }
  return isRead;
}

/** The flags of a set compiled so far, by key, for the next set to reuse (see CompileOptions.previous). */
const lazyFlagsOf = new WeakMap<CompiledFlagSet, ReadonlyMap<string, LazyFlag>>();

export function compile(flags: readonly EvaluationFlag[], options: CompileOptions = {}): CompiledFlagSet {
  const byKey: Record<string, EvaluationFlag> = {};
  for (const flag of flags) byKey[flag.key] = flag; // a later duplicate key wins, as in the SDKs
  const reusable = options.previous && options.hashes ? lazyFlagsOf.get(options.previous) : undefined;
  const lazyFlags = new Map<string, LazyFlag>();
  const lazyFlag = (flag: EvaluationFlag): LazyFlag => {
    let lazy = lazyFlags.get(flag.key);
    if (!lazy) {
      const hash = options.hashes?.[flag.key];
      const before = hash === undefined ? undefined : reusable?.get(flag.key);
      lazy = new LazyFlag(flag, hash, options, before !== undefined && before.hash === hash ? before : undefined);
      lazyFlags.set(flag.key, lazy);
    }
    return lazy;
  };

  // The full dependency order, at once: a cycle fails the whole set here, not a request later.
  // A request naming some flags evaluates only those and their ancestors, in the order the
  // SDKs' topological sort gives for those keys (observable when a rule reads a result it
  // does not declare as a dependency). Orders are cached per key list.
  const ordered = topologicalSort(byKey);
  // Loops rather than array callbacks here and on the first evaluation's path: a cold isolate
  // compiles each function on its first call (see operators.ts matchesCondition).
  const positionsOf = (flags: readonly LazyFlag[]): Map<string, number> => {
    const position = new Map<string, number>();
    for (let i = 0; i < flags.length; i++) position.set(flags[i]!.key, i);
    return position;
  };
  const planOf = (flags: LazyFlag[], flagKeys: readonly string[] | undefined): Plan => {
    const answer: number[] = [];
    if (flagKeys) {
      const position = positionsOf(flags);
      for (const key of new Set(flagKeys)) {
        const index = position.get(key);
        if (index !== undefined && !isGroupFlag(flags[index]!.flag)) answer.push(index);
      }
    } else for (let i = 0; i < flags.length; i++) if (!isGroupFlag(flags[i]!.flag)) answer.push(i);
    return { flags, answer, scratch: undefined, served: false, busy: false };
  };
  const scratchOf = (flags: readonly LazyFlag[]): Scratch => {
    const isRead = resultsRead(flags, positionsOf(flags));
    const read: number[] = [];
    const result: EvaluationResults = {};
    for (let i = 0; i < flags.length; i++)
      if (isRead[i]) {
        read.push(i);
        result[flags[i]!.key] = undefined as never; // one shape for the scratch object
      }
    const target: Target = { context: undefined, result, [REGEX_BUDGET]: newRegexBudget(), [EVALUATION]: 0 };
    const outcomes = new Array<Outcome | undefined>(flags.length).fill(undefined);
    return { read, isRead, result, outcomes, target };
  };
  const lazyFlagsIn = (order: readonly EvaluationFlag[]): LazyFlag[] => {
    const lazy: LazyFlag[] = [];
    for (const flag of order) lazy.push(lazyFlag(flag));
    return lazy;
  };
  let all: Plan | undefined;
  const orders = new Map<string, Plan>();
  const planFor = (flagKeys: readonly string[] | undefined): Plan => {
    if (!flagKeys) return (all ??= planOf(lazyFlagsIn(ordered), undefined));
    const cacheKey = JSON.stringify(flagKeys);
    let plan = orders.get(cacheKey);
    if (!plan) {
      plan = planOf(lazyFlagsIn(topologicalSort(byKey, flagKeys)), flagKeys);
      if (orders.size >= MAX_CACHED_ORDERS) orders.delete(orders.keys().next().value!);
      orders.set(cacheKey, plan);
    }
    return plan;
  };

  /**
   * Evaluates `order` into `result` (variants by key, what dependent flags read) and, when
   * given, `outcomes` (by position in `order`).
   */
  const run = (
    context: EvaluationContext,
    order: readonly LazyFlag[],
    result: EvaluationResults,
    outcomes: (Outcome | undefined)[] | undefined,
    withExposure: boolean,
    isRead?: readonly boolean[],
    scratch?: Target,
  ): void => {
    let target: Target;
    if (scratch === undefined)
      target = { context, result, [REGEX_BUDGET]: newRegexBudget(), [EVALUATION]: nextEvaluation() };
    else {
      target = scratch;
      target.context = context;
      target[REGEX_BUDGET]!.remaining = REGEX_WORK_PER_EVALUATION;
      target[EVALUATION] = nextEvaluation();
    }
    let compiles = COMPILES_PER_EVALUATION;
    for (let i = 0; i < order.length; i++) {
      const lazy = order[i]!;
      let outcome: Outcome | undefined;
      if (lazy.evaluator !== undefined) outcome = lazy.evaluator(target);
      else {
        outcome = lazy.evaluateUncompiled(target, withExposure, compiles > 0);
        if (lazy.evaluator !== undefined) compiles--;
      }
      if (outcomes) outcomes[i] = outcome;
      if (outcome && (isRead === undefined || isRead[i])) result[lazy.key] = outcome.variant;
    }
  };

  const serve = (context: EvaluationContext, { flagKeys, defaults = true }: ServeOptions = {}): Outcome[] => {
    const plan = planFor(flagKeys);
    const scratch = plan.busy ? undefined : (plan.scratch ??= plan.served ? scratchOf(plan.flags) : undefined);
    plan.served = true;
    if (scratch === undefined) {
      const outcomes: (Outcome | undefined)[] = [];
      run(context, plan.flags, {}, outcomes, true);
      return answerOf(plan, outcomes, defaults);
    }
    plan.busy = true;
    try {
      // The scratch result must not show the previous evaluation's variants to this one.
      for (let i = 0; i < scratch.read.length; i++)
        scratch.result[plan.flags[scratch.read[i]!]!.key] = undefined as never;
      run(context, plan.flags, scratch.result, scratch.outcomes, true, scratch.isRead, scratch.target);
      return answerOf(plan, scratch.outcomes, defaults);
    } finally {
      scratch.target.context = undefined; // the user is not kept past the request
      plan.busy = false;
    }
  };
  const answerOf = (plan: Plan, outcomes: readonly (Outcome | undefined)[], defaults: boolean): Outcome[] => {
    const served: Outcome[] = [];
    for (let i = 0; i < plan.answer.length; i++) {
      const outcome = outcomes[plan.answer[i]!];
      if (outcome !== undefined && (defaults || !isDefaultVariant(outcome.variant))) served.push(outcome);
    }
    return served;
  };

  let checkedFlags: readonly EvaluationFlag[] | undefined;
  let visibleKeys: ReadonlySet<string> | undefined;
  const compiled: CompiledFlagSet = {
    get flags() {
      return ordered;
    },
    get validFlags() {
      return (checkedFlags ??= ordered.map((flag) => lazyFlag(flag).checked()).filter((flag) => flag !== undefined));
    },
    get visibleKeys() {
      return (visibleKeys ??= new Set(ordered.filter((flag) => !isGroupFlag(flag)).map((flag) => flag.key)));
    },
    has: (flagKey) => Object.hasOwn(byKey, flagKey),
    evaluate: (context, flagKeys) => {
      const result: EvaluationResults = {};
      run(context, planFor(flagKeys).flags, result, undefined, false);
      return result;
    },
    evaluateWithReasons: (context, flagKeys) => {
      const { flags } = planFor(flagKeys);
      const outcomes: (Outcome | undefined)[] = [];
      run(context, flags, {}, outcomes, true);
      const reasons: Record<string, Outcome> = {};
      for (let i = 0; i < flags.length; i++) if (outcomes[i]) reasons[flags[i]!.key] = outcomes[i]!;
      return reasons;
    },
    serve,
  };
  lazyFlagsOf.set(compiled, lazyFlags);
  return compiled;
}
