/**
 * fast-check generators of evaluation-model flag sets and contexts for the parity
 * tests: every operator, dependencies, several segments and allocations, and values
 * chosen to land on the interesting edges (missing values, numbers as strings,
 * booleans in any case, versions, JSON-array strings, unicode).
 */
import fc from "fast-check";
import { OPERATORS } from "./operators.js";
import { DISTRIBUTION_MAX, type EvaluationFlag } from "./schema.js";

const FLAG_KEYS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "10", "2"];
const VARIANT_KEYS = ["on", "off", "control", "treatment", "a", "b"];

const PROPERTY_PATHS = [
  ["context", "user", "user_id"],
  ["context", "user", "device_id"],
  ["context", "user", "country"],
  ["context", "user", "user_properties", "plan"],
  ["context", "user", "user_properties", "age"],
  ["context", "user", "user_properties", "version"],
  ["context", "user", "user_properties", "tags"],
  ["context", "user", "user_properties", "flag"],
  ["context", "user", "user_properties", "nested"],
  ["context", "groups", "org", "group_name"],
  ["context", "groups", "org", "group_properties", "tier"],
  ["context", "user", "missing"],
  ["context", "", "user_id"],
];

export const FILTER_VALUES = [
  "(none)",
  "free",
  "pro",
  "Pro",
  "enterprise",
  "true",
  "TRUE",
  "false",
  "False",
  "0",
  "1",
  "18",
  "18.5",
  "-3",
  "1e3",
  "",
  "1.2.3",
  "1.2",
  "1.10.0",
  "2.0.0-beta",
  "2.0.0-alpha.1",
  "10.0",
  "a",
  "é",
  "用户",
  "🙂",
  "user-1",
  "org-1",
  "^user-\\d+$",
  "o",
  '["x","y"]',
  "x",
  "y",
  "z",
  "null",
  "[object Object]",
  '{"a":1}',
];

const PROPERTY_VALUES: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...FILTER_VALUES),
  fc.constantFrom(null, true, false, 0, 1, 18, 18.5, -3, 1e21, NaN),
  fc.array(fc.oneof(fc.constantFrom(...FILTER_VALUES), fc.constantFrom(1, null, true, "PRO")), { maxLength: 4 }),
  fc.constantFrom('["x","z"]', "[1,2]", "[broken", "[]", { a: 1 }, { a: [1, 2] }, [["x"]]),
  fc.string({ unit: "binary", maxLength: 6 }),
);

const isValidRegex = (pattern: string): boolean => {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
};

export const hasValidRegexes = (condition: { op: string; values: string[] }) =>
  !condition.op.startsWith("regex") || condition.values.every(isValidRegex);

// Invalid regexes make the reference engine throw; they have hand-written tests instead.
export const conditionArb = (dependencyKeys: string[]) =>
  fc
    .record({
      selector: dependencyKeys.length
        ? fc.oneof(
            { weight: 4, arbitrary: fc.constantFrom(...PROPERTY_PATHS) },
            { weight: 1, arbitrary: fc.constantFrom(...dependencyKeys).map((key) => ["result", key, "key"]) },
          )
        : fc.constantFrom(...PROPERTY_PATHS),
      op: fc.oneof(
        { weight: 20, arbitrary: fc.constantFrom(...OPERATORS) },
        { weight: 1, arbitrary: fc.constant("unknown op") },
      ),
      values: fc.array(fc.oneof(fc.constantFrom(...FILTER_VALUES, ...VARIANT_KEYS), fc.string({ maxLength: 3 })), {
        maxLength: 4,
      }),
    })
    .filter(hasValidRegexes);

const rangesArb = (max: number, count: number) =>
  fc.uniqueArray(fc.integer({ min: 0, max }), { minLength: count + 1, maxLength: count + 1 }).map((points) => {
    const sorted = points.sort((a, b) => a - b);
    return sorted.slice(0, -1).map((start, i) => [start, sorted[i + 1]!] as [number, number]);
  });

const variantKeyArb = fc.oneof(
  { weight: 9, arbitrary: fc.constantFrom(...VARIANT_KEYS) },
  { weight: 1, arbitrary: fc.constant("undefined-variant") },
);

