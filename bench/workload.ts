/**
 * The benchmark workload: 50 logical flags (releases and experiments with 2–4
 * variants, targeting rules over several operators, dependencies) and 10,000 users,
 * generated from a fixed seed, and expressed both in the Amplitude evaluation model
 * (ours and @amplitude/experiment-core) and as GrowthBook features.
 */
import type { EvaluationFlag, EvaluationSegment } from "../shared/evaluation/index.js";
import { DISTRIBUTION_MAX } from "../shared/evaluation/schema.js";

/** mulberry32: a small seeded PRNG, so every run measures the same workload. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rule =
  | { attribute: "country"; op: "is"; values: string[] }
  | { attribute: "email"; op: "contains"; values: string[] }
  | { attribute: "version"; op: "version greater or equal"; values: string[] }
  | { attribute: "tags"; op: "set contains any"; values: string[] }
  | { attribute: "age"; op: "greater"; values: string[] }
  | { attribute: "plan"; op: "regex match"; values: string[] };

interface LogicalFlag {
  key: string;
  kind: "release" | "experiment";
  variants: string[];
  weights: number[]; // percentages summing to 100
  rollout: number; // percent of users allocated
  bucketBy: "user_id" | "device_id";
  rules: Array<{ rule: Rule; variant: string }>;
  parent?: string;
}

export interface BenchUser {
  user_id: string;
  device_id: string;
  country: string;
  user_properties: { plan: string; email: string; version: string; tags: string[]; age: number };
}

const COUNTRIES = ["US", "DE", "FR", "JP", "BR", "IN", "GB", "CA"];
const PLANS = ["free", "starter", "pro", "enterprise"];
const TAGS = ["beta", "vip", "churn-risk", "mobile", "newsletter", "trial"];

const pick = <T>(random: () => number, list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

function ruleFor(random: () => number): Rule {
  switch (Math.floor(random() * 6)) {
    case 0:
      return { attribute: "country", op: "is", values: [pick(random, COUNTRIES), pick(random, COUNTRIES)] };
    case 1:
      return { attribute: "email", op: "contains", values: ["@example.com"] };
    case 2:
      return { attribute: "version", op: "version greater or equal", values: [`2.${Math.floor(random() * 10)}.0`] };
    case 3:
      return { attribute: "tags", op: "set contains any", values: [pick(random, TAGS), pick(random, TAGS)] };
    case 4:
      return { attribute: "age", op: "greater", values: [String(18 + Math.floor(random() * 40))] };
    default:
      return { attribute: "plan", op: "regex match", values: ["^(pro|enterprise)$"] };
  }
}

function logicalFlags(random: () => number, count: number): LogicalFlag[] {
  const flags: LogicalFlag[] = [];
  for (let i = 0; i < count; i++) {
    const experiment = i % 2 === 1;
    const variantCount = experiment ? 2 + Math.floor(random() * 3) : 1;
    const variants = experiment
      ? ["control", "treatment", "treatment-b", "treatment-c"].slice(0, variantCount)
      : ["on"];
    const base = Math.floor(100 / variantCount);
    const weights = variants.map((_, v) => (v === 0 ? 100 - base * (variantCount - 1) : base));
    const rules = Array.from({ length: Math.floor(random() * 3) }, () => ({
      rule: ruleFor(random),
      variant: variants[variants.length - 1]!,
    }));
    // The last fifth depend on a release among the first 40% (at 50 flags: the last ten on one of the first 40).
    const parent =
      i >= Math.round(count * 0.8) ? flags[Math.floor(random() * Math.round(count * 0.4)) * 2]!.key : undefined;
    flags.push({
      key: `${experiment ? "exp" : "flag"}-${i}`,
      kind: experiment ? "experiment" : "release",
      variants,
      weights,
      rollout: [10, 25, 50, 100][Math.floor(random() * 4)]!,
      bucketBy: random() < 0.7 ? "user_id" : "device_id",
      rules,
      ...(parent ? { parent } : {}),
    });
  }
  return flags;
}

const selectorOf = (attribute: Rule["attribute"]): string[] =>
  attribute === "country" ? ["context", "user", "country"] : ["context", "user", "user_properties", attribute];

function toAmplitude(flag: LogicalFlag): EvaluationFlag {
  const OFF = { key: "off", metadata: { default: true } };
  const variants = Object.fromEntries([
    ["off", OFF],
    ...flag.variants.map((key) => [key, { key, value: key, payload: { variant: key } }]),
  ]);
  const segments: EvaluationSegment[] = [];
  if (flag.parent) {
    segments.push({
      metadata: { segmentName: "Prerequisite not met" },
      conditions: [[{ selector: ["result", flag.parent, "key"], op: "is not", values: ["on"] }]],
      variant: "off",
    });
  }
  flag.rules.forEach(({ rule, variant }, index) => {
    segments.push({
      metadata: { segmentName: `rule ${index}: ${rule.attribute}` },
      conditions: [[{ selector: selectorOf(rule.attribute), op: rule.op, values: rule.values }]],
      variant,
    });
  });
  let start = 0;
  const distributions = flag.variants.map((variant, v) => {
    const end =
      v === flag.variants.length - 1
        ? DISTRIBUTION_MAX
        : start + Math.floor((flag.weights[v]! / 100) * DISTRIBUTION_MAX);
    const distribution = { variant, range: [start, end] as [number, number] };
    start = end;
    return distribution;
  });
  segments.push({
    metadata: { segmentName: "All Other Users" },
    bucket: {
      selector: ["context", "user", flag.bucketBy],
      salt: `salt-${flag.key}`,
      allocations: [{ range: [0, flag.rollout], distributions }],
    },
    variant: "off",
  });
  return {
    key: flag.key,
    metadata: {
      flagType: flag.kind,
      flagVersion: 1,
      ...(flag.kind === "experiment" ? { experimentKey: `x-${flag.key}` } : {}),
    },
    variants,
    segments,
    ...(flag.parent ? { dependencies: [flag.parent] } : {}),
  };
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The same rule as a GrowthBook (MongoDB-style) condition. */
function growthBookCondition(rule: Rule): Record<string, unknown> {
  switch (rule.op) {
    case "is":
      return { [rule.attribute]: { $in: rule.values } };
    case "contains":
      return { [rule.attribute]: { $regexi: escapeRegex(rule.values[0]!) } };
    case "version greater or equal":
      return { [rule.attribute]: { $vgte: rule.values[0] } };
    case "set contains any":
      return { [rule.attribute]: { $in: rule.values } };
    case "greater":
      return { [rule.attribute]: { $gt: Number(rule.values[0]) } };
    default:
      return { [rule.attribute]: { $regex: rule.values[0] } };
  }
}

function toGrowthBook(flag: LogicalFlag): Record<string, unknown> {
  const hashAttribute = flag.bucketBy === "user_id" ? "id" : "deviceId";
  const rules: Record<string, unknown>[] = [];
  const parentConditions = flag.parent ? [{ id: flag.parent, condition: { value: "on" } }] : undefined;
  for (const { rule, variant } of flag.rules)
    rules.push({
      condition: growthBookCondition(rule),
      force: variant,
      ...(parentConditions ? { parentConditions } : {}),
    });
  if (flag.kind === "experiment") {
    rules.push({
      key: `x-${flag.key}`,
      variations: flag.variants,
      weights: flag.weights.map((w) => w / 100),
      coverage: flag.rollout / 100,
      hashAttribute,
      seed: `salt-${flag.key}`,
      hashVersion: 2,
      ...(parentConditions ? { parentConditions } : {}),
    });
  } else {
    rules.push({
      force: "on",
      coverage: flag.rollout / 100,
      hashAttribute,
      seed: `salt-${flag.key}`,
      hashVersion: 2,
      ...(parentConditions ? { parentConditions } : {}),
    });
  }
  return { defaultValue: "off", rules };
}

/** One logical rule as LaunchDarkly rules (`version greater or equal` is two: greater, or equal). */
function launchDarklyRules(rule: Rule): Array<Array<Record<string, unknown>>> {
  const clause = (op: string, values: unknown[]) => [{ attribute: rule.attribute, op, values, negate: false }];
  switch (rule.op) {
    case "is":
    case "set contains any":
      return [clause("in", rule.values)];
    case "contains":
      return [clause("contains", rule.values)];
    case "version greater or equal":
      return [clause("semVerGreaterThan", rule.values), clause("semVerEqual", rule.values)];
    case "greater":
      return [clause("greaterThan", rule.values.map(Number))];
    default:
      return [clause("matches", rule.values)];
  }
}

/**
 * The same flag in LaunchDarkly's data model (what its Cloudflare SDK reads from KV): variation 0
 * is "off", the rules in order, a rollout as the fallthrough (weights out of 100,000), the parent
 * as a prerequisite. `ruleOf[i]` is the logical rule LaunchDarkly's rule `i` came from.
 */