const allocationArb = fc.integer({ min: 1, max: 4 }).chain((count) =>
  fc.record({
    range: fc.oneof(
      fc.constant([0, 100] as [number, number]),
      fc.constant([0, 0] as [number, number]),
      fc
        .tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }))
        .map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as [number, number]),
    ),
    distributions: rangesArb(DISTRIBUTION_MAX, count).chain((ranges) =>
      fc.tuple(...ranges.map((range) => variantKeyArb.map((variant) => ({ variant, range })))),
    ),
  }),
);

const bucketArb = fc.record({
  selector: fc.constantFrom(
    ["context", "user", "user_id"],
    ["context", "user", "device_id"],
    ["context", "groups", "org", "group_name"],
    ["context", "user", "user_properties", "age"],
  ),
  salt: fc.string({ maxLength: 10 }),
  allocations: fc.array(allocationArb, { minLength: 1, maxLength: 3 }),
});

const metadataArb = fc.option(
  fc.dictionary(
    fc.constantFrom("segmentName", "flagType", "experimentKey", "evaluationMode", "default", "x"),
    fc.jsonValue({ maxDepth: 1 }),
    { maxKeys: 3 },
  ),
  { nil: undefined },
);

const segmentArb = (dependencyKeys: string[]) =>
  fc.record(
    {
      conditions: fc.array(fc.array(conditionArb(dependencyKeys), { maxLength: 3 }), { maxLength: 3 }),
      bucket: bucketArb,
      variant: variantKeyArb,
      metadata: metadataArb,
    },
    { requiredKeys: [] },
  );

const variantArb = (key: string) =>
  fc.record(
    {
      key: fc.constant(key),
      value: fc.oneof(fc.constant(key), fc.jsonValue({ maxDepth: 1 })),
      payload: fc.jsonValue({ maxDepth: 2 }),
      metadata: fc.oneof(
        fc.constant({ default: true }),
        metadataArb.map((m) => m ?? {}),
      ),
    },
    { requiredKeys: ["key"] },
  );

const flagArb = (key: string, dependencyKeys: string[]) =>
  fc.record(
    {
      key: fc.constant(key),
      variants: fc
        .uniqueArray(fc.constantFrom(...VARIANT_KEYS), { minLength: 1, maxLength: 4 })
        .chain((keys) =>
          fc.tuple(...keys.map(variantArb)).map((variants) => Object.fromEntries(variants.map((v) => [v.key, v]))),
        ),
      segments: fc.array(segmentArb(dependencyKeys), { minLength: 1, maxLength: 4 }),
      dependencies: dependencyKeys.length
        ? fc.subarray(dependencyKeys, { maxLength: Math.min(2, dependencyKeys.length) })
        : fc.constant([]),
      metadata: metadataArb,
    },
    { requiredKeys: ["key", "variants", "segments"] },
  ) as fc.Arbitrary<EvaluationFlag>;

/** A flag set whose dependencies only point at earlier flags (no cycles), in shuffled order. */
export const flagSetArb: fc.Arbitrary<EvaluationFlag[]> = fc
  .shuffledSubarray(FLAG_KEYS, { minLength: 1, maxLength: 8 })
  .chain((keys) => fc.tuple(...keys.map((key, i) => flagArb(key, keys.slice(0, i)))))
  .chain((flags) => fc.shuffledSubarray(flags, { minLength: flags.length, maxLength: flags.length }));

const idArb = fc.oneof(
  fc.constantFrom("user-1", "user-2", "user-4", "", "0", "用户-7", "🙂", "a/b", "USER-1"),
  fc.uuid(),
  fc.string({ unit: "binary", maxLength: 12 }),
);

/** Contexts as the SDKs build them from a user, with values of every JSON type. */
export const contextArb = fc.record(
  {
    user: fc.record(
      {
        user_id: idArb,
        device_id: idArb,
        country: fc.constantFrom("US", "DE", "jp", ""),
        user_properties: fc.record(
          {
            plan: PROPERTY_VALUES,
            age: PROPERTY_VALUES,
            version: PROPERTY_VALUES,
            tags: PROPERTY_VALUES,
            flag: PROPERTY_VALUES,
            nested: PROPERTY_VALUES,
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    ),
    groups: fc.record({
      org: fc.record(
        {
          group_name: fc.constantFrom("org-1", "org-2", "ACME"),
          group_properties: fc.record({ tier: PROPERTY_VALUES }, { requiredKeys: [] }),
        },
        { requiredKeys: ["group_name"] },
      ),
    }),
  },
  { requiredKeys: [] },
);

export { FLAG_KEYS };