function toLaunchDarkly(flag: LogicalFlag): { flag: Record<string, unknown>; ruleOf: number[] } {
  const variations = ["off", ...flag.variants];
  const rules: Array<Record<string, unknown>> = [];
  const ruleOf: number[] = [];
  flag.rules.forEach(({ rule, variant }, index) => {
    for (const clauses of launchDarklyRules(rule)) {
      rules.push({ id: `${flag.key}-r${rules.length}`, clauses, variation: variations.indexOf(variant) });
      ruleOf.push(index);
    }
  });
  const on = flag.variants.map((_, v) => Math.round(flag.weights[v]! * flag.rollout * 10));
  const weights = [100_000 - on.reduce((a, b) => a + b, 0), ...on];
  return {
    flag: {
      key: flag.key,
      version: 1,
      on: true,
      variations,
      offVariation: 0,
      fallthrough: {
        rollout: {
          variations: weights.map((weight, variation) => ({ variation, weight })),
          bucketBy: flag.bucketBy === "user_id" ? "key" : "deviceId",
        },
      },
      rules,
      targets: [],
      contextTargets: [],
      prerequisites: flag.parent ? [{ key: flag.parent, variation: 1 }] : [],
      salt: `salt-${flag.key}`,
      trackEvents: false,
      trackEventsFallthrough: false,
      clientSide: true,
      deleted: false,
    },
    ruleOf,
  };
}

/** A user as a LaunchDarkly context. */
export const launchDarklyContext = (user: BenchUser) => ({
  kind: "user",
  key: user.user_id,
  deviceId: user.device_id,
  country: user.country,
  ...user.user_properties,
});

function users(random: () => number, count: number): BenchUser[] {
  return Array.from({ length: count }, (_, i) => ({
    user_id: `user-${i}-${Math.floor(random() * 1e9).toString(36)}`,
    device_id: `device-${Math.floor(random() * 1e12).toString(36)}-${i}`,
    country: pick(random, COUNTRIES),
    user_properties: {
      plan: pick(random, PLANS),
      email: random() < 0.3 ? `u${i}@example.com` : `u${i}@mail.test`,
      version: `${1 + Math.floor(random() * 3)}.${Math.floor(random() * 12)}.${Math.floor(random() * 5)}`,
      tags: TAGS.filter(() => random() < 0.25),
      age: 16 + Math.floor(random() * 60),
    },
  }));
}

export interface Workload {
  flags: EvaluationFlag[];
  growthBookFeatures: Record<string, Record<string, unknown>>;
  /** LaunchDarkly's flag data (KV value `{flags, segments}`), and per flag which logical rule each of its rules is. */
  launchDarkly: {
    data: { flags: Record<string, unknown>; segments: Record<string, never> };
    ruleOf: Record<string, number[]>;
  };
  users: BenchUser[];
}

export function createWorkload(userCount = 10_000, seed = 42, flagCount = 50): Workload {
  const random = prng(seed);
  const logical = logicalFlags(random, flagCount);
  return {
    flags: logical.map(toAmplitude),
    growthBookFeatures: Object.fromEntries(logical.map((flag) => [flag.key, toGrowthBook(flag)])),
    launchDarkly: {
      data: { flags: Object.fromEntries(logical.map((flag) => [flag.key, toLaunchDarkly(flag).flag])), segments: {} },
      ruleOf: Object.fromEntries(logical.map((flag) => [flag.key, toLaunchDarkly(flag).ruleOf])),
    },
    users: users(random, userCount),
  };
}

/** A deployment document of `flags`, as the publisher writes it to KV (the fields benches vary, as options). */
export function benchDocument(
  flags: EvaluationFlag[],
  {
    keyType = "server",
    version = 1,
    trackExposures = true,
    contentHash,
    flagHashes,
  }: {
    keyType?: "client" | "server";
    version?: number;
    trackExposures?: boolean;
    contentHash?: string;
    flagHashes?: Record<string, string>;
  } = {},
): string {
  return JSON.stringify({
    schemaVersion: 1,
    deployment: "bench",
    keyType,
    version,
    ...(contentHash ? { contentHash } : {}),
    publishedAt: new Date().toISOString(),
    trackExposures,
    flags,
    ...(flagHashes ? { flagHashes } : {}),
  });
}

/** GrowthBook's flat attributes for a user. */
export const growthBookAttributes = (user: BenchUser) => ({
  id: user.user_id,
  deviceId: user.device_id,
  country: user.country,
  ...user.user_properties,
});
